"""The processing pipeline behind ``services.process_batch``: raw events -> events -> alerts ->
alert groups -> incidents and notifications, for one batch in one transaction."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from configuration.models import ConfigurationItem
from configuration.queries import class_and_descendants, impact_analysis
from events import conf
from events.choices import (
    DEFAULT_CLASSIFICATION,
    SEVERITY_RANK,
    URGENCY_FOR_SEVERITY,
    AlertState,
    Classification,
    EventState,
    RawEventOutcome,
    Severity,
    SourceKind,
)
from events.models import Alert, AlertGroup, Event, EventSource, MaintenanceWindow, RawEvent, Rule
from events.normalise import (
    MAX_TEXT,
    Normalised,
    PayloadError,
    host_of,
    normalise_alertmanager,
    normalise_generic,
)
from incidents import services as incident_services
from incidents.choices import OPEN_STATUSES, Channel, ResolutionCode
from itsm import notifications

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    raw: int = 0
    events: int = 0
    dropped: int = 0
    invalid: int = 0
    alerts_opened: int = 0
    alerts_closed: int = 0
    groups_opened: int = 0
    incidents_opened: int = 0
    incidents_resolved: int = 0


@dataclass
class Item:
    """One raw event on its way through the batch."""

    raw: RawEvent
    source: EventSource
    event: Normalised
    ci: ConfigurationItem | None = None
    classification: str = ""
    rule_id: int | None = None
    dropped: bool = False
    alert_id: int | None = None


@dataclass
class Touched:
    """An alert written in this batch."""

    id: int
    key: tuple[int, str]
    inserted: bool
    group_id: int | None
    classification: str
    severity: str
    ci_id: int | None
    resource: str
    check_name: str
    source_id: int


# -- rules ----------------------------------------------------------------------------------------


class RuleSet:
    """Active rules in order, with each CI-class condition expanded to the class and its subclasses."""

    def __init__(self, rules: list[Rule] | None = None):
        if rules is None:
            rules = list(Rule.objects.filter(is_active=True).order_by("order", "id"))
        self.rules = rules
        self.classes = {
            rule.pk: set(class_and_descendants(rule.match_ci_class))
            for rule in self.rules
            if rule.match_ci_class_id
        }

    def matches(self, rule: Rule, item: Item) -> bool:
        event = item.event
        if rule.match_source_id and rule.match_source_id != item.source.pk:
            return False
        if rule.match_check and rule.match_check != event.check_name:
            return False
        if rule.match_ci_class_id and (item.ci is None or item.ci.ci_class_id not in self.classes[rule.pk]):
            return False
        for name, wanted in (rule.match_labels or {}).items():
            have = event.labels.get(name)
            if have is None or (wanted != "*" and str(wanted) != have):
                return False
        if rule.value_above is not None and (event.value is None or not event.value > rule.value_above):
            return False
        return not (
            rule.value_below is not None and (event.value is None or not event.value < rule.value_below)
        )

    def apply(self, item: Item) -> None:
        """For each action the first matching rule that sets it wins; a matching drop rule drops."""
        event = item.event
        classification = severity = dedup = None
        for rule in self.rules:
            if not self.matches(rule, item):
                continue
            if item.rule_id is None:
                item.rule_id = rule.pk
            if rule.drop:
                item.dropped = True
                item.rule_id = rule.pk
                return
            if classification is None and rule.set_classification:
                classification = rule.set_classification
            if severity is None and rule.set_severity:
                severity = rule.set_severity
            if dedup is None and rule.set_dedup_key:
                dedup = _render_key(rule.set_dedup_key, item)
        if severity:
            event.severity = severity
        if dedup:
            event.dedup_key = dedup
        item.classification = classification or DEFAULT_CLASSIFICATION[event.severity]


class _KeyFields(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _render_key(template: str, item: Item) -> str:
    event = item.event
    values = _KeyFields(
        source=item.source.name,
        resource=event.resource,
        check=event.check_name,
        ci=item.ci.number if item.ci else event.ci_ref,
    )
    for name, value in event.labels.items():
        values[f"label.{name}"] = value
    try:
        return template.format_map(values)[:MAX_TEXT] or event.dedup_key
    except (ValueError, IndexError, AttributeError, KeyError):
        return event.dedup_key


# -- CI lookup ------------------------------------------------------------------------------------


def _ci_reference(item: Item) -> tuple[str, str] | None:
    """("number", "CI0001001") or (scheme, value) naming the event's CI, if anything does."""
    event, source = item.event, item.source
    ref = event.ci_ref
    if ref:
        if "=" in ref:
            scheme, _, value = ref.partition("=")
            return scheme.strip().lower(), value.strip()
        if ref.upper().startswith("CI") and ref[2:].isdigit():
            return "number", ref.upper()
        return source.ci_lookup_scheme, ref
    value = event.labels.get(source.ci_lookup_label) if source.ci_lookup_label else None
    value = value or event.resource
    if not value:
        return None
    return source.ci_lookup_scheme, host_of(value)


