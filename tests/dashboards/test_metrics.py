"""Each figure against the hand-checked dataset of conftest.py (values worked out in its table)."""

import pytest

from dashboards import queries
from dashboards.models import IncidentFact, PendingFact
from dashboards.services import facts_refresh
from incidents import services as incident_services
from servicelevels.models import Clock
from tests.dashboards.conftest import WEEK

pytestmark = pytest.mark.django_db


def values(table, key="") -> dict:
    """First column -> the row's values by column key."""
    first = table.columns[0].key
    return {row[first]: row for row in table.values()}


def test_the_engine_counted_business_time_across_the_pause(dataset):
    # B: 0.5 h on Monday before the pause, 6.75 h on Tuesday after it; the wall clock says 24.75 h.
    clock = Clock.objects.get(object_id=dataset.B.pk, target="resolution")
    assert clock.elapsed_seconds == 7.25 * 3600
    fact = IncidentFact.objects.get(pk=dataset.B.pk)
    assert fact.resolution_state == "met" and fact.resolution_business_seconds == 7.25 * 3600
    assert fact.seconds_on_hold == 17.5 * 3600


def test_sla_attainment(dataset, manager_user):
    table = values(queries.sla_attainment(manager_user, WEEK))
    assert table["Response"] == {
        "target": "Response",
        "met": 3,
        "breached": 2,
        "running": 0,
        "at_risk": 0,
        "attainment": 60.0,
    }
    # B met its resolution target only because the pause awaiting the user did not count.
    assert table["Resolution"] == {
        "target": "Resolution",
        "met": 3,
        "breached": 2,
        "running": 0,
        "at_risk": 0,
        "attainment": 60.0,
    }


def test_sla_by_group_priority_service_and_month(dataset, manager_user):
    by_group = values(queries.sla_by(manager_user, WEEK, "group"))
    assert by_group["Desk"]["resolution_met"] == 3 and by_group["Desk"]["resolution_breached"] == 0
    assert by_group["Infra"]["response_breached"] == 2 and by_group["Infra"]["resolution_attainment"] == 0.0
    by_priority = values(queries.sla_by(manager_user, WEEK, "priority"))
    assert by_priority["P2 - High"]["resolution_met"] == 2
    assert by_priority["P3 - Moderate"]["resolution_breached"] == 2
    assert by_priority["P4 - Low"]["response_attainment"] == 100.0
    by_service = values(queries.sla_by(manager_user, WEEK, "service"))
    assert by_service["Mail"]["response_met"] == 3 and by_service["ERP"]["response_met"] == 0
    month = values(queries.sla_by_month(manager_user, WEEK))
    assert month["2026-11"]["response_attainment"] == 60.0


def test_breaches_say_what_was_going_on(dataset, manager_user):
    table = queries.breaches(manager_user, WEEK)
    rows = {row["incident"]: row for row in table.values()}
    assert set(rows) == {dataset.C.number, dataset.D.number}
    assert rows[dataset.C.number]["target"] == "response, resolution"
    assert "2 reassignment(s)" in rows[dataset.C.number]["cause"]


def test_times_wall_clock_and_business(dataset, manager_user):
    table = values(queries.times(manager_user, WEEK))
    resolve = table["Time to resolve"]
    # Resolved in the week: A 6 h, B 24.75 h, C 48 h, E 0.33 h wall-clock; business 6, 7.25, 16, 0.33.
    assert resolve["incidents"] == 4 and resolve["with_clock"] == 4
    assert resolve["mean_hours"] == 19.8 and resolve["median_hours"] == 15.4
    assert resolve["business_mean_hours"] == 7.4 and resolve["business_median_hours"] == 6.6
    respond = table["Time to respond"]
    # A 0.5, B 0.17, C 2, E 0.08 h (D not responded).
    assert respond["incidents"] == 4 and respond["mean_hours"] == 0.7 and respond["median_hours"] == 0.3


def test_quality_hops_and_time_in_status(dataset, manager_user):
    quality = values(queries.quality(manager_user, WEEK))
    assert quality["Logged"]["incidents"] == 5
    assert quality["Resolved"]["incidents"] == 4
    assert quality["First-contact resolution"] == {
        "measure": "First-contact resolution",
        "incidents": 1,
        "rate": 25.0,
    }
    assert quality["Reopened at least once"]["rate"] == 25.0
    hops = values(queries.hops(manager_user, WEEK))
    assert hops["0"]["incidents"] == 4 and hops["0"]["share"] == 80.0 and hops["2"]["incidents"] == 1
    status = values(queries.time_in_status(manager_user, WEEK))
    assert status["On hold"]["mean_hours"] == 3.5  # B's 17.5 h over 5 incidents


