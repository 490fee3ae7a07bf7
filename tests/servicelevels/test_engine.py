"""The service-level engine on incidents: policy choice, clocks started, paused, resumed, switched and
met from incident changes; the sweep records thresholds, breaches and escalation steps exactly once."""

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from incidents import services as incidents
from incidents.models import Incident
from itsm import roles
from itsm.models import Notification
from servicelevels import calendars, queries
from servicelevels.models import (
    BusinessHours,
    Calendar,
    Clock,
    ClockEvent,
    ClockState,
    EscalationPolicy,
    EscalationStep,
    SLAPolicy,
    StepAction,
    Target,
)
from servicelevels.services import Facts, policy_for, sweep, sync_clocks
from tests.factories import SupportGroupFactory, UserFactory
from tests.incidents.factories import CategoryFactory, group_with, make_incident
from tests.kernelapp.models import Ticket

pytestmark = pytest.mark.django_db
H = 3600


@pytest.fixture(autouse=True)
def _fresh_schedules():
    calendars.forget()
    yield
    calendars.forget()


@pytest.fixture
def always():
    return Calendar.objects.create(name="24x7", is_24x7=True)


@pytest.fixture
def office():
    calendar = Calendar.objects.create(name="Office", time_zone="Europe/Berlin")
    for day in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, start=datetime.time(8), end=datetime.time(17)
        )
    return calendar


def policy(calendar, **kwargs):
    defaults = {"name": f"P{SLAPolicy.objects.count()}", "response_minutes": 60, "resolution_minutes": 240}
    return SLAPolicy.objects.create(calendar=calendar, **{**defaults, **kwargs})


def clock_of(incident, target=Target.RESOLUTION):
    return Clock.objects.exclude(state=ClockState.CANCELLED).get(object_id=incident.pk, target=target)


def test_first_matching_policy_by_order_wins(always):
    network = CategoryFactory(name="Network")
    generic = policy(always, name="Everything", order=100)
    p1 = policy(always, name="P1", order=10, priorities=[1])
    net = policy(always, name="Network by phone", order=20, categories=["Network"], channels=["phone"])
    assert policy_for(Facts(priority=1)) == p1
    assert policy_for(Facts(priority=3, categories=("Network",), channel="phone")) == net
    assert policy_for(Facts(priority=3, categories=("Network",), channel="email")) == generic
    generic.is_active = False
    generic.save()
    assert policy_for(Facts(priority=4)) is None
    assert network.name == "Network"


def test_logging_an_incident_starts_its_clocks_and_sets_the_due_dates(agent, always):
    policy(always, update_minutes=30)
    incident = make_incident(agent)
    incident.refresh_from_db()
    resolution = clock_of(incident)
    assert resolution.state == ClockState.RUNNING
    assert resolution.deadline == incident.created_at + datetime.timedelta(hours=4)
    assert incident.resolve_due_at == resolution.deadline
    assert incident.response_due_at == incident.created_at + datetime.timedelta(hours=1)
    assert clock_of(incident, Target.UPDATE).state == ClockState.RUNNING


def test_response_is_met_when_someone_responds_and_update_clock_restarts(agent, always):
    policy(always, update_minutes=30)
    incident = make_incident(agent)
    incidents.incident_comment(incident=incident, actor=agent, body="Looking into it")
    assert clock_of(incident, Target.RESPONSE).state == ClockState.MET
    updates = Clock.objects.filter(object_id=incident.pk, target=Target.UPDATE).order_by("started_at")
    assert [c.state for c in updates] == [ClockState.MET, ClockState.RUNNING]
    assert Incident.objects.get(pk=incident.pk).response_due_at is None


def test_hold_awaiting_user_pauses_and_resuming_moves_the_deadline_by_the_pause(agent, always):
    policy(always)
    incident = make_incident(agent)
    incident = incidents.incident_hold(incident=incident, actor=agent, hold_reason="awaiting_user")
    paused = clock_of(incident)
    assert paused.state == ClockState.PAUSED and paused.deadline is None
    assert Incident.objects.get(pk=incident.pk).resolve_due_at is None
    incident = incidents.incident_start(incident=incident, actor=agent)
    assert clock_of(incident).state == ClockState.RUNNING
    # Awaiting a change does not pause (the default pause_on is user and supplier only).
    incident = incidents.incident_hold(incident=incident, actor=agent, hold_reason="awaiting_change")
    assert clock_of(incident).state == ClockState.RUNNING