def _normal_value(scheme: str, value: str) -> str:
    # The CMDB stores hostnames and FQDNs lower-case.
    return value.lower() if scheme in ("hostname", "fqdn") else value


def _lookup_cis(items: list[Item]) -> None:
    """Every event's CI in two queries at most: identifiers by scheme, then the CIs."""
    wanted: dict[str, set[str]] = defaultdict(set)
    refs = {}
    for item in items:
        ref = _ci_reference(item)
        if ref is None:
            continue
        scheme, value = ref
        if scheme != "number":
            value = _normal_value(scheme, value)
        refs[id(item)] = (scheme, value)
        wanted[scheme].add(value)
    if not refs:
        return
    ci_ids: dict[tuple[str, str], int] = {}
    numbers = wanted.pop("number", set())
    by_scheme = [(scheme, sorted(values)) for scheme, values in wanted.items()]
    if by_scheme:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.scheme, i.value, i.ci_id FROM configuration_ciidentifier i "
                "JOIN unnest(%s::text[], %s::text[]) AS w(scheme, value) "
                "ON i.scheme = w.scheme AND i.value = w.value",
                [[s for s, vs in by_scheme for _ in vs], [v for _, vs in by_scheme for v in vs]],
            )
            for scheme, value, ci_id in cursor.fetchall():
                ci_ids[(scheme, value)] = ci_id
    query = ConfigurationItem.objects.select_related("ci_class", "owner_group").defer(
        "search_vector", "search_text", "attributes"
    )
    if numbers:
        for ci in query.filter(number__in=numbers):
            ci_ids[("number", ci.number)] = ci.pk
    cis = query.in_bulk(set(ci_ids.values())) if ci_ids else {}
    for item in items:
        ref = refs.get(id(item))
        if ref is not None and ref in ci_ids:
            item.ci = cis.get(ci_ids[ref])


# -- the batch ------------------------------------------------------------------------------------


def _parse(raw: RawEvent, source: EventSource) -> Normalised:
    if source.kind == SourceKind.ALERTMANAGER:
        payload = raw.payload if isinstance(raw.payload, dict) else {}
        return normalise_alertmanager(payload.get("alert"), source, received_at=raw.received_at)
    return normalise_generic(raw.payload, source, received_at=raw.received_at)


