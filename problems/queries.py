"""Read side of problem management, shared by pages, the API, the incident page's panel and the
portal: lists with their joins decided once, workaround use counts, known-error matching, candidate
queue and trends.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, TextField

from incidents.models import Incident
from incidents.queries import STOP_WORDS
from itsm.models import RecordLink
from itsm.search import SEARCH_CONFIG
from problems.choices import KE_OPEN_STATUSES, CandidateStatus
from problems.models import (
    FixOption,
    Improvement,
    KnownError,
    Problem,
    ProblemCandidate,
    ProblemIncident,
    Workaround,
    WorkaroundUse,
)
from problems.services import effectiveness

# -- lists ----------------------------------------------------------------------------------------


def problems(user) -> QuerySet:
    """The problem list: risk first (``Meta.ordering``), what every row shows joined in one query."""
    linked = ProblemIncident.objects.filter(problem=OuterRef("pk")).values("problem").annotate(n=Count("id"))
    return (
        Problem.objects.visible_to(user)
        .select_related("problem_manager", "assignment_group", "impact", "probability", "category")
        .defer(
            "description",
            "analysis_people",
            "analysis_technology",
            "analysis_partners",
            "analysis_value_streams",
            "root_cause",
            "contributing_causes",
            "resolution_notes",
            "closure_notes",
        )
        .annotate(incident_count=linked.values("n")[:1])
    )


def problem_detail(user) -> QuerySet:
    return (
        Problem.objects.visible_to(user)
        .select_related(
            "problem_manager",
            "assignment_group",
            "impact",
            "probability",
            "category",
            "created_by",
            "resolved_by",
        )
        .prefetch_related("services", "cis__ci_class")
    )


def linked_incidents(problem: Problem, user) -> list[ProblemIncident]:
    """The problem's incident links whose incident ``user`` may see (security incidents stay hidden)."""
    return list(
        ProblemIncident.objects.filter(problem=problem, incident__in=Incident.objects.visible_to(user))
        .select_related("incident", "incident__assignment_group", "linked_by")
        .order_by("-linked_at", "-id")
    )


def workarounds_of(record) -> list[Workaround]:
    rows = Workaround.objects.select_related("reviewed_by", "created_by")
    rows = rows.filter(problem=record) if isinstance(record, Problem) else rows.filter(known_error=record)
    return list(rows.order_by("-is_active", "-id"))


def known_errors(user) -> QuerySet:
    return (
        KnownError.objects.visible_to(user)
        .select_related("problem", "owner", "category")
        .defer("root_cause", "public_text")
        .annotate(**_use_counts())
    )


def _use_counts() -> dict:
    return {
        "use_count": Count("uses", distinct=True),
        "worked_count": Count("uses", filter=Q(uses__outcome="worked"), distinct=True),
        "partly_count": Count("uses", filter=Q(uses__outcome="partly"), distinct=True),
        "failed_count": Count("uses", filter=Q(uses__outcome="failed"), distinct=True),
    }


def known_error_detail(user) -> QuerySet:
    return (
        KnownError.objects.visible_to(user)
        .annotate(**_use_counts())
        .select_related("problem", "owner", "category", "supplier", "assignment_group", "created_by")
        .prefetch_related(
            "cis__ci_class",
            "services",
            Prefetch("fix_options", queryset=FixOption.objects.prefetch_related("proposals").order_by("id")),
        )
    )