def test_a_pause_across_closing_time_moves_the_deadline_by_business_time_only(office):
    """The engine alone, on a test record, at chosen instants: Monday 09:00 Berlin, 9 h target, hours 08-17."""
    policy(office, response_minutes=None, resolution_minutes=9 * 60)
    ticket = Ticket.objects.create(title="generic record")
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=berlin)
    running = Facts(priority=3, status="in_progress", started_at=start)
    (clock,) = sync_clocks(record=ticket, facts=running, now=start)
    assert clock.deadline == datetime.datetime(2026, 3, 3, 9, 0, tzinfo=berlin)
    pause = datetime.datetime(2026, 3, 2, 16, 0, tzinfo=berlin)
    sync_clocks(
        record=ticket, facts=Facts(priority=3, status="on_hold:awaiting_user", started_at=start), now=pause
    )
    assert (
        sync_clocks(
            record=ticket,
            facts=Facts(priority=3, status="on_hold:awaiting_user", started_at=start),
            now=pause,
        )[0].state
        == ClockState.PAUSED
    )  # idempotent
    resume = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=berlin)
    (clock,) = sync_clocks(record=ticket, facts=running, now=resume)
    # Paused 1 h on Monday and 2 h on Tuesday of business time: the deadline moves 3 business hours.
    assert clock.deadline == datetime.datetime(2026, 3, 3, 12, 0, tzinfo=berlin)
    assert clock.elapsed_seconds == 7 * H
    assert [e.kind for e in clock.events.order_by("id")] == ["started", "paused", "resumed"]


def test_priority_change_switches_policy_and_keeps_elapsed_time(agent, always):
    policy(always, name="Standard", order=20, resolution_minutes=480)
    policy(always, name="Urgent", order=10, priorities=[1, 2], resolution_minutes=120)
    incident = make_incident(agent, impact=3, urgency=3)
    clock = clock_of(incident)
    assert clock.policy.name == "Standard"
    # 80 % of the standard target has elapsed.
    Clock.objects.filter(pk=clock.pk).update(
        running_since=clock.running_since - datetime.timedelta(seconds=int(0.8 * 480 * 60))
    )
    incident = incidents.incident_update(
        incident=incident, actor=agent, changes={"impact": 1, "urgency": 1}, reason="Whole floor affected"
    )
    switched = clock_of(incident)
    assert switched.policy.name == "Urgent" and switched.target_seconds == 120 * 60
    assert switched.elapsed_seconds == pytest.approx(0.8 * 480 * 60, abs=5)
    assert switched.deadline <= timezone.now()  # already past the urgent target
    change = switched.events.get(kind="policy_changed")
    assert change.detail["old"]["policy"] == "Standard" and change.detail["new"]["policy"] == "Urgent"


def test_resolve_meets_and_reopen_resumes_with_the_time_counted(agent, always):
    policy(always)
    incident = make_incident(agent)
    incident = incidents.incident_resolve(
        incident=incident, actor=agent, resolution_code="solved_workaround", resolution_notes="Done"
    )
    assert clock_of(incident).state == ClockState.MET
    incident = incidents.incident_reopen(incident=incident, actor=agent, reason="Back again")
    clock = clock_of(incident)
    assert clock.state == ClockState.RUNNING
    assert [e.kind for e in clock.events.order_by("id")] == ["started", "met", "resumed"]
    cancelled = incidents.incident_cancel(
        incident=make_incident(agent), actor=agent, reason="Not an incident"
    )
    assert not Clock.objects.filter(object_id=cancelled.pk).exclude(state="cancelled").exists()


def test_sweep_records_each_threshold_and_the_breach_once_and_notifies_once(agent, always):
    policy(always, resolution_minutes=100, response_minutes=None, warning_percents=[50, 75])
    desk = group_with(agent)
    incident = make_incident(agent, assignment_group=desk, assignee=agent)
    clock = clock_of(incident)
    at_60 = clock.started_at + datetime.timedelta(minutes=60)
    result = sweep(now=at_60)
    assert result.events == 1
    assert sweep(now=at_60).events == 0  # again: nothing new
    assert list(ClockEvent.objects.filter(clock=clock).exclude(key="").values_list("key", flat=True)) == [
        "threshold:50"
    ]
    after = clock.started_at + datetime.timedelta(minutes=130)
    assert sweep(now=after).events == 2  # 75 % and the breach
    clock.refresh_from_db()
    assert clock.breached_at == clock.started_at + datetime.timedelta(minutes=100)
    assert Notification.objects.filter(recipient=agent, subject__startswith="SLA resolution").count() == 3
    assert sweep(now=after).events == 0
    assert Notification.objects.filter(recipient=agent, subject__startswith="SLA").count() == 3
    view = queries.clocks_for(incident, now=after)[0]
    assert view.risk == "breached" and "Policy" in view.explanation