@transaction.atomic
def process_batch(
    *, raw_ids: list[int] | None = None, limit: int | None = None, received_before=None
) -> BatchResult:
    """Process up to ``limit`` unprocessed raw events (those of ``raw_ids``, or the oldest). Rows are
    locked with SKIP LOCKED, so a task and the sweeper never process one twice; running it again for
    the same ids does nothing."""
    limit = limit or conf.batch_size()
    now = timezone.now()
    rows = RawEvent.objects.select_for_update(skip_locked=True).filter(processed_at__isnull=True)
    if raw_ids is not None:
        rows = rows.filter(pk__in=raw_ids)
    if received_before is not None:
        rows = rows.filter(received_at__lt=received_before)
    raws = list(rows.order_by("id")[:limit])
    result = BatchResult(raw=len(raws))
    if not raws:
        return result
    sources = EventSource.objects.in_bulk({raw.source_id for raw in raws})
    items, outcomes = [], {}
    for raw in raws:
        source = sources[raw.source_id]
        try:
            items.append(Item(raw=raw, source=source, event=_parse(raw, source)))
        except PayloadError as error:
            outcomes[raw.pk] = (RawEventOutcome.INVALID, str(error)[:2000])
            result.invalid += 1
    _lookup_cis(items)
    rules = RuleSet()
    for item in items:
        rules.apply(item)
        if item.dropped:
            outcomes[item.raw.pk] = (RawEventOutcome.DROPPED, f"Dropped by rule {item.rule_id}.")
            result.dropped += 1
    kept = [item for item in items if not item.dropped]
    touched, closed = _write_alerts(kept, result)
    _write_events(kept)
    result.events = len(kept)
    for item in kept:
        outcomes.setdefault(item.raw.pk, (RawEventOutcome.RECORDED, ""))
    _mark_processed(outcomes, now)
    windows = _Maintenance(now)
    new_alerts = [alert for alert in touched.values() if alert.group_id is None]
    cis = {item.ci.pk: item.ci for item in kept if item.ci is not None}
    groups = _correlate(new_alerts, cis, windows, now, result)
    _handle(touched, groups, cis, windows, now, result)
    _handle_clears(closed, now, result)
    return result


def _runs(events: list[Item]) -> list[list[Item]]:
    """Consecutive events of one key in the same state (firing, firing, clear, firing -> 3 runs)."""
    runs: list[list[Item]] = []
    for item in events:
        if runs and runs[-1][0].event.state == item.event.state:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


_UPSERT = """
INSERT INTO events_alert AS a (source_id, dedup_key, resource, check_name, ci_id, severity, classification,
    state, message, labels, first_seen_at, last_seen_at, count, last_value, is_symptom)
SELECT t.s, t.k, t.r, t.c, t.ci, t.sev, t.cls, 'open', t.m, t.l::jsonb, t.f, t.ls, t.n, t.v, false
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[],
            %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::float8[])
     AS t(s, k, r, c, ci, sev, cls, m, l, f, ls, n, v)
ORDER BY t.s, t.k
ON CONFLICT (source_id, dedup_key) WHERE state = 'open' DO UPDATE SET
    count = a.count + EXCLUDED.count,
    first_seen_at = LEAST(a.first_seen_at, EXCLUDED.first_seen_at),
    last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at),
    last_value = CASE WHEN EXCLUDED.last_seen_at >= a.last_seen_at THEN EXCLUDED.last_value ELSE a.last_value END,
    message = CASE WHEN EXCLUDED.last_seen_at >= a.last_seen_at THEN EXCLUDED.message ELSE a.message END,
    severity = CASE WHEN EXCLUDED.last_seen_at >= a.last_seen_at THEN EXCLUDED.severity ELSE a.severity END,
    labels = CASE WHEN EXCLUDED.last_seen_at >= a.last_seen_at THEN EXCLUDED.labels ELSE a.labels END,
    classification = CASE WHEN EXCLUDED.classification = 'exception' OR a.classification = 'exception'
        THEN 'exception' ELSE EXCLUDED.classification END,
    ci_id = COALESCE(a.ci_id, EXCLUDED.ci_id)
RETURNING a.id, a.source_id, a.dedup_key, (a.xmax = 0) AS inserted, a.group_id, a.classification, a.severity,
    a.ci_id, a.resource, a.check_name
"""

