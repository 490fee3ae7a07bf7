"""The rows of the incident queue, drawn in Python: fifty rows of eleven cells cost the template
engine about two thirds of the page's time (some 2,300 variable look-ups, 200 dates formatted);
built here with ``format_html`` the same markup costs a fraction of that. The markup is the
template's, kept identical (tests/incidents/test_views.py compares the two)."""

from functools import lru_cache

from django import template
from django.template.defaultfilters import truncatechars
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince, timeuntil
from django.utils.timezone import template_localtime
from django.utils.translation import ngettext

from incidents.templatetags.incident_badges import priority_badge, status_badge

register = template.Library()


def _local(value) -> str:
    """A datetime as ``{{ value }}`` shows it: local time, the locale's format. Formatting is most of
    a row's cost and a queue shows the same incidents page after page, so it is remembered per
    process (the key holds what the text depends on: the instant, the time zone, the language)."""
    return _formatted(value, timezone.get_current_timezone_name(), translation.get_language())


@lru_cache(maxsize=20_000)
def _formatted(value, zone: str, language: str) -> str:
    return localize(template_localtime(value))


class _Unit:
    """A unit of ``timesince`` with Django's own message ids, translated once per language and
    number: Django's lazy strings translate again on every use, which made "3 hours ago" half of a
    row's cost. Same text, same plural rules (``ngettext``)."""

    def __init__(self, singular: str, plural: str):
        self.singular, self.plural, self.known = singular, plural, {}

    def __mod__(self, values: dict) -> str:
        key = (translation.get_language(), values["num"])
        text = self.known.get(key)
        if text is None:
            text = self.known[key] = ngettext(self.singular, self.plural, values["num"]) % values
        return text


_UNITS = {
    "year": _Unit("%(num)d year", "%(num)d years"),
    "month": _Unit("%(num)d month", "%(num)d months"),
    "week": _Unit("%(num)d week", "%(num)d weeks"),
    "day": _Unit("%(num)d day", "%(num)d days"),
    "hour": _Unit("%(num)d hour", "%(num)d hours"),
    "minute": _Unit("%(num)d minute", "%(num)d minutes"),
}


def _since(value) -> str:
    """``{{ value|timesince }}``."""
    return timesince(value, time_strings=_UNITS) if value else ""


def _until(value) -> str:
    """``{{ value|timeuntil }}``."""
    return timeuntil(value, time_strings=_UNITS) if value else ""


def _ago(value) -> str:
    return format_html(
        '<time datetime="{}" title="{}">{} ago</time>',
        template_localtime(value).isoformat(),
        _local(value),
        _since(value),
    )


def _due(incident) -> str:
    due, risk = incident.resolve_due_at, getattr(incident, "due_risk", None)
    if risk == "overdue":
        cell = format_html(
            '<span class="badge text-bg-danger" title="Resolution due {}">overdue {}</span>',
            _local(due),
            _since(due),
        )
    elif risk == "soon":
        cell = format_html(
            '<span class="badge text-bg-warning" title="Resolution due {}">in {}</span>',
            _local(due),
            _until(due),
        )
    elif risk == "ok":
        cell = format_html(
            '<time datetime="{}" title="{}">in {}</time>',
            template_localtime(due).isoformat(),
            _local(due),
            _until(due),
        )
    elif risk == "paused":
        cell = mark_safe('<span class="text-body-secondary">paused</span>')  # noqa: S308 - a constant
    else:
        cell = ""
    prediction = getattr(incident, "breach_prediction", None)
    if prediction:
        cell = format_html(
            '{} <span class="badge text-bg-warning" title="{}"><i class="bi bi-graph-down-arrow" '
            'aria-hidden="true"></i> likely to breach<span class="visually-hidden">: {}</span></span>',
            cell,
            prediction.why,
            prediction.why,
        )
    return cell


def _row(i) -> str:
    number = format_html('<a href="{}" hx-boost="false">{}</a>', i.get_absolute_url(), i.number)
    if i.is_major:
        number += mark_safe(  # noqa: S308 - a constant
            ' <span class="badge text-bg-danger" title="Major incident">'
            '<i class="bi bi-exclamation-octagon" aria-hidden="true"></i> Major</span>'
        )
    if i.is_security:
        number += mark_safe(  # noqa: S308 - a constant
            ' <span class="badge text-bg-dark" title="Security incident">'
            '<i class="bi bi-shield-lock" aria-hidden="true"></i>'
            '<span class="visually-hidden">Security</span></span>'
        )
    caller = format_html('<div class="small text-body-secondary">{}</div>', i.caller) if i.caller else ""
    hold = (
        format_html('<div class="small text-body-secondary">{}</div>', i.get_hold_reason_display())
        if i.hold_reason
        else ""
    )
    group, service = i.assignment_group, i.service
    return format_html(
        "<tr{}>\n"
        '<td class="text-center"><input class="form-check-input" type="checkbox" name="ids" value="{}" '
        'form="bulk-form" id="pick-{}" aria-label="Select {}"></td>\n'
        '<td class="text-nowrap">{}</td>\n'
        "<td>{}</td>\n"
        "<td>{}{}</td>\n"
        "<td>{}{}</td>\n"
        '<td class="text-nowrap small">{}</td>\n'
        "<td>{}</td>\n"
        "<td>{}</td>\n"
        "<td>{}</td>\n"
        '<td class="text-nowrap small">{}</td>\n'
        '<td class="text-nowrap small">{}</td>\n'
        "</tr>\n",
        mark_safe(' class="table-danger"') if i.is_major else "",  # noqa: S308 - a constant
        i.pk,
        i.pk,
        i.number,
        number,
        priority_badge(i.priority),
        truncatechars(i.short_description, 90),
        caller,
        status_badge(i),
        hold,
        _due(i),
        group.name if group is not None else "",
        i.assignee or "",
        service.name if service is not None else "",
        _ago(i.created_at),
        _ago(i.updated_at),
    )


@register.simple_tag
def queue_rows(rows) -> str:
    """The ``<tr>`` of each incident of a queue page."""
    return format_html_join("", "{}", ((_row(i),) for i in rows))