def use_counts(known_error_ids) -> dict[int, dict[str, int]]:
    """``{known error id: {outcome: uses}}`` in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        WorkaroundUse.objects.filter(known_error_id__in=list(known_error_ids))
        .values("known_error_id", "outcome")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["known_error_id"]][row["outcome"]] = row["n"]
    return counts


@dataclass
class Effectiveness:
    uses: int
    rated: int
    worked: int
    partly: int
    failed: int
    rate: object  # Decimal or None

    @property
    def percent(self) -> int | None:
        return None if self.rate is None else round(float(self.rate) * 100)


def effectiveness_of(known_error: KnownError) -> Effectiveness:
    counts = use_counts([known_error.pk]).get(known_error.pk, {})
    return Effectiveness(
        uses=sum(counts.values()),
        rated=counts.get("worked", 0) + counts.get("partly", 0) + counts.get("failed", 0),
        worked=counts.get("worked", 0),
        partly=counts.get("partly", 0),
        failed=counts.get("failed", 0),
        rate=effectiveness(counts),
    )


def uses_of(known_error: KnownError, user) -> list[WorkaroundUse]:
    return list(
        WorkaroundUse.objects.visible_to(user)
        .filter(known_error=known_error)
        .select_related("incident", "applied_by", "workaround")[:100]
    )


def uses_on_incident(incident: Incident) -> list[WorkaroundUse]:
    return list(
        WorkaroundUse.objects.filter(incident=incident).select_related(
            "known_error", "workaround", "applied_by"
        )
    )


def problems_of_incident(incident: Incident, user) -> list[ProblemIncident]:
    return list(
        ProblemIncident.objects.filter(incident=incident, problem__in=Problem.objects.visible_to(user))
        .select_related("problem")
        .order_by("-linked_at")
    )


def published_known_errors(user, text: str = "", limit: int = 20) -> list[dict]:
    """What the portal shows anyone signed in: published, open known errors, their number, title and
    user-facing text only (never the root cause, CIs or internal notes)."""
    rows = KnownError.objects.published_for(user)
    query = _or_query(text)
    if query is not None:
        rows = (
            rows.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-id")
        )
    return list(rows.values("id", "number", "title", "public_text", "updated_at")[:limit])


def candidates(user, status: str = CandidateStatus.PROPOSED) -> QuerySet:
    rows = ProblemCandidate.objects.visible_to(user).select_related(
        "ci", "service", "category", "ci_class", "problem", "decided_by"
    )
    return rows.filter(status=status) if status else rows


def candidate_incidents(candidate: ProblemCandidate, user) -> list[Incident]:
    return list(
        Incident.objects.visible_to(user)
        .filter(pk__in=candidate.incidents.values("pk"))
        .only("id", "number", "short_description", "status", "created_at")
        .order_by("-id")[:50]
    )


def improvements(user) -> QuerySet:
    return Improvement.objects.visible_to(user).select_related("owner", "problem", "known_error")


def find_problems(user, text: str, limit: int = 10) -> list[Problem]:
    """Problems matching a number or words, for "link to" pickers."""
    text = (text or "").strip()
    if not text:
        return []
    rows = Problem.objects.visible_to(user).only("id", "number", "title", "status")
    if re.fullmatch(r"(?i)prb\d+", text):
        return list(rows.filter(number__iexact=text)[:limit])
    return list(
        rows.filter(search_vector=SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG))[:limit]
    )


def find_known_errors(user, text: str, limit: int = 10) -> list[KnownError]:
    text = (text or "").strip()
    if not text:
        return []
    rows = KnownError.objects.visible_to(user).only("id", "number", "title", "status")
    if re.fullmatch(r"(?i)ke\d+", text):
        return list(rows.filter(number__iexact=text)[:limit])
    return list(
        rows.filter(search_vector=SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG))[:limit]
    )


def linked_to_a_problem() -> Q:
    """Incidents linked to any problem: through the problem's incident list, or a generic link made from
    the incident's page (as a ``Q`` on incidents)."""
    problem_type = ContentType.objects.get_for_model(Problem)
    incident_type = ContentType.objects.get_for_model(Incident)
    generic = RecordLink.objects.filter(
        Q(source_type=incident_type, source_id=OuterRef("pk"), target_type=problem_type)
        | Q(target_type=incident_type, target_id=OuterRef("pk"), source_type=problem_type)
    )
    return Q(Exists(ProblemIncident.objects.filter(incident_id=OuterRef("pk")))) | Q(Exists(generic))


# -- known-error matching [INC-6, PRB-5] ----------------------------------------------------------

_SAFE_LEXEME = re.compile(r"^[0-9a-z_]+$")
# Weights of the parts of a match's score (0..1 each part): text, CI, service, category.
TEXT_WEIGHT = 0.6
CI_WEIGHT = 0.25
SERVICE_WEIGHT = 0.1
CATEGORY_WEIGHT = 0.08
MIN_SCORE = 0.18
TEXT_CANDIDATES = 40
TEXT_POOL = 2000
SCOPE_CANDIDATES = 100


