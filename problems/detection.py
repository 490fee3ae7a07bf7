"""Problem identification [PRB-2]: recurring similar incidents and repeated monitoring alerts become
problem candidates, which a problem manager accepts (a problem is raised with the incidents linked) or
dismisses (the group is never proposed again).

Detection rules, over the incidents of the last ``PROBLEMS_RECURRING_WINDOW_DAYS`` (30) not linked to
any problem (cancelled and merged duplicates left out):

1. same CI or same service, and similar text: incidents on one anchor are grouped when their short
   descriptions share enough words (Jaccard similarity of their English lexemes >= ``similarity``,
   single linkage); a group of ``threshold`` (3) or more is proposed. Its key is the anchor plus the
   group's three commonest words, so the same recurring issue updates one candidate.
2. same category and same CI class of an affected CI, ``category_threshold`` (5) or more, unless
   rule 1 already covers most of those incidents.

A run holds a transaction-level advisory lock, so two beats never detect at once; candidates are
keyed (unique), so a run repeated finds the same candidates and adds only new incidents.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from configuration.models import ConfigurationItem
from incidents.choices import Status as IncidentStatus
from incidents.models import Incident
from itsm import notifications, roles
from itsm import services as kernel
from itsm.exceptions import ConflictError
from itsm.search import SEARCH_CONFIG
from problems import services
from problems.choices import CandidateRule, CandidateStatus, Source
from problems.models import Problem, ProblemCandidate

ADVISORY_LOCK = 7_000_001  # pg_try_advisory_xact_lock key of the detection run
logger = logging.getLogger(__name__)


def _setting(name: str, default):
    return getattr(settings, name, default)


@dataclass
class DetectResult:
    examined: int = 0
    clusters: int = 0
    proposed: int = 0
    updated: int = 0
    skipped_dismissed: int = 0
    locked_out: bool = False


@dataclass
class _Row:
    id: int
    number: str
    short_description: str
    created_at: datetime.datetime
    service_id: int | None
    category_id: int | None
    words: frozenset[str]


def _recent_rows(since: datetime.datetime) -> list[_Row]:
    from problems.queries import _stop_lexemes, linked_to_a_problem

    stop = _stop_lexemes()
    words = models.Func(
        SearchVector("short_description", config=SEARCH_CONFIG),
        function="tsvector_to_array",
        output_field=ArrayField(models.TextField()),
    )
    rows = (
        # Security incidents are the security team's: their text never reaches a candidate all staff read.
        Incident.objects.filter(created_at__gte=since, is_security=False)
        .exclude(status=IncidentStatus.CANCELLED)
        .exclude(resolution_code="duplicate")
        .exclude(linked_to_a_problem())
        .annotate(words=words)
        .order_by("-id")
        .values_list("id", "number", "short_description", "created_at", "service_id", "category_id", "words")
    )
    return [
        _Row(
            pk,
            number,
            text,
            created,
            service,
            category,
            frozenset(w for w in (lex or []) if _usable(w, stop)),
        )
        for pk, number, text, created, service, category, lex in rows
    ]


def _similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold


def _clusters(rows: list[_Row], similarity: float) -> list[list[_Row]]:
    """Single-linkage groups of rows whose words are similar enough (union-find)."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Only pairs sharing a word can be similar: compare through a word -> rows index, not every pair.
    by_word: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for word in row.words:
            by_word[word].append(i)
    for i, row in enumerate(rows):
        compared: set[int] = set()
        for word in row.words:
            for j in by_word[word]:
                if j <= i or j in compared:
                    continue
                compared.add(j)
                if find(i) != find(j) and _similar(row.words, rows[j].words, similarity):
                    parent[find(i)] = find(j)
    groups: dict[int, list[_Row]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[find(i)].append(row)
    return list(groups.values())


def _usable(lexeme: str, stop: frozenset[str]) -> bool:
    # A hyphenated word is indexed whole and in parts ("e-mail", "e", "mail"): keep the parts of two
    # letters or more, or "e-mail" alone would make two texts look alike three times over.
    return len(lexeme) > 1 and "-" not in lexeme and lexeme not in stop


def _as_typed(stems: list[str], rows: list[_Row]) -> list[str]:
    """The words as people typed them for a theme's stems ("databas" -> "database"), for explanations."""
    words = [word.lower() for row in rows for word in re.findall(r"[\w-]+", row.short_description)]
    return [next((word for word in words if word.startswith(stem)), stem) for stem in stems]


def _theme(rows: list[_Row]) -> list[str]:
    counted = Counter(word for row in rows for word in row.words)
    return sorted(word for word, _ in counted.most_common(3))


def detect_recurring(
    *,
    now: datetime.datetime | None = None,
    window_days: int | None = None,
    threshold: int | None = None,
    category_threshold: int | None = None,
    similarity: float | None = None,
    per_anchor: int = 300,
) -> DetectResult:
    """Find recurring groups of incidents and propose (or update) a candidate for each."""
    now = now or timezone.now()
    window_days = window_days or _setting("PROBLEMS_RECURRING_WINDOW_DAYS", 30)
    threshold = threshold or _setting("PROBLEMS_RECURRING_THRESHOLD", 3)
    category_threshold = category_threshold or _setting("PROBLEMS_CATEGORY_THRESHOLD", 5)
    similarity = similarity or _setting("PROBLEMS_RECURRING_SIMILARITY", 0.3)
    result = DetectResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            if not cursor.fetchone()[0]:
                result.locked_out = True
                return result
        rows = _recent_rows(now - datetime.timedelta(days=window_days))
        result.examined = len(rows)
        if not rows:
            return result
        by_id = {row.id: row for row in rows}
        ci_links = list(
            Incident.cis.through.objects.filter(incident_id__in=list(by_id)).values_list(
                "incident_id", "configurationitem_id", "configurationitem__ci_class_id"
            )
        )
        anchors: dict[tuple[str, int], list[_Row]] = defaultdict(list)
        for incident_id, ci_id, _ in ci_links:
            anchors[("ci", ci_id)].append(by_id[incident_id])
        for row in rows:
            if row.service_id:
                anchors[("service", row.service_id)].append(row)
        covered: set[int] = set()
        groups = []
        # CIs first (more specific than their service), then by size.
        for (kind, anchor_id), members in sorted(
            anchors.items(), key=lambda item: (item[0][0] != "ci", -len(item[1]))
        ):
            if len(members) < threshold:
                continue
            members = sorted({row.id: row for row in members}.values(), key=lambda row: -row.id)[:per_anchor]
            for cluster in _clusters(members, similarity):
                ids = {row.id for row in cluster}
                if len(cluster) < threshold or ids <= covered:
                    continue
                covered |= ids
                groups.append((kind, anchor_id, cluster))
        names = dict(
            ConfigurationItem.objects.filter(pk__in={anchor_id for _, anchor_id, _ in groups}).values_list(
                "pk", "name"
            )
        )
        for kind, anchor_id, cluster in groups:
            result.clusters += 1
            theme = _theme(cluster)
            prefix = f"ci_text:{kind}:{anchor_id}:"
            alike = _alike(prefix, theme)
            if alike is not None and alike.status == CandidateStatus.DISMISSED:
                result.skipped_dismissed += 1
                continue
            # The same recurring issue keeps its candidate when its commonest words shift a little.
            key = alike.key if alike is not None else f"{prefix}{'+'.join(theme)}"
            label = "CI" if kind == "ci" else "service"
            newest = max(cluster, key=lambda row: row.id)
            _upsert(
                result,
                key=key,
                rule=CandidateRule.CI_TEXT,
                title=f"Recurring on {names.get(anchor_id, anchor_id)}: {newest.short_description}"[:200],
                explanation=(
                    f"{len(cluster)} incidents in the last {window_days} days on the {label} "
                    f"{names.get(anchor_id, anchor_id)}, not linked to a problem, share the words "
                    f"{', '.join(_as_typed(theme, cluster))}."
                ),
                rows=cluster,
                anchor={"ci_id": anchor_id} if kind == "ci" else {"service_id": anchor_id},
            )

        # Rule 2: same category and CI class.
        by_class: dict[tuple[int, int], set[int]] = defaultdict(set)
        for incident_id, _, class_id in ci_links:
            row = by_id[incident_id]
            if row.category_id:
                by_class[(row.category_id, class_id)].add(incident_id)
        for (category_id, class_id), ids in sorted(by_class.items(), key=lambda item: -len(item[1])):
            if len(ids) < category_threshold or len(ids & covered) >= 0.8 * len(ids):
                continue
            key = f"category_class:{category_id}:{class_id}"
            if ProblemCandidate.objects.filter(key=key, status=CandidateStatus.DISMISSED).exists():
                result.skipped_dismissed += 1
                continue
            result.clusters += 1
            covered |= ids
            cluster = [by_id[pk] for pk in ids]
            from configuration.models import CIClass
            from incidents.models import Category

            category = Category.objects.filter(pk=category_id).first()
            ci_class = CIClass.objects.filter(pk=class_id).first()
            _upsert(
                result,
                key=key,
                rule=CandidateRule.CATEGORY_CLASS,
                title=f"Recurring {category} incidents on {ci_class.name if ci_class else 'CIs'}"[:200],
                explanation=(
                    f"{len(ids)} incidents in the last {window_days} days in the category {category}, "
                    f"each with an affected CI of the class {ci_class.name if ci_class else class_id}, "
                    "not linked to a problem."
                ),
                rows=cluster,
                anchor={"category_id": category_id, "ci_class_id": class_id},
            )
    return result


def _alike(prefix: str, theme: list[str]) -> ProblemCandidate | None:
    """A candidate on the same anchor whose theme shares two words or more is the same group (a dismissed
    one first: dismissal is for good)."""
    found = None
    for candidate in ProblemCandidate.objects.filter(key__startswith=prefix).order_by("id"):
        words = set(candidate.key[len(prefix) :].split("+"))
        if len(words & set(theme)) >= min(2, len(theme)):
            if candidate.status == CandidateStatus.DISMISSED:
                return candidate
            found = found or candidate
    return found


def _upsert(
    result: DetectResult, *, key: str, rule: str, title: str, explanation: str, rows, anchor: dict
) -> None:
    first = min(row.created_at for row in rows)
    last = max(row.created_at for row in rows)
    candidate = ProblemCandidate.objects.select_for_update().filter(key=key).first()
    if candidate is None:
        candidate = ProblemCandidate.objects.create(
            key=key,
            rule=rule,
            title=title,
            explanation=explanation,
            incident_count=len(rows),
            first_seen_at=first,
            last_seen_at=last,
            **anchor,
        )
        candidate.incidents.set([row.id for row in rows])
        result.proposed += 1
        return
    if candidate.status != CandidateStatus.PROPOSED:
        if candidate.status == CandidateStatus.DISMISSED:
            result.skipped_dismissed += 1
        return
    candidate.incidents.add(*[row.id for row in rows])
    candidate.incident_count = candidate.incidents.count()
    candidate.explanation = explanation
    candidate.last_seen_at = max(last, candidate.last_seen_at or last)
    candidate.version += 1
    candidate.save()
    result.updated += 1


def _managers() -> list:
    from people.models import User

    return list(
        User.objects.filter(is_active=True, groups__name__in=services.PROBLEM_MANAGER_ROLES)
        .distinct()
        .order_by("pk")
    )


DIGEST_LISTED = 30  # candidates named in one digest; the rest are counted


def send_candidate_digest(*, now: datetime.datetime | None = None) -> int:
    """Tell the problem managers, in one notification, of the candidates proposed since the last digest
    (beat, every ``PROBLEMS_CANDIDATE_DIGEST_MINUTES``). Returns how many were listed.

    The candidates are locked (``SKIP LOCKED``) and marked ``announced_at`` in the transaction that
    writes the notification, whose key names the newest of them: a retry or a concurrent run lists
    each candidate once. Candidates already accepted or dismissed by then are marked, not listed."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = list(
            ProblemCandidate.objects.select_for_update(skip_locked=True)
            .filter(announced_at__isnull=True)
            .order_by("id")
            .only("id", "title", "status", "rule", "incident_count", "alert_count")
        )
        if not fresh:
            return 0
        ProblemCandidate.objects.filter(pk__in=[c.pk for c in fresh]).update(announced_at=now)
        proposed = [c for c in fresh if c.status == CandidateStatus.PROPOSED]
        if not proposed:
            return 0
        lines = []
        for candidate in proposed[:DIGEST_LISTED]:
            if candidate.rule == CandidateRule.EVENTS:
                size = f"alert fired {candidate.alert_count} times"
            else:
                size = f"{candidate.incident_count} incident{'s' if candidate.incident_count != 1 else ''}"
            lines.append(f"- {candidate.title} ({size})")
        if len(proposed) > DIGEST_LISTED:
            lines.append(f"... and {len(proposed) - DIGEST_LISTED} more.")
        count = len(proposed)
        from django.urls import reverse

        notifications.notify(
            _managers(),
            subject=f"{count} new proposed problem{'s' if count != 1 else ''} to accept or dismiss",
            body="\n".join(lines),
            url=reverse("problems:candidates"),
            key=f"problem_candidates:digest:{proposed[-1].pk}",
            kind="problems.candidate",
        )
    return count


def candidate_from_alert(*, alert_id: int, count: int) -> ProblemCandidate | None:
    """A monitoring alert repeated ``count`` times (``events.signals.alert_repeated``): propose a problem
    with the alert group's incident attached. One candidate per alert key (source and dedup key), ever.

    Runs in the ``problems.tasks.candidate_from_alert`` task after the event batch commits (so the
    alert has its group and incident), or in the sweep (``sweep_repeated_alerts``). Idempotent: a
    retry, a second delivery or a concurrent run finds the keyed candidate (the unique key settles a
    race) and at most raises its count."""
    from events.models import Alert

    alert = Alert.objects.select_related("group", "ci").filter(pk=alert_id).first()
    if alert is None:
        return None
    key = alert_key(alert.source_id, alert.dedup_key)
    with transaction.atomic():
        candidate = ProblemCandidate.objects.select_for_update().filter(key=key).first()
        if candidate is None:
            group = alert.group
            what = alert.check_name or alert.dedup_key
            where = alert.ci.name if alert.ci_id else alert.resource
            try:
                with transaction.atomic():  # a savepoint: another delivery may create it first
                    candidate = ProblemCandidate.objects.create(
                        key=key,
                        rule=CandidateRule.EVENTS,
                        title=f"Repeated alert: {what} on {where}"[:200],
                        explanation=(
                            f"The alert {what} on {where} fired {count} times since "
                            f"{alert.first_seen_at:%Y-%m-%d %H:%M}"
                            + (f": {alert.message}" if alert.message else ".")
                        ),
                        ci=alert.ci,
                        service_id=group.service_id if group is not None else None,
                        alert=alert,
                        alert_count=count,
                        first_seen_at=alert.first_seen_at,
                        last_seen_at=alert.last_seen_at,
                    )
            except IntegrityError:
                candidate = ProblemCandidate.objects.select_for_update().get(key=key)
            else:
                attach_alert_incident(candidate)
                return candidate
        if candidate.status == CandidateStatus.PROPOSED and count > candidate.alert_count:
            ProblemCandidate.objects.filter(pk=candidate.pk).update(
                alert_count=count, last_seen_at=alert.last_seen_at
            )
            candidate.alert_count = count
        if candidate.status == CandidateStatus.PROPOSED:
            attach_alert_incident(candidate)
    return candidate


def alert_key(source_id: int, dedup_key: str) -> str:
    """The candidate key of an alert: one per source and dedup key (a reopened alert is the same)."""
    return f"alert:{source_id}:{dedup_key}"[:200]


def sweep_repeated_alerts(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Propose the candidates of repeated alerts whose task never ran (the broker was down when the
    event batch committed, or the task failed for good): alerts seen in the last
    ``PROBLEMS_ALERT_SWEEP_DAYS`` (7) whose count reached ``EVENTS_REPEAT_THRESHOLD`` and whose key
    has no candidate (a dismissed one counts: dismissal is for good). Run before every digest.
    Returns how many it proposed (at most ``limit`` a run; the next run goes on)."""
    from django.db.models import CharField, Exists, OuterRef, Value
    from django.db.models.functions import Cast, Concat, Left

    from events import conf as events_conf
    from events.models import Alert

    now = now or timezone.now()
    since = now - datetime.timedelta(days=_setting("PROBLEMS_ALERT_SWEEP_DAYS", 7))
    missed = list(
        Alert.objects.filter(count__gte=events_conf.repeat_threshold(), last_seen_at__gte=since)
        .annotate(
            candidate_key=Left(
                Concat(Value("alert:"), Cast("source_id", CharField()), Value(":"), "dedup_key"), 200
            )
        )
        .exclude(Exists(ProblemCandidate.objects.filter(key=OuterRef("candidate_key"))))
        .order_by("id")
        .values_list("id", "count")[:limit]
    )
    proposed = 0
    for alert_id, count in missed:
        try:
            candidate_from_alert(alert_id=alert_id, count=count)
            proposed += 1
        except Exception:  # noqa: BLE001 - one bad alert never stops the sweep
            logger.exception("Could not propose a problem for alert %s", alert_id)
    if missed:
        logger.info("Swept %d repeated alerts whose candidate task never ran", proposed)
    return proposed


def candidate_from_review(review) -> ProblemCandidate | None:
    """A major incident's post-incident review asks for a problem (``problem_requested``): propose one
    with the incident and its children attached, once per incident."""
    if not review.problem_requested:
        return None
    incident = review.incident
    key = f"review:{incident.pk}"
    if ProblemCandidate.objects.filter(key=key).exists():
        return None
    scope = list(incident.cis.all()[:1])
    candidate = ProblemCandidate.objects.create(
        key=key,
        rule=CandidateRule.REVIEW,
        title=f"From the review of {incident.number}: {incident.short_description}"[:200],
        explanation=(review.causes or review.what_happened or "The post-incident review asks for a problem.")[
            :2000
        ],
        ci=scope[0] if scope else None,
        service=incident.service,
        category=incident.category,
        first_seen_at=incident.created_at,
        last_seen_at=incident.resolved_at or incident.created_at,
    )
    related = [incident.pk, *incident.children.values_list("pk", flat=True)]
    candidate.incidents.set(related)
    ProblemCandidate.objects.filter(pk=candidate.pk).update(incident_count=len(related))
    return candidate


def attach_alert_incident(candidate: ProblemCandidate | None) -> None:
    """Attach the incident of a candidate's alert group (and its service), if there is one by now."""
    if candidate is None or candidate.alert_id is None:
        return
    from events.models import Alert

    alert = Alert.objects.select_related("group").filter(pk=candidate.alert_id).first()
    group = alert.group if alert is not None else None
    if group is None:
        return
    if group.incident_id and not candidate.incidents.filter(pk=group.incident_id).exists():
        candidate.incidents.add(group.incident_id)
    ProblemCandidate.objects.filter(pk=candidate.pk).update(
        incident_count=candidate.incidents.count(), service=candidate.service_id or group.service_id
    )
    candidate.refresh_from_db(fields=["incident_count", "service"])


def _check_manager(actor) -> None:
    if not roles.has_role(actor, *services.PROBLEM_MANAGER_ROLES):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only a manager or an admin accepts or dismisses proposed problems.")


@transaction.atomic
def candidate_accept(*, candidate: ProblemCandidate, actor, fields: dict | None = None) -> Problem:
    """Accept a proposed problem: a problem is raised (source: recurring incidents or repeated events)
    with the candidate's incidents linked as caused by it."""
    _check_manager(actor)
    locked = ProblemCandidate.objects.select_for_update().get(pk=candidate.pk)
    if locked.status != CandidateStatus.PROPOSED:
        raise ConflictError(
            f"This candidate is already {locked.get_status_display().lower()}.", status=locked.status
        )
    attach_alert_incident(locked)
    fields = dict(fields or {})
    fields.setdefault("title", locked.title)
    fields.setdefault("description", locked.explanation)
    sources = {CandidateRule.EVENTS: Source.EVENT_REPETITION, CandidateRule.REVIEW: Source.MAJOR_INCIDENT}
    fields.setdefault("source", sources.get(locked.rule, Source.RECURRING_INCIDENTS))
    if locked.category_id and "category" not in fields and locked.category.parent_id is None:
        fields["category"] = locked.category
    scope = [ci for ci in (locked.ci, locked.service) if ci is not None]
    fields.setdefault("cis", [ci for ci in scope if not ci.ci_class.is_service])
    fields.setdefault("services", [ci for ci in scope if ci.ci_class.is_service])
    fields.setdefault("problem_manager", actor)
    problem = services.problem_create(actor=actor, fields=fields, incidents=list(locked.incidents.all()))
    locked.status = CandidateStatus.ACCEPTED
    locked.problem = problem
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.version += 1
    locked.save()
    kernel.timeline_add(
        record=problem,
        author=actor,
        kind="system",
        body=f"Raised from a proposed problem: {locked.explanation}",
    )
    return problem


@transaction.atomic
def candidate_dismiss(*, candidate: ProblemCandidate, actor, reason: str) -> ProblemCandidate:
    """Dismiss a proposed problem: this group is never proposed again."""
    _check_manager(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why it is not a problem (others will read it)."})
    locked = ProblemCandidate.objects.select_for_update().get(pk=candidate.pk)
    if locked.status != CandidateStatus.PROPOSED:
        raise ConflictError(
            f"This candidate is already {locked.get_status_display().lower()}.", status=locked.status
        )
    locked.status = CandidateStatus.DISMISSED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.dismiss_reason = reason.strip()[:500]
    locked.version += 1
    locked.save()
    return locked