_CLOSE = """
WITH target AS (
    SELECT a.id, t.at FROM events_alert a
    JOIN unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS t(s, k, at)
      ON a.source_id = t.s AND a.dedup_key = t.k AND a.state = 'open'
    ORDER BY a.source_id, a.dedup_key
    FOR UPDATE OF a
)
UPDATE events_alert a SET state = 'closed', closed_at = target.at,
    last_seen_at = GREATEST(a.last_seen_at, target.at)
FROM target WHERE a.id = target.id
RETURNING a.id, a.source_id, a.dedup_key, a.group_id
"""


def _write_alerts(items: list[Item], result: BatchResult) -> tuple[dict[int, Touched], dict[int, int | None]]:
    """Deduplicate into alerts: per key, runs of firing events are pre-aggregated into one upsert row
    and a clear closes the open alert. Keys are sorted, so concurrent batches lock in one order.
    Informational firing events are recorded only. Returns the alerts upserted and those closed
    (id -> group id)."""
    by_key: dict[tuple[int, str], list[Item]] = defaultdict(list)
    for item in items:
        if item.event.state == EventState.FIRING and item.classification == Classification.INFORMATIONAL:
            continue
        by_key[(item.source.pk, item.event.dedup_key)].append(item)
    runs = {}
    for key in sorted(by_key):
        events = sorted(by_key[key], key=lambda i: (i.event.occurred_at, i.raw.pk))
        runs[key] = _runs(events)
    touched: dict[int, Touched] = {}
    closed: dict[int, int | None] = {}
    round_ = 0
    while True:
        firing, clearing = [], []
        for key in sorted(runs):
            if round_ < len(runs[key]):
                run = runs[key][round_]
                (firing if run[0].event.state == EventState.FIRING else clearing).append((key, run))
        if not firing and not clearing:
            break
        if clearing:
            with connection.cursor() as cursor:
                cursor.execute(
                    _CLOSE,
                    [
                        [key[0] for key, _ in clearing],
                        [key[1] for key, _ in clearing],
                        [run[-1].event.occurred_at for _, run in clearing],
                    ],
                )
                found = {(s, k): (pk, group) for pk, s, k, group in cursor.fetchall()}
            for key, run in clearing:
                if key in found:
                    pk, group = found[key]
                    closed[pk] = group
                    touched.pop(pk, None)
                    result.alerts_closed += 1
                    for item in run:
                        item.alert_id = pk
        if firing:
            columns = [[] for _ in range(13)]
            for key, run in firing:
                last = run[-1]
                worst = (
                    "exception"
                    if any(i.classification == Classification.EXCEPTION for i in run)
                    else last.classification
                )
                ci = next((i.ci.pk for i in reversed(run) if i.ci is not None), None)
                for column, value in zip(
                    columns,
                    (
                        key[0],
                        key[1],
                        last.event.resource,
                        last.event.check_name,
                        ci,
                        last.event.severity,
                        worst,
                        last.event.message,
                        _json(last.event.labels),
                        run[0].event.occurred_at,
                        last.event.occurred_at,
                        len(run),
                        last.event.value,
                    ),
                    strict=True,
                ):
                    column.append(value)
            with connection.cursor() as cursor:
                cursor.execute(_UPSERT, columns)
                rows = cursor.fetchall()
            by_row = {}
            for pk, s, k, inserted, group, cls, sev, ci_id, resource, check_name in rows:
                by_row[(s, k)] = pk
                touched[pk] = Touched(pk, (s, k), inserted, group, cls, sev, ci_id, resource, check_name, s)
                if inserted:
                    result.alerts_opened += 1
            for key, run in firing:
                for item in run:
                    item.alert_id = by_row.get(key)
        round_ += 1
    return touched, closed


def _json(value) -> str:
    import json

    return json.dumps(value, default=str)


def _write_events(items: list[Item]) -> None:
    Event.objects.bulk_create(
        [
            Event(
                source_id=item.source.pk,
                raw_id=item.raw.pk,
                resource=item.event.resource,
                ci=item.ci,
                check_name=item.event.check_name,
                severity=item.event.severity,
                state=item.event.state,
                classification=item.classification,
                value=item.event.value,
                message=item.event.message,
                labels=item.event.labels,
                occurred_at=item.event.occurred_at,
                received_at=item.raw.received_at,
                dedup_key=item.event.dedup_key,
                alert_id=item.alert_id,
                rule_id=item.rule_id,
            )
            for item in items
        ],
        batch_size=1000,
    )


