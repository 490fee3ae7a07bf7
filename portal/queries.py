"""Read side of the portal: what an end user (or an agent previewing) sees, shared by the pages and
the portal API. Incidents are read through ``Incident.objects.visible_to`` and then narrowed to the
user's own tickets (raised or watched); articles through ``Article.objects.visible_to``; known
errors through ``KnownError.objects.published_for``. Timelines and files are the public ones only,
whoever looks (an agent previewing sees what the caller sees)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet

from configuration.choices import CIStatus
from configuration.models import ConfigurationItem
from incidents.choices import OPEN_STATUSES, Status
from incidents.models import Category, Incident, SatisfactionResponse
from itsm import queries as kernel_queries
from itsm import roles
from itsm.models import Attachment, TimelineEntry
from itsm.refcache import ReferenceCache
from knowledge import queries as knowledge_queries
from knowledge.choices import Audience
from knowledge.choices import Status as ArticleStatus
from knowledge.models import Article
from portal.models import TicketShare
from problems import queries as problem_queries
from problems.models import KnownError

# What a caller reads for each status (the agents' words are for agents).
STATUS_WORDS = {
    Status.NEW: "Received",
    Status.IN_PROGRESS: "Being worked on",
    Status.ON_HOLD: "Waiting",
    Status.RESOLVED: "Resolved: please confirm",
    Status.CLOSED: "Closed",
    Status.CANCELLED: "Cancelled",
}
LIST_FIELDS = (
    "id",
    "number",
    "short_description",
    "status",
    "hold_reason",
    "caller_id",
    "service_id",
    "service__name",
    "created_at",
    "updated_at",
    "resolved_at",
    "is_security",
)


def _watching(user) -> Exists:
    return Exists(Incident.watchers.through.objects.filter(incident_id=OuterRef("pk"), user_id=user.pk))


def _rated() -> Exists:
    return Exists(
        SatisfactionResponse.objects.filter(incident_id=OuterRef("pk"), resolved_at=OuterRef("resolved_at"))
    )


def tickets(user) -> QuerySet:
    """The user's tickets: incidents they raised or watch, that they may see. An agent previewing
    the portal gets their own tickets too, not the queue."""
    if user is None or not user.is_authenticated:
        return Incident.objects.none()
    return Incident.objects.visible_to(user).filter(Q(caller_id=user.pk) | _watching(user))


def ticket_list(user, *, open_only: bool | None = None) -> QuerySet:
    """My tickets for the list page and the API: one query, newest first, with ``is_watching`` and
    ``is_rated`` (the latest resolution already rated)."""
    rows = (
        tickets(user)
        .select_related("service")
        .only(*LIST_FIELDS)
        .annotate(is_watching=_watching(user), is_rated=_rated())
        .order_by("-id")
    )
    if open_only is True:
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif open_only is False:
        rows = rows.exclude(status__in=OPEN_STATUSES)
    return rows


def ticket_detail(user) -> QuerySet:
    return (
        tickets(user)
        .select_related("service", "category", "subcategory", "caller")
        .annotate(is_watching=_watching(user), is_rated=_rated())
        .defer("search_vector")
    )


def public_timeline(incident: Incident, user) -> list[TimelineEntry]:
    """Public entries only, oldest first (a conversation), whoever reads (agents previewing too)."""
    entries = kernel_queries.timeline_for(incident, user).filter(visibility=TimelineEntry.Visibility.PUBLIC)
    return list(entries.order_by("created_at", "id"))


def public_attachments(incident: Incident, user) -> list[Attachment]:
    rows = kernel_queries.attachments_for(incident, user).filter(visibility=Attachment.Visibility.PUBLIC)
    return list(rows.order_by("uploaded_at", "id"))


def author_label(entry: TimelineEntry, incident: Incident, people_ids: set[int]) -> str:
    """The caller and the people following the ticket by name; the desk's staff as "Service desk"
    (the portal does not show who in the desk works it)."""
    if entry.author_id is None:
        return "Service desk"
    if entry.author_id in people_ids:
        return entry.author.get_full_name() or entry.author.username
    return "Service desk"


def shared_with(user) -> QuerySet:
    """Tickets colleagues shared with the user (active shares), with ``is_watching``."""
    return (
        TicketShare.objects.filter(user=user, revoked_at__isnull=True, incident__is_security=False)
        .select_related("incident", "shared_by")
        .annotate(
            is_watching=Exists(
                Incident.watchers.through.objects.filter(incident_id=OuterRef("incident_id"), user_id=user.pk)
            )
        )
        .order_by("-id")
    )


def shares_of(incident: Incident) -> list[TicketShare]:
    return list(TicketShare.objects.filter(incident=incident, revoked_at__isnull=True).select_related("user"))


def colleague(user, text: str):
    """An active colleague of the same organisation named by username or e-mail, else None."""
    text = (text or "").strip()
    if not text or not getattr(user, "organisation_id", None):
        return None
    people = get_user_model().objects.filter(organisation_id=user.organisation_id, is_active=True)
    return people.filter(Q(username__iexact=text) | Q(email__iexact=text)).exclude(pk=user.pk).first()


# -- services, categories ---------------------------------------------------------------------------


def services_for(user) -> QuerySet:
    """Services the user may report about: the live services their organisation uses (the CMDB's
    ``ConfigurationItem.organisations``). Staff previewing without an organisation get every live
    service; an end user without an organisation gets none (the field is then optional and empty)."""
    rows = ConfigurationItem.objects.filter(ci_class__is_service=True, status=CIStatus.LIVE)
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id:
        return rows.filter(organisations=organisation_id).order_by("name")
    if roles.is_staff_role(user):
        return rows.order_by("name")
    return rows.none()


def categories() -> QuerySet:
    return Category.objects.filter(parent__isnull=True, is_active=True).order_by("order", "name")


# -- popular articles (home page) ----------------------------------------------------------------

POPULAR_POOL = 50


def _load_popular() -> list[dict]:
    """The most helpful published articles written for end users or for an organisation: one sort
    over every published article (130 ms at 50,000 under load, bench/portal.py), so it is done at
    most every 30 s per process rather than on every home page."""
    return list(
        Article.objects.filter(
            status=ArticleStatus.PUBLISHED, audience__in=(Audience.END_USERS, Audience.ORGANISATION)
        )
        .order_by("-helpful_count", "-view_count", "-id")
        .values("id", "title", "summary", "audience", "organisation_id")[:POPULAR_POOL]
    )


_popular = ReferenceCache("portal-popular-articles", _load_popular).follow([Article])


def popular_articles(user, limit: int = 5) -> list[dict]:
    """The home page's popular articles the user may read (what end users read: those for everyone
    and for their own organisation, whoever looks)."""
    organisation_id = getattr(user, "organisation_id", None)
    rows = [
        row
        for row in _popular.get()
        if row["audience"] == Audience.END_USERS
        or (organisation_id and row["organisation_id"] == organisation_id)
    ]
    return rows[:limit]


# -- "we know, we're on it" -------------------------------------------------------------------------


@dataclass
class MajorNotice:
    incident: Incident
    update: TimelineEntry | None


def major_incidents(user, limit: int = 5) -> list[MajorNotice]:
    """Open major incidents on the services of the user's organisation, each with its latest public
    update. What is shown of them is the public face (service, short description, when declared,
    the latest public update), not the record: the user usually is not its caller. Two queries."""
    services = services_for(user).values("pk")
    rows = list(
        Incident.objects.filter(
            is_major=True, is_security=False, status__in=OPEN_STATUSES, service__in=services
        )
        .select_related("service")
        .only(
            "id", "number", "short_description", "service__name", "major_declared_at", "status", "created_at"
        )
        .order_by("-major_declared_at", "-id")[:limit]
    )
    if not rows:
        return []
    latest = {}
    entries = (
        TimelineEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Incident),
            object_id__in=[row.pk for row in rows],
            visibility=TimelineEntry.Visibility.PUBLIC,
            kind__in=(TimelineEntry.Kind.COMMENT, TimelineEntry.Kind.STATUS_CHANGE),
        )
        .order_by("object_id", "-created_at", "-id")
        .distinct("object_id")
        .only("id", "object_id", "body", "created_at")
    )
    for entry in entries:
        latest[entry.object_id] = entry
    return [MajorNotice(incident=row, update=latest.get(row.pk)) for row in rows]


# -- self-help: search and suggestions --------------------------------------------------------------


@dataclass
class Found:
    articles: list
    known_errors: list


def search(user, text: str) -> Found:
    """The home page's one search box: published articles the user may read (ranked, highlighted)
    and published known-error workarounds."""
    text = (text or "").strip()[:200]
    if not text:
        return Found([], [])
    return Found(
        articles=knowledge_queries.search(user, text, limit=10),
        known_errors=problem_queries.published_known_errors(user, text, limit=5),
    )


def suggestions(user, text: str, service_id: int | None = None) -> Found:
    """While the user describes a problem: matching articles (the knowledge matcher, with the
    service) and published workarounds; nothing for fewer than two words' worth of text."""
    text = (text or "").strip()[:1000]
    if len(text) < 4:
        return Found([], [])
    facts = {"text": text, "service_id": service_id}
    return Found(
        articles=knowledge_queries.suggest(user, facts, limit=5),
        known_errors=problem_queries.published_known_errors(user, text, limit=3),
    )


def published_known_error(user, pk: int):
    """A published known error with what the portal may show (number, title, public text, the active
    workarounds' titles and steps are not shown: the public text is the workaround for end users)."""
    return (
        KnownError.objects.published_for(user)
        .filter(pk=pk)
        .only("id", "number", "title", "public_text", "updated_at")
        .first()
    )
