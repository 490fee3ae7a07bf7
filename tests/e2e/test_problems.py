"""Problem management in the browser: an agent logs an incident, sees the matching known error in the
suggestions and applies its workaround (on the incident's page, in one click); a problem manager
accepts a problem proposed from recurring incidents."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from configuration.models import CIClass
from incidents.models import Incident
from problems import detection, services
from problems.models import Problem, WorkaroundUse
from tests.configuration.factories import CIFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.e2e


@pytest.fixture
def vpn_known_error(transactional_db, agent):
    return services.known_error_create(
        actor=agent,
        fields={
            "title": "VPN client drops after the laptop sleeps",
            "symptoms": "The VPN disconnects when the laptop wakes from sleep and does not reconnect",
        },
        workaround={
            "title": "Restart the VPN client",
            "symptoms": "VPN gone after sleep",
            "steps": "Quit GlobalProtect from the tray and start it again.",
        },
    )


def test_agent_sees_the_matching_known_error_and_applies_its_workaround(
    page, shot, login, agent, vpn_known_error
):
    login(agent)
    page.goto("/incidents/new/")
    page.locator("#id_short_description").press_sequentially("VPN disconnects after sleep", delay=10)
    suggestions = page.locator("#matching-known-errors")
    expect(suggestions).to_contain_text(vpn_known_error.number)
    expect(suggestions).to_contain_text("Why:")
    shot("suggested")
    page.get_by_role("button", name="Log incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get()
    panel = page.locator("#problems-panel")
    expect(panel).to_contain_text(vpn_known_error.number)
    panel.get_by_text("Workaround: Restart the VPN client").click()
    expect(panel).to_contain_text("Quit GlobalProtect")
    shot("panel")
    panel.get_by_role("button", name="Apply workaround").click()

    expect(page.locator("#messages")).to_contain_text(f"Applied the workaround of {vpn_known_error.number}")
    expect(page.locator("#workarounds-applied")).to_contain_text(vpn_known_error.number)
    expect(page.locator("#timeline")).to_contain_text("Quit GlobalProtect")
    shot("applied")
    use = WorkaroundUse.objects.get()
    assert use.incident == incident and use.applied_by == agent

    # Another caller, same symptoms: logged and the workaround applied in one click from the form.
    page.goto("/incidents/new/")
    page.locator("#id_short_description").press_sequentially("VPN gone after laptop sleep", delay=10)
    suggestions = page.locator("#matching-known-errors")
    expect(suggestions).to_contain_text(vpn_known_error.number)
    suggestions.get_by_role("button", name="Log and apply workaround").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    expect(page.locator("#workarounds-applied")).to_contain_text(vpn_known_error.number)
    shot("logged-and-applied")
    assert WorkaroundUse.objects.count() == 2


def test_problem_manager_accepts_a_proposed_problem(page, shot, login, agent, manager, transactional_db):
    server = CIClass.objects.get(slug="server")
    mail = CIFactory(name="mail-01", ci_class=server)
    texts = [
        "Mail queue stuck, emails not delivered",
        "Emails stuck in the mail queue",
        "Mail queue stuck again",
    ]
    incidents = [make_incident(agent, short_description=text, cis=[mail]) for text in texts]
    assert detection.detect_recurring().proposed == 1

    login(manager)
    page.goto("/problems/candidates/")
    card = page.locator("section", has_text="mail-01").first
    expect(card).to_contain_text("3 incidents")
    for incident in incidents:
        expect(card).to_contain_text(incident.number)
    shot("queue")
    card.get_by_role("button", name="Accept: raise a problem").click()

    expect(page).to_have_url(re.compile(r"/problems/\d+/$"))
    problem = Problem.objects.get()
    expect(page.get_by_role("heading", level=1)).to_contain_text(problem.number)
    expect(page.locator("#incidents")).to_contain_text(incidents[0].number)
    expect(page.locator("#problem-status")).to_contain_text("New")
    shot("problem")
    assert problem.source == "recurring_incidents" and problem.incident_links.count() == 3

    # The problem list shows it, highest risk first.
    page.goto("/problems/")
    expect(page.locator("table")).to_contain_text(problem.number)