def _mark_processed(outcomes: dict[int, tuple[str, str]], now: datetime.datetime) -> None:
    ids = sorted(outcomes)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_rawevent r SET processed_at = %s, outcome = t.o, error = t.e "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(id, o, e) WHERE r.id = t.id",
            [now, ids, [outcomes[i][0] for i in ids], [outcomes[i][1] for i in ids]],
        )


# -- maintenance ----------------------------------------------------------------------------------


class _Maintenance:
    """CIs under an active maintenance window, loaded once per batch when first asked."""

    def __init__(self, now: datetime.datetime):
        self.now = now
        self._ids: set[int] | None = None

    def covers(self, *ci_ids: int | None) -> bool:
        if self._ids is None:
            through = MaintenanceWindow.cis.through
            self._ids = set(
                through.objects.filter(
                    maintenancewindow__starts_at__lte=self.now, maintenancewindow__ends_at__gt=self.now
                ).values_list("configurationitem_id", flat=True)
            )
        return any(pk in self._ids for pk in ci_ids if pk is not None)


# -- correlation ----------------------------------------------------------------------------------


def _anchor(alert: Touched) -> str:
    return f"ci:{alert.ci_id}" if alert.ci_id else f"resource:{alert.source_id}:{alert.resource}"


def _service_of(ci: ConfigurationItem) -> int | None:
    """The CI itself if it is a service, else the nearest service that depends on it."""
    if ci.ci_class.is_service:
        return ci.pk
    services = impact_analysis(ci, direction="impacts", item_limit=0).services
    return services[0].ci.pk if services else None


def _nearest_dependency(ci: ConfigurationItem, candidates: set[int]) -> int | None:
    """The nearest of ``candidates`` that ``ci`` depends on through the CMDB, if any. The walk runs
    only when there is a candidate besides the CI itself."""
    others = candidates - {ci.pk}
    if not others:
        return None
    walk = impact_analysis(ci, direction="depends_on", item_limit=10000)
    reached = [(node.depth, node.ci.pk) for node in walk.nodes if node.ci.pk in others]
    return min(reached)[1] if reached else None


def _group_get_or_create(anchor: str, defaults: dict) -> tuple[AlertGroup, bool]:
    """Race-free: the partial unique constraint on open groups decides; a loser re-reads the winner."""
    found = AlertGroup.objects.filter(anchor=anchor, state=AlertState.OPEN).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return AlertGroup.objects.create(anchor=anchor, **defaults), True
    except IntegrityError:
        return AlertGroup.objects.get(anchor=anchor, state=AlertState.OPEN), False


