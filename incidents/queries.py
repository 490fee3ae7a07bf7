"""Read side of incident management, shared by pages, the API and the portal: queues with their joins
decided once, the detail page's related rows, and the matching suggestions made while logging.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Prefetch, QuerySet

from configuration.models import ConfigurationItem
from incidents.choices import OPEN_STATUSES, Status
from incidents.models import AssignmentHop, Incident, SwarmMember
from itsm.registry import registry
from itsm.search import SEARCH_CONFIG
from people.models import SupportGroup, User

# Queues: name -> (label, filter given the user). Every queue reads open incidents only, through
# the partial indexes on open incidents.
QUEUES = {
    "mine": "My work",
    "groups": "My groups",
    "unassigned": "Unassigned",
    "major": "Major incidents",
    "open": "All open",
    "all": "All incidents",
}


# What a list row shows of each related row. They are read by id, one query per relation for the
# whole page, not joined: with five joins PostgreSQL spent 10-20 ms *planning* the page query
# (join orders over tables with many indexes) to run it in under 1 ms; alone it plans in 0.3 ms
# (bench "incidents", 1M rows).
_USER_COLUMNS = ("id", "username", "first_name", "last_name", "email", "is_vip", "organisation_id")
LIST_RELATIONS = (
    Prefetch("caller", queryset=User.objects.only(*_USER_COLUMNS)),
    Prefetch("assignee", queryset=User.objects.only(*_USER_COLUMNS)),
    Prefetch("assignment_group", queryset=SupportGroup.objects.only("id", "name")),
    Prefetch("service", queryset=ConfigurationItem.objects.only("id", "number", "name")),
)


def incidents(user) -> QuerySet:
    """The list query: the incident's own columns, and what every row shows of its relations."""
    return (
        Incident.objects.visible_to(user)
        .prefetch_related(*LIST_RELATIONS)
        .defer(
            "description", "symptoms", "resolution_notes", "major_reason", "intake_answers", "search_vector"
        )
    )


def queue(user, name: str) -> QuerySet:
    rows = incidents(user)
    if name == "all":
        return rows
    rows = rows.filter(status__in=OPEN_STATUSES)
    if name == "mine":
        return rows.filter(assignee=user)
    if name == "groups":
        return rows.filter(assignment_group__in=list(user.support_groups.values_list("pk", flat=True)))
    if name == "unassigned":
        return rows.filter(assignee__isnull=True)
    if name == "major":
        return rows.filter(is_major=True)
    return rows


def incident_detail(user) -> QuerySet:
    return (
        Incident.objects.visible_to(user)
        .select_related(
            "caller",
            "caller__organisation",
            "assignment_group",
            "assignment_group__manager",
            "assignee",
            "service",
            "category",
            "subcategory",
            "supplier",
            "parent",
            "duplicate_of",
            "incident_manager",
            "created_by",
            "resolved_by",
        )
        .prefetch_related(
            "cis__ci_class",
            "watchers",
            Prefetch(
                "swarm",
                queryset=SwarmMember.objects.filter(removed_at__isnull=True).select_related("user", "group"),
            ),
        )
    )


def hops_for(incident: Incident) -> QuerySet:
    return AssignmentHop.objects.filter(incident=incident).select_related(
        "from_group", "to_group", "from_assignee", "to_assignee", "supplier", "actor"
    )


def children_of(incident: Incident, user) -> QuerySet:
    return (
        Incident.objects.visible_to(user)
        .filter(parent=incident)
        .only("id", "number", "short_description", "status", "priority")
    )


def find_for_link(user, text: str, limit: int = 10) -> list[Incident]:
    """Incidents matching a number or words, for "link to" pickers."""
    text = (text or "").strip()
    if not text:
        return []
    rows = Incident.objects.visible_to(user).only("id", "number", "short_description", "status")
    if re.fullmatch(r"(?i)inc\d+", text):
        return list(rows.filter(number__iexact=text)[:limit])
    return list(
        rows.filter(search_vector=SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG))[:limit]
    )


# -- matching while logging [INC-6] ---------------------------------------------------------------

_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "not",
        "with",
        "when",
        "this",
        "that",
        "from",
        "have",
        "has",
        "are",
        "was",
        "were",
        "can",
        "cannot",
        "cant",
        "does",
        "doesnt",
        "dont",
        "since",
        "after",
        "before",
        "please",
        "help",
        "issue",
        "problem",
        "working",
        "work",
        "user",
        "users",
        "any",
        "all",
        "our",
    ]
)
# How many recent candidates the ranking reads, at most: a common word then costs the same at a
# million incidents as at a thousand (the newest matches are the relevant ones for "similar open").
CANDIDATES = 400
HISTORY_CANDIDATES = 300


