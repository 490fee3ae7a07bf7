"""The incident demo: loads fast, is idempotent, and tells the story the demo needs (every status,
90 days of history, the major incidents, the end user's and the agent's work)."""

import datetime
import time

import pytest
from django.utils import timezone

from configuration import demo as cmdb_demo
from incidents import demo
from incidents.choices import OPEN_STATUSES, ConfirmationState, HoldReason, HopKind, Status
from incidents.models import (
    AssignmentHop,
    Category,
    Incident,
    IntakeQuestion,
    PostIncidentReview,
    RoutingRule,
    StatusPeriod,
    SwarmMember,
)
from itsm.models import ChangeRecord, TimelineEntry
from people import demo as people_demo
from people.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """Load the three demos once for the module (the story takes a few seconds), then roll back."""
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            people_demo.load_demo()
            cmdb_demo.load_demo()
            began = time.perf_counter()
            summary = demo.load_demo()
            seconds = time.perf_counter() - began
            yield {"summary": summary, "seconds": seconds}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_loads_a_few_hundred_incidents(loaded):
    # How long it takes is measured, not asserted (PERFORMANCE.md: timings belong in bench/).
    assert 280 <= Incident.objects.count() <= 340
    assert loaded["summary"].startswith(f"{Incident.objects.count()} incidents created")


def test_second_run_adds_nothing(loaded):
    counts = [
        model.objects.count()
        for model in (Incident, Category, IntakeQuestion, RoutingRule, TimelineEntry, ChangeRecord, User)
    ]

    summary = demo.load_demo()

    assert summary.startswith("0 incidents created")
    assert counts == [
        model.objects.count()
        for model in (Incident, Category, IntakeQuestion, RoutingRule, TimelineEntry, ChangeRecord, User)
    ]


def test_every_status_and_every_hold_reason(loaded):
    for status in Status.values:
        assert Incident.objects.filter(status=status).count() > 0, status
    for reason in HoldReason.values:
        assert Incident.objects.filter(status=Status.ON_HOLD, hold_reason=reason).exists(), reason
    assert set(Incident.objects.values_list("priority", flat=True)) >= {1, 2, 3, 4}


def test_spread_over_ninety_days_with_consistent_milestones(loaded):
    now = timezone.now()
    oldest = Incident.objects.order_by("created_at").first().created_at
    assert now - datetime.timedelta(days=92) < oldest < now - datetime.timedelta(days=60)
    assert Incident.objects.filter(created_at__gt=now - datetime.timedelta(days=2)).exists()
    for incident in Incident.objects.all():
        assert incident.created_at < now
        for later in (incident.responded_at, incident.resolved_at, incident.closed_at):
            assert later is None or incident.created_at <= later <= now, incident.number
        if incident.closed_at and incident.resolved_at:
            assert incident.resolved_at <= incident.closed_at, incident.number
    # Status periods, hops and timeline entries were moved with their incidents.
    assert not StatusPeriod.objects.filter(started_at__gt=now).exists()
    first = StatusPeriod.objects.order_by("started_at").first()
    assert first.started_at < now - datetime.timedelta(days=60)
    assert AssignmentHop.objects.filter(at__lt=now - datetime.timedelta(days=30)).exists()
    assert TimelineEntry.objects.filter(created_at__lt=now - datetime.timedelta(days=30)).exists()
    # Numbers grow with time.
    numbers = list(Incident.objects.order_by("created_at").values_list("number", flat=True))
    assert numbers[:50] == sorted(numbers[:50])


def test_resolved_awaiting_confirmation_are_recent_enough_not_to_auto_close(loaded):
    resolved = Incident.objects.filter(status=Status.RESOLVED)
    assert resolved.exists()
    assert all(i.confirmation == ConfirmationState.PENDING for i in resolved)
    assert not resolved.filter(resolved_at__lt=timezone.now() - datetime.timedelta(days=5)).exists()


def test_reassigned_escalated_and_reopened(loaded):
    assert Incident.objects.filter(reassignment_count__gt=0).count() >= 20
    assert AssignmentHop.objects.filter(kind=HopKind.HIERARCHICAL).exists()
    assert Incident.objects.filter(supplier__isnull=False).exists()
    assert Incident.objects.filter(reopen_count__gt=0).exists()


def test_major_incidents_duplicate_children_and_security(loaded):
    running = Incident.objects.get(short_description=demo.MAJOR_TITLE)
    assert running.is_major and running.status in OPEN_STATUSES
    assert SwarmMember.objects.filter(incident=running, removed_at__isnull=True).count() >= 3
    assert running.children.count() == 3
    assert (
        TimelineEntry.objects.filter(
            object_id=running.pk, kind=TimelineEntry.Kind.COMMENT, content_type__model="incident"
        ).count()
        >= 3
    )
    reviewed = PostIncidentReview.objects.get()
    assert reviewed.incident.is_major and reviewed.incident.status == Status.CLOSED
    assert reviewed.problem_requested and reviewed.completed_at is not None
    assert Incident.objects.filter(duplicate_of__isnull=False, status=Status.CLOSED).count() == 1
    assert Incident.objects.filter(is_security=True, status__in=OPEN_STATUSES).exists()


def test_the_demo_agent_and_end_user_have_something_to_see(loaded):
    agent, eve = User.objects.get(username="agent"), User.objects.get(username="enduser")
    assert Incident.objects.filter(assignee=agent, status__in=OPEN_STATUSES).count() >= 5
    mine = Incident.objects.filter(caller=eve)
    assert mine.count() >= 5
    assert mine.filter(status=Status.RESOLVED, confirmation=ConfirmationState.PENDING).exists()
    assert mine.filter(status__in=OPEN_STATUSES).exists()
    assert mine.filter(status=Status.CLOSED).exists()


def test_intake_script_with_a_known_fix_and_answers_stored(loaded):
    vpn = IntakeQuestion.objects.get(text="Are you on the latest VPN client?")
    assert vpn.fix_on_answer == "no" and "software centre" in vpn.fix_text
    assert Incident.objects.filter(intake_answers__contains=[{"question": vpn.pk, "answer": "no"}]).exists()
