"""The daily rollup is exact: every figure equals the same sum over the facts, after creates, updates,
resolves, reopens and a full rebuild; and every widget gives the same table from the rollup as from
the facts (the hand-checked dataset of conftest.py)."""

import datetime
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards import queries, rollup
from dashboards.models import DailyRollup, DailyVolume, IncidentFact, RefreshState
from dashboards.services import facts_refresh
from incidents import services as incident_services
from incidents.models import Incident
from tests.dashboards.conftest import WEEK, at
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db


def _seconds(value) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(round(value, 3))).quantize(Decimal("0.001"))


def expected_rollup() -> dict:
    """The rollup worked out in Python from the facts, measure by measure (docs/dashboards.md)."""
    tz = timezone.get_current_timezone()
    sums: dict = defaultdict(lambda: defaultdict(int))
    for f in IncidentFact.objects.all():
        created = sums[(f.created_at.astimezone(tz).date(), f.group_id, f.priority, f.is_security)]
        created["logged"] += 1
        for target in ("response", "resolution"):
            for state in ("met", "breached", "running"):
                created[f"{target}_{state}"] += getattr(f, f"{target}_state") == state
        created["resolved_now"] += f.status in ("resolved", "closed")
        created["first_contact"] += f.first_contact_resolution
        created["reopened"] += f.reopen_count > 0
        created["problem_linked"] += f.has_problem
        created["portal"] += f.channel == "portal"
        created[f"hops_{min(f.reassignment_count, 5)}"] += 1
        for status in ("new", "in_progress", "on_hold"):
            created[f"seconds_{status}"] += _seconds(getattr(f, f"seconds_{status}"))
        if f.responded_at:
            created["responded"] += 1
            created["respond_seconds"] += _seconds((f.responded_at - f.created_at).total_seconds())
            if f.response_business_seconds is not None:
                created["response_clocked"] += 1
                created["response_business"] += _seconds(f.response_business_seconds)
        if f.resolved_at:
            resolved = sums[(f.resolved_at.astimezone(tz).date(), f.group_id, f.priority, f.is_security)]
            resolved["resolved"] += 1
            resolved["resolve_seconds"] += _seconds((f.resolved_at - f.created_at).total_seconds())
            if f.resolution_business_seconds is not None:
                resolved["resolution_clocked"] += 1
                resolved["resolution_business"] += _seconds(f.resolution_business_seconds)
        if f.done_at:
            sums[(f.done_at.astimezone(tz).date(), f.group_id, f.priority, f.is_security)]["done"] += 1
    return {key: {name: row.get(name, 0) for name in rollup.NAMES} for key, row in sums.items()}


def stored_rollup() -> dict:
    return {
        (r["day"], r["group_id"], r["priority"], r["is_security"]): {name: r[name] for name in rollup.NAMES}
        for r in DailyRollup.objects.values()
    }


def expected_volumes() -> dict:
    tz = timezone.get_current_timezone()
    volumes: dict = defaultdict(lambda: defaultdict(int))
    for f in IncidentFact.objects.all():
        for dimension, key in (("category", f.category_id), ("service", f.service_id)):
            row = volumes[(f.created_at.astimezone(tz).date(), dimension, key, f.is_security)]
            row["logged"] += 1
            for target in ("response", "resolution"):
                for state in ("met", "breached"):
                    row[f"{target}_{state}"] += getattr(f, f"{target}_state") == state
    return {key: {name: row[name] for name in rollup.VOLUME_MEASURES} for key, row in volumes.items()}


def stored_volumes() -> dict:
    return {
        (v["day"], v["dimension"], v["key_id"], v["is_security"]): {
            name: v[name] for name in rollup.VOLUME_MEASURES
        }
        for v in DailyVolume.objects.values()
    }