def _correlate(
    new_alerts: list[Touched],
    cis: dict[int, ConfigurationItem],
    windows: _Maintenance,
    now,
    result: BatchResult,
) -> dict[int, AlertGroup]:
    """Put each new alert in a group: its CI's open group; else, through the CMDB, the group of the
    nearest CI it depends on that has an open group or a new alert in this batch (as a symptom); else
    a new group with this alert as the probable cause. Causes are grouped before their symptoms, so
    the order of events inside a batch does not matter."""
    alerts = sorted(new_alerts, key=lambda a: (_anchor(a), a.id))
    own: dict[str, AlertGroup] = {
        group.anchor: group
        for group in AlertGroup.objects.filter(state=AlertState.OPEN, anchor__in={_anchor(a) for a in alerts})
    }
    parent: dict[int, int | None] = {}
    orphans = [a for a in alerts if _anchor(a) not in own and a.ci_id in cis]
    if orphans:
        open_cis = dict(
            AlertGroup.objects.filter(state=AlertState.OPEN, ci__isnull=False).values_list("ci_id", "id")
        )
        candidates = set(open_cis) | {a.ci_id for a in orphans}
        for ci_id in sorted({a.ci_id for a in orphans}):
            parent[ci_id] = _nearest_dependency(cis[ci_id], candidates)
        missing = {
            pk for ci_id, pk in open_cis.items() if f"ci:{ci_id}" not in own and ci_id in parent.values()
        }
        for group in AlertGroup.objects.filter(pk__in=missing):
            own[group.anchor] = group

    def through_topology(ci_id: int, seen: frozenset) -> AlertGroup | None:
        above = parent.get(ci_id)
        if above is None or above in seen:
            return None
        return own.get(f"ci:{above}") or through_topology(above, seen | {ci_id})

    def create(alert: Touched) -> AlertGroup:
        ci = cis.get(alert.ci_id) if alert.ci_id else None
        service_id = _service_of(ci) if ci is not None else None
        title = f"{ci.name if ci else alert.resource or 'unknown resource'}: {alert.check_name}"
        group, created = _group_get_or_create(
            _anchor(alert),
            {
                "ci": ci,
                "service_id": service_id,
                "title": title[:300],
                "severity": alert.severity,
                "opened_at": now,
                "last_alert_at": now,
                "suppressed": windows.covers(alert.ci_id, service_id),
                "probable_cause_id": alert.id,
            },
        )
        if created:
            result.groups_opened += 1
        own[group.anchor] = group
        return group

    assignments: dict[int, tuple[AlertGroup, bool]] = {}
    # Pass 1: alerts on CIs with their own open group, or with nothing above them: causes.
    for alert in alerts:
        anchor = _anchor(alert)
        if anchor in own:
            assignments[alert.id] = (own[anchor], False)
        elif parent.get(alert.ci_id) is None:
            assignments[alert.id] = (create(alert), False)
    # Pass 2: the others join the group of what they depend on (or open their own, in a cycle).
    for alert in alerts:
        if alert.id in assignments:
            continue
        anchor = _anchor(alert)
        if anchor in own:  # another alert on the same CI already settled it
            group = own[anchor]
            assignments[alert.id] = (group, group.anchor != anchor)
            continue
        group = through_topology(alert.ci_id, frozenset())
        if group is None:
            assignments[alert.id] = (create(alert), False)
        else:
            own[anchor] = group
            assignments[alert.id] = (group, True)
    for alert in alerts:
        alert.group_id = assignments[alert.id][0].pk
    if assignments:
        ids = sorted(assignments)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_alert a SET group_id = t.g, is_symptom = t.s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bool[]) AS t(id, g, s) WHERE a.id = t.id",
                [ids, [assignments[i][0].pk for i in ids], [assignments[i][1] for i in ids]],
            )
    return {group.pk: group for group, _symptom in assignments.values()}


# -- handling -------------------------------------------------------------------------------------


