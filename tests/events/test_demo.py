"""The events demo: a source whose token is never shown, rules, a maintenance window, checks on demo
CIs, and a week of events processed through the pipeline into groups with history; idempotent."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from configuration import demo as cmdb_demo
from events import demo, stats
from events.models import Alert, AlertGroup, Check, Event, EventSource, MaintenanceWindow, Rule
from incidents.models import Incident
from people import demo as people_demo

pytestmark = pytest.mark.django_db


def test_the_demo_tells_its_story_and_loads_once(caplog, agent):
    people_demo.load_demo()
    cmdb_demo.load_demo()
    with caplog.at_level(logging.DEBUG):
        summary = demo.load_demo()
    source = EventSource.objects.get(name=demo.SOURCE)
    assert "evt_" not in summary and source.token_prefix not in summary
    assert source.token_prefix not in caplog.text and "evt_" not in caplog.text  # no token in the logs
    assert Rule.objects.count() == 4 and MaintenanceWindow.objects.count() == 1
    assert Check.objects.filter(enabled=True).count() == 1 and Check.objects.count() == 3

    backup = Alert.objects.get(resource="srv-backup-01")
    assert backup.count == 12 and backup.dedup_key == "srv-backup-01:backup"
    db_group = AlertGroup.objects.get(ci__name="payroll-db", state="open")
    assert db_group.incident is not None and db_group.opened_at < timezone.now()
    symptom = Alert.objects.get(check_name="http_5xx_rate")
    assert symptom.group == db_group and symptom.is_symptom and symptom.ci.name == "PayFlow payroll"
    closed = AlertGroup.objects.get(ci__name="srv-db-01")
    assert closed.state == "closed" and closed.incident.status == "resolved"
    assert (timezone.now() - closed.opened_at).days >= 3  # backdated with its alerts
    assert not Event.objects.filter(resource="vm-shop-test-01").exists()  # dropped by the rule
    assert Event.objects.filter(classification="informational").count() == 2
    week = stats.statistics(
        agent, since=timezone.localdate() - timezone.timedelta(days=8), until=timezone.localdate()
    )
    assert len(week.by_day) >= 5 and week.total.incidents == Incident.objects.count() >= 2

    counts = (Event.objects.count(), AlertGroup.objects.count(), Rule.objects.count())
    assert demo.load_demo().startswith("already loaded")
    assert (Event.objects.count(), AlertGroup.objects.count(), Rule.objects.count()) == counts