def _or_query(text: str) -> SearchQuery | None:
    words = []
    for word in _WORD.findall(text.lower()):
        if word not in STOP_WORDS and word not in words:
            words.append(word)
    if not words:
        return None
    return SearchQuery(" or ".join(words[:12]), search_type="websearch", config=SEARCH_CONFIG)


@dataclass
class Recommendation:
    value: object
    label: str
    share: int  # of ``out_of`` similar resolved incidents
    out_of: int

    @property
    def why(self) -> str:
        return f"{self.share} of the {self.out_of} most similar resolved incidents"


@dataclass
class Suggestions:
    similar_open: list[Incident] = field(default_factory=list)
    category: Recommendation | None = None
    group: Recommendation | None = None
    words: list[str] = field(default_factory=list)
    # What other apps' suggestion providers found (known errors, articles): [{"provider", "items"}].
    more: list[dict] = field(default_factory=list)


def suggest(
    user,
    text: str,
    *,
    service_id: int | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
    ci_ids: tuple[int, ...] = (),
    category_id: int | None = None,
) -> Suggestions:
    """Similar open incidents (running major incidents first, then by rank; same service ranks
    higher) and the category and group that the most similar resolved incidents had.

    Explainable: each recommendation says how many of the similar resolved incidents agree.
    """
    query = _or_query(text)
    result = Suggestions()
    # Providers registered by higher apps (problems: known errors) match on CIs and category too.
    facts = {
        "text": text,
        "service_id": service_id,
        "ci_ids": tuple(ci_ids),
        "category_id": category_id,
        "exclude_id": exclude_id,
    }
    result.more = registry.suggestions(user, facts)
    if query is None:
        return result
    result.words = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS][:12]
    visible = Incident.objects.visible_to(user)
    if exclude_id:
        visible = visible.exclude(pk=exclude_id)

    # Similar open incidents: newest matching candidates, then ranked.
    candidate_ids = list(
        visible.filter(status__in=OPEN_STATUSES, search_vector=query)
        .order_by("-id")
        .values_list("id", flat=True)[:CANDIDATES]
    )
    if candidate_ids:
        rank = SearchRank(F("search_vector"), query)
        rows = (
            Incident.objects.filter(pk__in=candidate_ids)
            .annotate(rank=rank)
            .select_related("assignment_group", "service")
            .only(
                "id",
                "number",
                "short_description",
                "status",
                "priority",
                "is_major",
                "created_at",
                "assignment_group__name",
                "service__name",
                "service_id",
            )
        )
        scored = sorted(
            rows,
            key=lambda i: (
                not i.is_major,
                -(i.rank * (2 if service_id and i.service_id == service_id else 1)),
                -i.pk,
            ),
        )
        result.similar_open = scored[:limit]

    # Recommendations from history: the most similar recently resolved incidents.
    history_ids = list(
        visible.filter(status__in=(Status.RESOLVED, Status.CLOSED), search_vector=query)
        .exclude(resolution_code="duplicate")
        .order_by("-id")
        .values_list("id", flat=True)[:HISTORY_CANDIDATES]
    )
    if history_ids:
        top = list(
            Incident.objects.filter(pk__in=history_ids)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-id")
            .values(
                "category_id",
                "category__name",
                "subcategory__name",
                "assignment_group_id",
                "assignment_group__name",
            )[:20]
        )
        result.category = _majority(
            top,
            lambda row: row["category_id"],
            lambda row: (
                row["category__name"] + (f" › {row['subcategory__name']}" if row["subcategory__name"] else "")
            ),
        )
        result.group = _majority(
            top, lambda row: row["assignment_group_id"], lambda row: row["assignment_group__name"]
        )
    return result


def _majority(rows: list[dict], key, label) -> Recommendation | None:
    counted = Counter(key(row) for row in rows if key(row) is not None)
    if not counted:
        return None
    value, share = counted.most_common(1)[0]
    if share < 2 and len(rows) > 1:
        return None  # one similar incident is an anecdote, not a recommendation
    first = next(row for row in rows if key(row) == value)
    return Recommendation(value=value, label=label(first), share=share, out_of=len(rows))