def _handle(
    touched: dict[int, Touched],
    groups: dict[int, AlertGroup],
    cis: dict[int, ConfigurationItem],
    windows: _Maintenance,
    now,
    result: BatchResult,
) -> None:
    """Per class: exception -> one incident per group (or a work note on its open incident); warning
    -> tell the CI's owner group once per alert; informational alerts do not exist (recorded only)."""
    by_group: dict[int, list[Touched]] = defaultdict(list)
    for alert in touched.values():
        if alert.group_id is not None:
            by_group[alert.group_id].append(alert)
    missing = set(by_group) - set(groups)
    if missing:
        groups.update(AlertGroup.objects.in_bulk(missing))
    ordered = sorted(by_group)
    for group_id in ordered:
        group = groups[group_id]
        worst = min((a.severity for a in by_group[group_id]), key=lambda s: SEVERITY_RANK[s])
        if SEVERITY_RANK[worst] < SEVERITY_RANK[group.severity]:
            group.severity = worst
        group.last_alert_at = now
    if ordered:
        # One statement for every group the batch touched, in id order (one lock order for all batches).
        with connection.cursor() as cursor:
            cursor.execute(
                # The worse of the stored and the new severity (another batch may have raised it).
                "UPDATE events_alertgroup g SET last_alert_at = GREATEST(g.last_alert_at, %s), "
                "severity = CASE WHEN array_position(%s::text[], t.sev) < array_position(%s::text[], g.severity) "
                "THEN t.sev ELSE g.severity END "
                "FROM unnest(%s::bigint[], %s::text[]) AS t(id, sev) WHERE g.id = t.id",
                [now, Severity.values, Severity.values, ordered, [groups[pk].severity for pk in ordered]],
            )
    for group_id in ordered:
        group = groups[group_id]
        alerts = by_group[group_id]
        exceptions = [
            a for a in alerts if a.classification == Classification.EXCEPTION and not windows.covers(a.ci_id)
        ]
        if group.incident_id is None:
            # Only while a window lasts: an exception still firing after it ends opens the incident
            # with its next event (``suppressed`` keeps that the group opened in maintenance).
            if exceptions and not windows.covers(group.ci_id, group.service_id):
                _open_incident(group, alerts, cis, result)
        else:
            joined = [a for a in alerts if a.inserted]
            if joined:
                _note_joined(group, joined)
    warnings = [
        a
        for a in touched.values()
        if a.inserted
        and a.classification == Classification.WARNING
        and a.ci_id in cis
        and not windows.covers(a.ci_id)
    ]
    for alert in warnings:
        ci = cis[alert.ci_id]
        if ci.owner_group_id is None:
            continue
        notifications.notify(
            ci.owner_group.members.all(),
            subject=f"Warning on {ci.name}: {alert.check_name}"[:200],
            body=f"Monitoring reports a warning ({alert.severity}) on {ci.number} {ci.name}: {alert.check_name}.",
            record=ci,
            key=f"events:alert:{alert.id}:warning",
            kind="events.warning",
        )


def _open_incident(
    group: AlertGroup, alerts: list[Touched], cis: dict[int, ConfigurationItem], result
) -> None:
    """Open the group's incident: priority from the service's (or CI's) criticality as impact and the
    worst severity as urgency; the CI's owner group is assigned. A refusal is logged, not fatal: the
    group's next alert tries again."""
    ci = group.ci or (cis.get(alerts[0].ci_id) if alerts[0].ci_id else None)
    service = ConfigurationItem.objects.select_related("ci_class").filter(pk=group.service_id).first()
    impact = (service or ci).criticality if (service or ci) else 3
    urgency = min(URGENCY_FOR_SEVERITY[a.severity] for a in alerts)
    lines = [f"- {a.severity}: {a.resource} {a.check_name}".rstrip() for a in alerts]
    fields = {
        "short_description": f"Monitoring: {group.title}"[:200],
        "description": "Opened by event management for alert group "
        f"{group.pk}.\n\nAlerts:\n" + "\n".join(lines),
        "channel": Channel.EVENT,
        "impact": impact,
        "urgency": urgency,
    }
    if service is not None:
        fields["service"] = service
    if ci is not None and ci.owner_group_id:
        fields["assignment_group"] = ci.owner_group
    affected = {a.ci_id: cis[a.ci_id] for a in alerts if a.ci_id in cis}
    if ci is not None:
        affected[ci.pk] = ci
    affected = [affected[pk] for pk in sorted(affected)]
    try:
        with transaction.atomic():
            # Concurrent batches on one group: the row lock makes the second see the first's incident.
            if AlertGroup.objects.select_for_update().filter(pk=group.pk, incident__isnull=False).exists():
                return
            incident = incident_services.incident_create(actor=None, fields=fields, cis=affected)
            AlertGroup.objects.filter(pk=group.pk).update(incident=incident)
            group.incident = incident
            result.incidents_opened += 1
    except ValidationError:
        logger.exception("Alert group %s: the incident was refused", group.pk)