def typed_words(text: str) -> dict[str, str]:
    """The stemmed words of ``text`` as PostgreSQL's English configuration sees them (without the
    desk's own stop words: "issue", "problem", "please", ...), each with the word as typed, in order:
    ``{"disconnect": "disconnects", ...}``. One query (``ts_debug``)."""
    if not text.strip():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT token, lexemes FROM ts_debug(%s, %s) WHERE lexemes IS NOT NULL",
            [SEARCH_CONFIG, text[:4000]],
        )
        rows = cursor.fetchall()
    stop = _stop_lexemes()
    words: dict[str, str] = {}
    for token, found in rows:
        for lexeme in found:
            if lexeme not in stop and lexeme not in words and len(lexeme) > 1 and _SAFE_LEXEME.match(lexeme):
                words[lexeme] = token.lower()
    return dict(list(words.items())[:24])


def lexemes(text: str) -> list[str]:
    """The stemmed words of ``text`` (see ``typed_words``)."""
    return list(typed_words(text))


_STOP: dict[str, frozenset[str]] = {}


def _stop_lexemes() -> frozenset[str]:
    """The desk's stop words, stemmed (once per process: they are constants)."""
    if "english" not in _STOP:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tsvector_to_array(to_tsvector(%s, %s))", [SEARCH_CONFIG, " ".join(sorted(STOP_WORDS))]
            )
            _STOP["english"] = frozenset(cursor.fetchone()[0])
    return _STOP["english"]


def _or_query(text: str) -> SearchQuery | None:
    words = lexemes(text or "")
    if not words:
        return None
    # Already stemmed: the "simple" configuration leaves them as they are.
    return SearchQuery(" | ".join(words), search_type="raw", config="simple")


@dataclass
class Match:
    """A known error matching an incident, with its score and the reasons, for people and the API."""

    known_error: KnownError
    score: float
    words: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    workaround: Workaround | None = None

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def match_known_errors(
    user,
    *,
    text: str = "",
    ci_ids=(),
    service_id: int | None = None,
    category_id: int | None = None,
    limit: int = 5,
) -> list[Match]:
    """Open known errors that match an incident, best first, each saying why.

    Candidates: known errors whose title, symptoms or root cause share words with the text (GIN index),
    and those whose faulty CIs or services include the incident's. Score: the share of the incident's
    words the known error has and PostgreSQL's rank (text), plus a shared CI, the service, the category.
    """
    typed = typed_words(text or "")
    words = list(typed)
    ci_ids = [int(pk) for pk in ci_ids or ()]
    visible = KnownError.objects.visible_to(user).filter(status__in=KE_OPEN_STATUSES)
    ids: set[int] = set()
    query = None
    if words:
        query = SearchQuery(" | ".join(words), search_type="raw", config="simple")
        # The best-ranked few among the newest matches: a common word then costs the same with
        # 10,000 known errors as with 100, and the right one is not crowded out by newer ones.
        newest = visible.filter(search_vector=query).order_by("-id").values("id")[:TEXT_POOL]
        ids.update(
            KnownError.objects.filter(pk__in=newest)
            .annotate(pool_rank=SearchRank(F("search_vector"), query))
            .order_by("-pool_rank", "-id")
            .values_list("id", flat=True)[:TEXT_CANDIDATES]
        )
    scope = [pk for pk in [*ci_ids, service_id] if pk]
    if scope:
        # Two semi-joins on the link tables' indexes; an OR across two joins of the M2M (with
        # DISTINCT) was a third of the time with 10,000 known errors (bench/problems.py).
        on_ci = KnownError.cis.through.objects.filter(configurationitem_id__in=scope).values("knownerror_id")
        on_service = KnownError.services.through.objects.filter(configurationitem_id__in=scope).values(
            "knownerror_id"
        )
        ids.update(
            visible.filter(Q(pk__in=on_ci) | Q(pk__in=on_service))
            .order_by("-id")
            .values_list("id", flat=True)[:SCOPE_CANDIDATES]
        )
    if not ids:
        return []
    # The long texts and the vector stay in the database: a match shows number, title and why.
    rows = (
        KnownError.objects.filter(pk__in=ids)
        .select_related("category")
        .defer("symptoms", "root_cause", "public_text", "search_vector")
        .annotate(
            vector_words=Func(
                F("search_vector"), function="tsvector_to_array", output_field=ArrayField(TextField())
            )
        )
    )
    if query is not None:
        rows = rows.annotate(rank=SearchRank(F("search_vector"), query))
    candidates = list(rows)
    # The faulty CIs and services of the candidates, names only, in two queries (a prefetch built a
    # queryset per known error: ~60 ms for 140 candidates).
    faulty_cis = _linked_names(KnownError.cis.through, ids)
    affected_services = _linked_names(KnownError.services.through, ids)
    vectors = {ke.pk: frozenset(ke.vector_words or ()) for ke in candidates}
    workarounds = {}
    active = Workaround.objects.filter(known_error_id__in=ids, is_active=True).defer(
        "symptoms", "review_notes"
    )
    for workaround in active.order_by("id"):
        workarounds[workaround.known_error_id] = workaround  # the newest active one
    query_words = set(words)
    found = []
    for ke in candidates:
        reasons = []
        shared = [word for word in words if word in vectors.get(ke.pk, ())]
        coverage = len(shared) / len(query_words) if query_words else 0.0
        rank = float(getattr(ke, "rank", 0) or 0)
        text_score = 0.6 * coverage + 0.4 * min(rank / 0.3, 1.0) if shared else 0.0
        score = TEXT_WEIGHT * text_score
        if shared:
            said = ", ".join(typed[word] for word in shared[:8])
            reasons.append(f"{len(shared)} of {len(query_words)} words: {said}")
        ke_cis = faulty_cis.get(ke.pk, {})
        ke_services = affected_services.get(ke.pk, {})
        common = [ke_cis[pk] for pk in ci_ids if pk in ke_cis]
        if common:
            score += CI_WEIGHT
            reasons.append("faulty CI " + ", ".join(common[:3]))
        if service_id and (service_id in ke_services or service_id in ke_cis):
            score += SERVICE_WEIGHT
            reasons.append(f"same service {ke_services.get(service_id) or ke_cis.get(service_id)}")
        if category_id and ke.category_id == category_id:
            score += CATEGORY_WEIGHT
            reasons.append(f"same category {ke.category.name}")
        if score < MIN_SCORE:
            continue
        found.append(
            Match(
                known_error=ke,
                score=round(score, 3),
                words=[typed[word] for word in shared],
                reasons=reasons,
                workaround=workarounds.get(ke.pk),
            )
        )
    found.sort(key=lambda match: (-match.score, -match.known_error.pk))
    return found[:limit]