def test_the_rollup_equals_the_facts_through_creates_updates_resolves_reopens_and_a_rebuild(dataset):
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    assert DailyRollup.objects.filter(day=datetime.date(2026, 11, 2)).exists()
    # Create, move to another day and group, respond, resolve, reopen: each refresh keeps it exact.
    new = make_incident(dataset.agent, short_description="Printer jam")
    facts_refresh()
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    Incident.objects.filter(pk=new.pk).update(
        created_at=at(3, 14), assignment_group=dataset.infra, priority=2, service=dataset.erp
    )
    incident_services.incident_comment(incident=new, actor=dataset.agent, body="moved")
    facts_refresh()
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    new.refresh_from_db()
    incident_services.incident_resolve(
        incident=new,
        actor=dataset.agent,
        resolution_code="solved_permanently",
        resolution_notes="Cleared the jam",
    )
    facts_refresh()
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    assert IncidentFact.objects.get(pk=new.pk).resolved_at is not None
    new.refresh_from_db()
    incident_services.incident_reopen(incident=new, actor=dataset.agent, reason="Jammed again")
    facts_refresh()
    assert IncidentFact.objects.get(pk=new.pk).reopen_count == 1
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    facts_refresh(full=True)  # rewrites open status periods up to now: the facts move, the rollup with them
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()


def test_an_incident_deleted_outright_leaves_the_rollup(dataset):
    gone = Incident.objects.filter(status="resolved").order_by("pk").first()
    day = timezone.localtime(gone.created_at).date()
    logged = DailyRollup.objects.filter(day=day).values_list("logged", flat=True)
    before = sum(logged)
    gone.delete()
    assert not IncidentFact.objects.filter(pk=gone.pk).exists()
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()
    assert sum(DailyRollup.objects.filter(day=day).values_list("logged", flat=True)) == before - 1
    facts_refresh()  # nothing left to do, nothing undone
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()