def test_backlog_flow_and_ages(dataset, manager_user):
    flow = values(queries.flow(manager_user, WEEK))
    assert flow["2026-11-02"] == {"period": "2026-11-02", "created": 3, "resolved": 1, "open": 2}
    assert flow["2026-11-03"] == {"period": "2026-11-03", "created": 2, "resolved": 2, "open": 2}
    assert flow["2026-11-04"]["open"] == 1 and flow["2026-11-08"]["open"] == 1
    by_group = values(queries.backlog_by_group(manager_user, WEEK))
    assert by_group["Infra"]["total"] == 1 and by_group["Infra"]["p3"] == 1
    ages = values(queries.age_buckets(manager_user, WEEK))
    assert ages["Over 30 days"]["open"] == 0 and ages["7-30 days"]["open"] == 1


def test_trends(dataset, manager_user):
    volume = queries.volume_by(manager_user, WEEK, "service")
    assert [c.label for c in volume.columns[1:]] == ["Mail", "ERP"]
    monday = values(volume)["2026-11-02"]
    assert monday[f"service_{dataset.mail.pk}"] == 2 and monday[f"service_{dataset.erp.pk}"] == 1


def test_security_incidents_only_for_the_security_team(dataset, manager_user):
    from itsm import roles
    from tests.factories import UserFactory

    security = UserFactory(roles=[roles.MANAGER, roles.SECURITY])
    assert values(queries.quality(security, WEEK))["Logged"]["incidents"] == 6
    assert values(queries.quality(manager_user, WEEK))["Logged"]["incidents"] == 5


def test_filters_narrow_every_figure(dataset, manager_user):
    from dataclasses import replace

    infra = replace(WEEK, group_id=dataset.infra.pk)
    assert values(queries.sla_attainment(manager_user, infra))["Resolution"]["breached"] == 2
    assert values(queries.sla_attainment(manager_user, infra))["Resolution"]["met"] == 0
    p2 = replace(WEEK, priority=2)
    assert values(queries.quality(manager_user, p2))["Logged"]["incidents"] == 2
    org = replace(WEEK, organisation_id=dataset.org.pk)
    assert values(queries.quality(manager_user, org))["Logged"]["incidents"] == 5


def test_refresh_is_incremental_and_idempotent(dataset, agent):
    PendingFact.objects.all().delete()
    assert facts_refresh().rows == 0
    incident_services.incident_comment(incident=dataset.D, actor=dataset.other_agent, body="Working on it")
    assert PendingFact.objects.filter(incident_id=dataset.D.pk).exists()
    assert facts_refresh().rows == 1
    assert not PendingFact.objects.exists()
    fact = IncidentFact.objects.get(pk=dataset.D.pk)
    assert fact.responded_at is not None
    before = list(IncidentFact.objects.order_by("pk").values())
    facts_refresh(full=True)
    after = list(IncidentFact.objects.order_by("pk").values())
    assert [{k: v for k, v in row.items() if k != "refreshed_at"} for row in before] == [
        {k: v for k, v in row.items() if k != "refreshed_at"} for row in after
    ]


def test_refresh_keeps_the_medians_breach_prediction_reads(dataset):
    from dashboards.models import RefreshState

    medians = RefreshState.objects.get().resolution_medians
    # Desk, P2: G 3 h, A 6 h and B 7.25 h of business time (B's pause not counted).
    assert medians[f"{dataset.desk.pk}:2"] == [6 * 3600, 3]
    # Infra, P3: C 16 h and F 0.5 h (a security incident: medians are the group's, like servicelevels').
    assert medians[f"{dataset.infra.pk}:3"] == [8.25 * 3600, 2]


def test_events_over_a_long_range_show_its_most_recent_days(manager_user):
    import datetime

    from dashboards.filters import Scope
    from events import stats

    until = datetime.date(2026, 11, 8)
    long = Scope(since=until - datetime.timedelta(days=800), until=until)
    totals = queries.events(manager_user, long)[0]
    since = until - datetime.timedelta(days=stats.MAX_DAYS - 1)
    assert f"since={since.isoformat()}&until={until.isoformat()}" in totals.rows[0][1].url
    assert f"these are its last {stats.MAX_DAYS}" in totals.note