def _linked_names(through, ids) -> dict[int, dict[int, str]]:
    """``{known error id: {CI id: CI name}}`` through a link table of known errors and CIs."""
    found: dict[int, dict[int, str]] = defaultdict(dict)
    rows = through.objects.filter(knownerror_id__in=list(ids)).values_list(
        "knownerror_id", "configurationitem_id", "configurationitem__name"
    )
    for known_error_id, ci_id, name in rows:
        found[known_error_id][ci_id] = name
    return found


def match_as_data(match: Match) -> dict:
    """A match as the API gives it (incidents' suggest API, ``known-errors/match/``)."""
    ke, workaround = match.known_error, match.workaround
    return {
        "type": "known_error",
        "id": ke.pk,
        "number": ke.number,
        "title": ke.title,
        "status": ke.status,
        "score": match.score,
        "why": match.why,
        "words": match.words,
        "url": ke.get_absolute_url(),
        "workaround": (
            {"id": workaround.pk, "title": workaround.title, "steps": workaround.steps}
            if workaround
            else None
        ),
    }


def incidents_of_candidates(rows: list[ProblemCandidate], user, per_candidate: int = 10) -> dict[int, list]:
    """The incidents of a page of candidates that ``user`` may see, in one query: ``{candidate id: [..]}``."""
    through = ProblemCandidate.incidents.through
    links = list(
        through.objects.filter(problemcandidate_id__in=[row.pk for row in rows]).values_list(
            "problemcandidate_id", "incident_id"
        )
    )
    visible = {
        incident.pk: incident
        for incident in Incident.objects.visible_to(user)
        .filter(pk__in={incident_id for _, incident_id in links})
        .only("id", "number", "short_description", "status", "created_at")
    }
    found: dict[int, list] = defaultdict(list)
    for candidate_id, incident_id in sorted(links, key=lambda pair: -pair[1]):
        if incident_id in visible and len(found[candidate_id]) < per_candidate:
            found[candidate_id].append(visible[incident_id])
    return found
