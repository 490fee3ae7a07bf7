"""Incident timers on a real Celery worker: auto-close runs twice and closes once; notifications
written in a transaction are e-mailed by the worker exactly once."""

import datetime
import time

import pytest
from django.utils import timezone

from incidents import services
from incidents.choices import ConfirmationState, Status
from incidents.models import Incident
from incidents.tasks import auto_close_resolved
from itsm import roles
from itsm.models import Notification, TimelineEntry
from itsm.tasks import deliver_notifications
from tests.factories import UserFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_auto_close_on_the_worker_is_idempotent(celery_worker_process, settings):
    queue = celery_worker_process
    agent = UserFactory(roles=[roles.AGENT])
    caller = UserFactory(roles=[roles.END_USER])
    incident = make_incident(agent, caller=caller)
    incident = services.incident_resolve(
        incident=incident,
        actor=agent,
        resolution_code="solved_workaround",
        resolution_notes="Cleared the cache",
    )
    stale = timezone.now() - datetime.timedelta(days=settings.INCIDENT_AUTO_CLOSE_DAYS + 1)
    Incident.objects.filter(pk=incident.pk).update(resolved_at=stale)

    first = auto_close_resolved.apply_async(queue=queue)
    second = auto_close_resolved.apply_async(queue=queue)
    assert _wait_for(lambda: Incident.objects.get(pk=incident.pk).status == Status.CLOSED)
    assert first.get(timeout=30) is None and second.get(timeout=30) is None  # ignore_result tasks
    incident.refresh_from_db()
    assert incident.confirmation == ConfirmationState.AUTO_CLOSED
    closings = TimelineEntry.objects.filter(object_id=incident.pk, body__contains="Closed automatically")
    assert closings.count() == 1


def test_notifications_are_emailed_once_by_the_worker(celery_worker_process):
    queue = celery_worker_process
    agent = UserFactory(roles=[roles.AGENT])
    caller = UserFactory(roles=[roles.END_USER])
    incident = make_incident(agent, caller=caller)
    services.incident_comment(incident=incident, actor=agent, body="We are on it")
    told = Notification.objects.get(recipient=caller)
    assert told.emailed_at is None
    for _ in range(3):
        deliver_notifications.apply_async(queue=queue)
    assert _wait_for(lambda: Notification.objects.get(pk=told.pk).emailed_at is not None)
    time.sleep(1)
    assert Notification.objects.filter(recipient=caller).count() == 1