def _note_joined(group: AlertGroup, joined: list[Touched]) -> None:
    incident = group.incident
    if incident.status not in OPEN_STATUSES:
        return
    lines = [
        f"- {a.severity}: {a.resource} {a.check_name}".rstrip()
        + (" (symptom)" if a.ci_id != group.ci_id else "")
        for a in joined
    ]
    incident_services.incident_comment(
        incident=incident,
        actor=None,
        public=False,
        body=f"Monitoring: {len(joined)} new alert(s) joined alert group {group.pk}:\n" + "\n".join(lines),
    )


def _handle_clears(closed: dict[int, int | None], now, result: BatchResult) -> None:
    """A group whose every alert has cleared closes; its open incident is resolved with a note when
    the clearing alerts' source says so."""
    group_ids = sorted({group for group in closed.values() if group is not None})
    if not group_ids:
        return
    still_open = set(
        Alert.objects.filter(group_id__in=group_ids, state=AlertState.OPEN).values_list("group_id", flat=True)
    )
    done = [pk for pk in group_ids if pk not in still_open]
    if not done:
        return
    resolve_on_clear = dict(
        Alert.objects.filter(pk__in=list(closed), group_id__in=done)
        .values_list("group_id", "source__resolve_incident_on_clear")
        .order_by("group_id", "-source__resolve_incident_on_clear")
        .distinct("group_id")
    )
    for group in (
        AlertGroup.objects.select_for_update().filter(pk__in=done, state=AlertState.OPEN).order_by("pk")
    ):
        group.state = AlertState.CLOSED
        group.closed_at = now
        group.save(update_fields=["state", "closed_at"])
        incident = group.incident
        if incident is None or incident.status not in OPEN_STATUSES:
            continue
        count = group.alerts.count()
        if resolve_on_clear.get(group.pk, True):
            incident_services.incident_resolve(
                incident=incident,
                actor=None,
                resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                resolution_notes=f"Monitoring reports every alert of this incident cleared ({count} alert(s)).",
            )
            result.incidents_resolved += 1
        else:
            incident_services.incident_comment(
                incident=incident,
                actor=None,
                public=False,
                body=f"Monitoring: every alert of alert group {group.pk} has cleared ({count} alert(s)).",
            )


def process_ids(raw_ids: list[int]) -> BatchResult:
    """``process_batch`` for these raw events; if the batch fails for a reason other than the database
    (a bug, data it cannot store), each is processed alone and the one that fails is marked invalid
    with the error, so one bad event never blocks the rest or the sweeper. Database errors
    (deadlock, lost connection) propagate: the task retries the whole batch."""
    try:
        return process_batch(raw_ids=raw_ids)
    except OperationalError:
        raise
    except Exception:
        logger.exception("Event batch of %d failed; processing its events one by one", len(raw_ids))
    total = BatchResult()
    for pk in sorted(raw_ids):
        try:
            one = process_batch(raw_ids=[pk])
        except OperationalError:
            raise
        except Exception as error:
            logger.exception("Raw event %s cannot be processed", pk)
            RawEvent.objects.filter(pk=pk, processed_at__isnull=True).update(
                processed_at=timezone.now(),
                outcome=RawEventOutcome.INVALID,
                error=f"Processing failed: {error!r}"[:2000],
            )
            total.raw += 1
            total.invalid += 1
            continue
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(one, name))
    return total


def sweep_unprocessed(*, max_batches: int = 20) -> int:
    """Process raw events left unprocessed (a lost task, a broker outage), oldest first, leaving the
    youngest to their own task. Returns how many were processed."""
    before = timezone.now() - datetime.timedelta(seconds=conf.sweep_age_seconds())
    size = conf.batch_size()
    done = 0
    for _ in range(max_batches):
        ids = list(
            RawEvent.objects.filter(processed_at__isnull=True, received_at__lt=before)
            .order_by("id")
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            break
        done += process_ids(ids).raw
        if len(ids) < size:
            break
    return done