def test_escalation_steps_run_once_repeat_and_wait_for_business_hours(agent, manager, office):
    escalation = EscalationPolicy.objects.create(name="Tell the manager")
    EscalationStep.objects.create(
        policy=escalation,
        at_percent=100,
        action=StepAction.NOTIFY_MANAGER,
        repeat_every_minutes=60,
        max_repeats=1,
    )
    policy(
        office,
        resolution_minutes=60,
        response_minutes=None,
        warning_percents=[],
        escalation_policy=escalation,
    )
    desk = group_with(agent, manager=manager)
    incident = make_incident(agent, assignment_group=desk)
    clock = clock_of(incident)
    # Place the clock on a Monday 15:30 Berlin: the breach falls at 16:30, the repeat at 17:30 (closed).
    monday = datetime.datetime(2026, 3, 2, 15, 30, tzinfo=datetime.UTC) - datetime.timedelta(hours=1)
    Clock.objects.filter(pk=clock.pk).update(
        started_at=monday,
        running_since=monday,
        deadline=monday + datetime.timedelta(hours=1),
        next_check_at=monday,
    )
    breach_time = monday + datetime.timedelta(hours=1)
    sweep(now=breach_time + datetime.timedelta(minutes=1))
    told = Notification.objects.filter(recipient=manager, subject__startswith="Escalation")
    assert told.count() == 1
    evening = breach_time + datetime.timedelta(hours=1, minutes=5)  # 17:35 local: closed
    result = sweep(now=evening)
    assert result.deferred == 1 and told.count() == 1
    clock.refresh_from_db()
    assert clock.next_check_at.astimezone(datetime.UTC).hour == 7  # Tuesday 08:00 Berlin
    sweep(now=clock.next_check_at + datetime.timedelta(seconds=1))
    assert told.count() == 2
    assert sweep(now=clock.next_check_at + datetime.timedelta(hours=5)).events == 0


def test_reassign_and_raise_priority_steps_act_through_incident_services(agent, always):
    takeover = SupportGroupFactory(name="Second line")
    escalation = EscalationPolicy.objects.create(name="Act")
    EscalationStep.objects.create(policy=escalation, order=1, at_percent=50, action=StepAction.RAISE_PRIORITY)
    EscalationStep.objects.create(
        policy=escalation, order=2, at_percent=100, action=StepAction.REASSIGN, group=takeover
    )
    policy(
        always,
        resolution_minutes=60,
        response_minutes=None,
        warning_percents=[],
        escalation_policy=escalation,
    )
    incident = make_incident(agent, assignment_group=group_with(agent), impact=3, urgency=3)
    start = clock_of(incident).started_at
    sweep(now=start + datetime.timedelta(minutes=31))
    incident.refresh_from_db()
    assert incident.priority == 3 and incident.urgency == 2
    sweep(now=start + datetime.timedelta(minutes=120))
    incident.refresh_from_db()
    assert incident.assignment_group == takeover and incident.reassignment_count == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_everything_exactly_once():
    calendar = Calendar.objects.create(name="24x7", is_24x7=True)
    policy(calendar, resolution_minutes=10, response_minutes=None, warning_percents=[50, 75, 90])
    agent = UserFactory(roles=[roles.AGENT])
    group = group_with(agent)
    made = [make_incident(agent, assignment_group=group, assignee=agent) for _ in range(40)]
    later = timezone.now() + datetime.timedelta(minutes=30)
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            sweep(now=later, batch=7)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ClockEvent.objects.exclude(key="").count() == 40 * 4
    assert Notification.objects.filter(recipient=agent).count() == 40 * 4
    assert len(made) == 40


def test_rebuild_replays_the_status_history_without_notifying(agent, always):
    from incidents import sla
    from incidents.models import StatusPeriod

    policy(always, response_minutes=None, resolution_minutes=7 * 60, warning_percents=[50])
    incident = make_incident(agent, assignment_group=group_with(agent), assignee=agent)
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(created_at=now - datetime.timedelta(hours=10))
    StatusPeriod.objects.filter(incident=incident).delete()
    for status, reason, start, end in (
        ("new", "", 10, 8),
        ("on_hold", "awaiting_user", 8, 6),
        ("in_progress", "", 6, None),
    ):
        StatusPeriod.objects.create(
            incident=incident,
            status=status,
            hold_reason=reason,
            started_at=now - datetime.timedelta(hours=start),
            ended_at=now - datetime.timedelta(hours=end) if end else None,
        )
    Incident.objects.filter(pk=incident.pk).update(status="in_progress")
    before = Notification.objects.count()
    sla.rebuild(Incident.objects.get(pk=incident.pk))
    clock = clock_of(incident)
    # 2 h before the pause + 6 h since: 8 h of a 7 h target, so it breached an hour ago.
    assert clock.elapsed_at(timezone.now(), calendars.schedule_for(clock.calendar)) == pytest.approx(
        8 * H, abs=60
    )
    assert abs((clock.breached_at - (now - datetime.timedelta(hours=1))).total_seconds()) < 60
    assert sorted(clock.events.exclude(key="").values_list("key", flat=True)) == ["breach", "threshold:50"]
    assert Notification.objects.count() == before
    assert Incident.objects.get(pk=incident.pk).resolve_due_at == clock.deadline
