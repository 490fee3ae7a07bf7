"""The rows of the incident queue, drawn in Python: fifty rows of eleven cells cost the template
engine about two thirds of the page's time (some 2,300 variable look-ups, 200 dates formatted);
built here as plain strings (every value escaped) the same markup costs a fraction of that. The markup is the
template's, kept identical (tests/incidents/test_views.py compares the two)."""

from functools import lru_cache
from html import escape

from django import template
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince, timeuntil
from django.utils.timezone import template_localtime
from django.utils.translation import ngettext

from incidents.templatetags.incident_badges import priority_badge, status_label_badge

register = template.Library()


class _Unit:
    """A unit of ``timesince`` with Django's own message ids, translated once per language and
    number: Django's lazy strings translate again on every use, which made "3 hours ago" half of a
    row's cost. Same text, same plural rules (``ngettext``)."""

    def __init__(self, singular: str, plural: str):
        self.singular, self.plural, self.known = singular, plural, {}

    def __mod__(self, values: dict) -> str:
        text = self.known.get(values["num"])
        if text is None:
            text = self.known[values["num"]] = ngettext(self.singular, self.plural, values["num"]) % values
        return text


@lru_cache(maxsize=32)
def _units(language: str) -> dict[str, _Unit]:
    """The units of one language (each remembers its texts in that language)."""
    return {
        "year": _Unit("%(num)d year", "%(num)d years"),
        "month": _Unit("%(num)d month", "%(num)d months"),
        "week": _Unit("%(num)d week", "%(num)d weeks"),
        "day": _Unit("%(num)d day", "%(num)d days"),
        "hour": _Unit("%(num)d hour", "%(num)d hours"),
        "minute": _Unit("%(num)d minute", "%(num)d minutes"),
    }


class _Page:
    """What every cell of a page's rows shares, read once a page: the language and time zone (each
    read goes through context-local storage, some 400 reads a page), the instant "time since" counts
    to, the link to an incident."""

    def __init__(self):
        self.zone = timezone.get_current_timezone_name()
        self.language = translation.get_language()
        self.units = _units(self.language)
        self.now = timezone.now()
        self.url = reverse("incidents:detail", args=[_PK]).replace(str(_PK), "%d")

    def since(self, value) -> str:
        """``{{ value|timesince }}``."""
        return timesince(value, self.now, time_strings=self.units) if value else ""

    def until(self, value) -> str:
        """``{{ value|timeuntil }}``."""
        return timeuntil(value, self.now, time_strings=self.units) if value else ""

    def stamp(self, value) -> tuple[str, str]:
        """``{{ value|date:'c' }}`` and ``{{ value }}``, escaped."""
        return _stamped(value, self.zone, self.language)

    def ago(self, value) -> str:
        iso, local = self.stamp(value)
        return f'<time datetime="{iso}" title="{local}">{self.since(value)} ago</time>'


_PK = 987654321


# Formatting a datetime is most of a cell's cost, and a queue shows the same incidents page after
# page: the text is remembered per process (the key holds what it depends on: the instant, the time
# zone, the language).
@lru_cache(maxsize=20_000)
def _stamped(value, zone: str, language: str) -> tuple[str, str]:
    return escape(template_localtime(value).isoformat()), escape(localize(template_localtime(value)))


def _due(incident, page: _Page) -> str:
    due, risk = incident.resolve_due_at, getattr(incident, "due_risk", None)
    if risk == "overdue":
        cell = (
            f'<span class="badge text-bg-danger" title="Resolution due {page.stamp(due)[1]}">'
            f"overdue {page.since(due)}</span>"
        )
    elif risk == "soon":
        cell = (
            f'<span class="badge text-bg-warning" title="Resolution due {page.stamp(due)[1]}">'
            f"in {page.until(due)}</span>"
        )
    elif risk == "ok":
        iso, local = page.stamp(due)
        cell = f'<time datetime="{iso}" title="{local}">in {page.until(due)}</time>'
    elif risk == "paused":
        cell = '<span class="text-body-secondary">paused</span>'
    else:
        cell = ""
    prediction = getattr(incident, "breach_prediction", None)
    if prediction:
        why = escape(prediction.why)
        cell = (
            f'{cell} <span class="badge text-bg-warning" title="{why}"><i class="bi bi-graph-down-arrow" '
            f'aria-hidden="true"></i> likely to breach<span class="visually-hidden">: {why}</span></span>'
        )
    return cell


_MAJOR = (
    ' <span class="badge text-bg-danger" title="Major incident">'
    '<i class="bi bi-exclamation-octagon" aria-hidden="true"></i> Major</span>'
)
_SECURITY = (
    ' <span class="badge text-bg-dark" title="Security incident">'
    '<i class="bi bi-shield-lock" aria-hidden="true"></i>'
    '<span class="visually-hidden">Security</span></span>'
)


_TR_MAJOR = '<tr class="table-danger">'


@lru_cache(maxsize=64)
def _priority(priority) -> str:
    return priority_badge(priority)


@lru_cache(maxsize=256)
def _status(status: str, label: str) -> str:
    return status_label_badge(status, label)


def _row(i, page: _Page) -> str:
    """One ``<tr>``: every value escaped here (``html.escape``, what Django's ``escape`` does), the
    fragments built above already escaped - as plain strings, without ``format_html``'s per-value
    checks (some 3,000 calls a page)."""
    number = escape(i.number)
    major = i.is_major
    caller = f'<div class="small text-body-secondary">{escape(str(i.caller))}</div>' if i.caller else ""
    hold = (
        f'<div class="small text-body-secondary">{escape(str(i.get_hold_reason_display()))}</div>'
        if i.hold_reason
        else ""
    )
    group, service, assignee = i.assignment_group, i.service, i.assignee
    return (
        f"{_TR_MAJOR if major else '<tr>'}\n"
        f'<td class="text-center"><input class="form-check-input" type="checkbox" name="ids" value="{i.pk}" '
        f'form="bulk-form" id="pick-{i.pk}" aria-label="Select {number}"></td>\n'
        f'<td class="text-nowrap"><a href="{page.url % i.pk}" hx-boost="false">{number}</a>'
        f"{_MAJOR if major else ''}{_SECURITY if i.is_security else ''}</td>\n"
        f"<td>{_priority(i.priority)}</td>\n"
        f"<td>{escape(truncatechars(i.short_description, 90))}{caller}</td>\n"
        f"<td>{_status(i.status, str(i.get_status_display()))}{hold}</td>\n"
        f'<td class="text-nowrap small">{_due(i, page)}</td>\n'
        f"<td>{escape(group.name) if group is not None else ''}</td>\n"
        f"<td>{escape(str(assignee)) if assignee is not None else ''}</td>\n"
        f"<td>{escape(service.name) if service is not None else ''}</td>\n"
        f'<td class="text-nowrap small">{page.ago(i.created_at)}</td>\n'
        f'<td class="text-nowrap small">{page.ago(i.updated_at)}</td>\n'
        "</tr>\n"
    )


@register.simple_tag
def queue_rows(rows) -> str:
    """The ``<tr>`` of each incident of a queue page."""
    page = _Page()
    return mark_safe("".join(_row(i, page) for i in rows))  # noqa: S308 - _row escapes every value