def test_a_new_time_zone_rebuilds_the_rollup_in_its_local_days(dataset, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    facts_refresh()
    assert RefreshState.objects.get().rollup_time_zone == "Pacific/Auckland"
    assert stored_rollup() == expected_rollup() and stored_volumes() == expected_volumes()


ROLLUP_WIDGETS = {
    "sla_attainment": lambda user, scope: queries.sla_attainment(user, scope),
    "sla_by_priority": lambda user, scope: queries.sla_by(user, scope, "priority"),
    "sla_by_group": lambda user, scope: queries.sla_by(user, scope, "group"),
    "sla_by_service": lambda user, scope: queries.sla_by(user, scope, "service"),
    "sla_by_month": lambda user, scope: queries.sla_by_month(user, scope),
    "time_in_status": lambda user, scope: queries.time_in_status(user, scope),
    "flow": lambda user, scope: queries.flow(user, scope),
    "times": lambda user, scope: queries.times(user, scope),
    "quality": lambda user, scope: queries.quality(user, scope),
    "hops": lambda user, scope: queries.hops(user, scope),
    "problem_links": lambda user, scope: queries.problem_links(user, scope),
    "self_help": lambda user, scope: queries.self_help(user, scope),
    "self_help_by_period": lambda user, scope: queries.self_help_by_period(user, scope),
    "volume_by_category": lambda user, scope: queries.volume_by(user, scope, "category"),
    "volume_by_service": lambda user, scope: queries.volume_by(user, scope, "service"),
}


def _facts_only():
    """The rollup disowned (it counts in another time zone): every sum is read from the facts."""
    RefreshState.objects.filter(pk=1).update(rollup_time_zone="Etc/GMT+5")


@pytest.mark.parametrize("name", sorted(ROLLUP_WIDGETS))
def test_each_widget_gives_the_same_table_from_the_rollup_and_from_the_facts(dataset, manager_user, name):
    from itsm import roles
    from tests.factories import UserFactory

    security = UserFactory(roles=[roles.MANAGER, roles.SECURITY])
    widget = ROLLUP_WIDGETS[name]
    scopes = [
        WEEK,
        replace(WEEK, group_id=dataset.infra.pk),
        replace(WEEK, priority=2),
        replace(WEEK, since=datetime.date(2026, 10, 1)),
        replace(WEEK, since=datetime.date(2025, 11, 9)),
    ]
    # The caller of security incident F sees it in every figure, through the facts beside the rollup.
    caller_manager = dataset.caller
    caller_manager.groups.add(*manager_user.groups.all())
    people = [manager_user, security, caller_manager]
    from_rollup = [widget(user, scope).values() for user in people for scope in scopes]
    _facts_only()
    from_facts = [widget(user, scope).values() for user in people for scope in scopes]
    assert from_rollup == from_facts
    assert any(any(row for row in table) for table in from_rollup)


def test_the_rollup_answers_without_reading_the_facts_when_the_filters_allow(dataset, manager_user):
    with CaptureQueriesContext(connection) as read:
        queries.quality(manager_user, WEEK)
    (query,) = [q for q in read.captured_queries if "dashboards_dailyrollup" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {query['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The facts' branch is skipped by its one-time filter (the rollup counts in this time zone).
    assert "dashboards_dailyrollup" in plan and "never executed" in plan, plan


def test_query_counts_are_pinned(dataset, manager_user, settings):
    settings.DASHBOARDS_CACHE_SECONDS = 0
    counts = {}
    for name in queries.DASHBOARDS:
        with CaptureQueriesContext(connection) as captured:
            queries.dashboard(name, manager_user, WEEK)
        counts[name] = len(captured)
    assert counts == PINNED


# The queries of each dashboard's widgets (not the page's session, user and form queries) with this
# dataset; from RANK_FROM values a median is one query more (bench: SLA 20-22, backlog 14).
PINNED = {"sla": 18, "backlog": 12, "trends": 9, "satisfaction": 9, "events": 6}


@pytest.mark.parametrize("name", ["times", "time_in_status"])
def test_medians_read_by_rank_equal_percentile_cont(dataset, manager_user, monkeypatch, name):
    # More values, some equal, an even and an odd count: both ways give PERCENTILE_CONT's median.
    for hours in (1, 1, 3, 5):
        row = make_incident(dataset.agent)
        Incident.objects.filter(pk=row.pk).update(
            created_at=at(4, 9),
            status="resolved",
            responded_at=at(4, 9 + hours),
            resolved_at=at(4, 9 + 2 * hours),
        )
    facts_refresh(full=True)
    widget = ROLLUP_WIDGETS[name]
    scopes = [WEEK, replace(WEEK, group_id=dataset.infra.pk), replace(WEEK, since=datetime.date(2026, 11, 4))]
    sorted_ = [widget(manager_user, scope).values() for scope in scopes]
    monkeypatch.setattr(queries, "RANK_FROM", 0)
    assert [widget(manager_user, scope).values() for scope in scopes] == sorted_


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "facts_only"])
def test_sums_and_volumes_under_each_filter_count_the_facts_the_person_may_see(dataset, manager_user, stored):
    # The caller of security incident F sees it (through the facts beside the stored rows); the manager does not.
    caller_manager = dataset.caller
    caller_manager.groups.add(*manager_user.groups.all())
    if not stored:
        _facts_only()
    scopes = [
        WEEK,
        replace(WEEK, group_id=dataset.infra.pk),
        replace(WEEK, priority=2),
        replace(WEEK, service_id=dataset.mail.pk),
        replace(WEEK, organisation_id=dataset.org.pk),
    ]
    seen = {}
    for user in (manager_user, caller_manager):
        for scope in scopes:
            facts = list(scope.created(user))  # the ORM's filters and visibility (Scope.facts)
            assert rollup.sums(user, scope, ["logged"])[None]["logged"] == len(facts)
            seen[user.pk, scope] = len(facts)
            for dimension, field in rollup.VOLUMES.items():
                expected = defaultdict(int)
                for f in facts:
                    expected[getattr(f, field)] += 1
                got = {
                    key: row["logged"]
                    for (key, _), row in rollup.volumes(user, scope, dimension, None, ["logged"]).items()
                }
                assert got == dict(expected), (user, scope, dimension)
    assert seen[caller_manager.pk, WEEK] == seen[manager_user.pk, WEEK] + 1  # F
