"""The event console in the browser: an operator filters the alert groups, assigns one to a support
group and themselves, acknowledges it, and opens the raw events behind an alert."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from events import services
from events.models import AlertGroup
from tests.events.factories import at, event, make_source
from tests.incidents.factories import group_with

pytestmark = pytest.mark.e2e


@pytest.fixture
def alerts(transactional_db, agent):
    group_with(agent, name="NOC")
    source, token = make_source("prometheus")
    parsed = services.parse_generic(
        source,
        [
            event(resource="web-01", check="http", severity="critical", occurred_at=at(0)),
            event(resource="web-01", check="http", severity="critical", occurred_at=at(1), value=503),
            event(resource="db-01", check="disk", severity="warning", message="Disk 91% full"),
        ],
        received_at=at(2),
    )
    from django.db import transaction
    from django.utils.dateparse import parse_datetime

    with transaction.atomic():
        services.events_ingest(source=source, parsed=parsed, received_at=parse_datetime(at(2)))
    services.process_batch()
    return AlertGroup.objects.order_by("pk")


def test_operator_filters_assigns_acknowledges_and_reads_raw_events(page, shot, login, agent, alerts):
    login(agent)
    page.goto("/events/")
    groups = page.locator("#event-groups section")
    expect(groups).to_have_count(2)
    shot("console")

    page.locator("#id_severity").select_option("warning")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"severity=warning"))
    expect(groups).to_have_count(1)
    expect(groups.first).to_contain_text("db-01: disk")
    shot("filtered")

    page.locator("#id_severity").select_option("critical")
    page.get_by_role("button", name="Filter").click()
    web = groups.filter(has_text="web-01: http")
    expect(groups).to_have_count(1)
    web.get_by_label(re.compile("Support group for alert group")).fill("NOC")
    web.get_by_label(re.compile("Assignee")).fill(agent.username)
    web.get_by_role("button", name="Assign").click()
    expect(page.locator("#event-groups")).to_contain_text("assigned to NOC / agent1")
    expect(groups).to_have_count(1)  # the HTMX answer kept the filter
    web.get_by_role("button", name="Acknowledge").click()
    expect(web).to_contain_text("acknowledged by agent1")
    shot("assigned")
    group = AlertGroup.objects.get(title="web-01: http")
    assert group.assignee == agent and group.acknowledged_by == agent

    web.get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(re.compile(r"/events/alerts/\d+/events/$"))
    rows = page.locator("#alert-events tbody tr")
    expect(rows).to_have_count(2)
    rows.first.locator("summary").click()
    expect(rows.first.locator("pre")).to_contain_text('"value": 503')
    shot("raw-events")

    page.goto("/events/statistics/?since=2026-11-01&until=2026-11-30")
    expect(page.locator("#by-source")).to_contain_text("prometheus")
    expect(page.locator("#totals")).to_contain_text("Events received")
    shot("statistics")
