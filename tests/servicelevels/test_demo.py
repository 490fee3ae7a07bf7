"""The demo with service levels: policies loaded before the incidents, clocks rebuilt from each
incident's back-dated history, past breaches recorded without a flood of notifications."""

import pytest

from configuration import demo as cmdb_demo
from incidents import demo as incident_demo
from incidents import sla
from incidents.models import Incident
from itsm.models import Notification
from people import demo as people_demo
from servicelevels import demo
from servicelevels.models import Calendar, Clock, ClockState, Holiday, SLAPolicy

pytestmark = pytest.mark.django_db


def test_demo_policies_and_rebuilt_clocks():
    people_demo.load_demo()
    cmdb_demo.load_demo()
    demo.load_demo()
    assert demo.load_demo().endswith("0 SLA policies")  # idempotent
    assert SLAPolicy.objects.count() == 5
    office = Calendar.objects.get(name="London office hours")
    assert Holiday.objects.filter(calendar=office, name__icontains="Christmas").exists()
    incident_demo.load_demo()
    before = Notification.objects.count()
    summary = sla._load_demo()
    assert "SLA clocks" in summary
    assert Notification.objects.count() == before  # the past is recorded, nobody is told again
    incidents = Incident.objects.count()
    assert Clock.objects.filter(target="resolution").count() >= incidents * 0.9
    assert Clock.objects.filter(breached_at__isnull=False).exists()
    assert Clock.objects.filter(state=ClockState.MET).exists()
    running = Clock.objects.filter(state=ClockState.RUNNING, target="resolution").select_related(
        "content_type"
    )
    assert running.exists()
    open_incident = Incident.objects.get(pk=running.first().object_id)
    assert open_incident.resolve_due_at == running.first().deadline
