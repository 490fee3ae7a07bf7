"""Incident management in the browser: an agent logs an incident with an intake script, sees a
similar open incident suggested, assigns it, adds a work note and resolves it; the caller confirms
the resolution on their page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from itsm import roles
from tests.factories import UserFactory
from tests.incidents.factories import CategoryFactory, IntakeQuestionFactory, group_with, make_incident

pytestmark = pytest.mark.e2e


def open_action(page, name: str):
    """Open a quick action's panel and wait until Bootstrap's collapse has finished opening."""
    page.locator(f"#toggle-{name}").click()
    expect(page.locator(f"#action-{name}")).to_have_class(re.compile(r"\bshow\b"))
    return page.locator(f"#form-{name}")


@pytest.fixture
def desk_setup(transactional_db, agent):
    caller = UserFactory(username="jsmith", first_name="Jane", last_name="Smith", roles=[roles.END_USER])
    desk = group_with(agent, name="Service desk")
    email = CategoryFactory(name="E-mail")
    question = IntakeQuestionFactory(
        category=email,
        text="Does Outlook on the web work?",
        kind="yes_no",
        required=True,
        order=1,
        fix_on_answer="yes",
        fix_text="Repair the Outlook profile: Control Panel > Mail > Profiles > Repair.",
    )
    similar = make_incident(
        agent, short_description="Outlook crashes when opening attachments", assignment_group=desk
    )
    return {"caller": caller, "desk": desk, "category": email, "question": question, "similar": similar}


def test_agent_logs_assigns_notes_and_resolves_then_the_caller_confirms(page, shot, login, agent, desk_setup):
    caller, similar = desk_setup["caller"], desk_setup["similar"]
    login(agent)

    # Log: the suggestion appears while typing, the script follows the category.
    page.goto("/incidents/new/")
    page.locator("#id_caller").fill("jsmith")
    page.locator("#id_short_description").press_sequentially("Outlook crashes on attachments", delay=10)
    expect(page.locator("#caller-card")).to_contain_text("Jane Smith")
    suggestions = page.locator("#suggestions")
    expect(suggestions.get_by_role("link", name=similar.number)).to_be_visible()
    page.locator("#id_category").select_option(label="E-mail")
    question = page.get_by_label("Does Outlook on the web work?")
    expect(question).to_be_visible()
    question.select_option("yes")
    expect(page.locator("#classification")).to_contain_text("Repair the Outlook profile")
    page.locator("#id_impact").select_option("3")
    page.locator("#id_urgency").select_option("2")
    expect(page.locator("#priority-preview")).to_contain_text("P3")
    shot("create")
    page.get_by_role("button", name="Log incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.exclude(pk=similar.pk).get()
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident.number)
    expect(page.locator("#incident-fields")).to_contain_text("Jane Smith")
    expect(page.locator("main")).to_contain_text("Does Outlook on the web work?")
    shot("logged")

    # Assign to the desk and to the agent.
    form = open_action(page, "assign")
    form.get_by_label("Group").select_option(label="Service desk")
    form.get_by_label("Assignee").select_option(str(agent.pk))
    form.get_by_role("button", name="Assign").click()
    expect(page.locator("#messages")).to_contain_text(f"{incident.number} assigned.")
    expect(page.locator("#assigned-to")).to_contain_text(f"Service desk / {agent.get_full_name()}")

    # A work note, with the structured "actions planned".
    update = page.locator("#update-form")
    update.get_by_label("Update").fill("Profile corrupted after the client update.")
    update.get_by_role("button", name=re.compile("Structured update")).click()
    expect(page.locator("#structured-update")).to_have_class(re.compile(r"\bshow\b"))
    update.get_by_label("Actions planned").fill("Repair the profile with the user.")
    update.get_by_role("button", name="Add update").click()
    entry = page.locator("#timeline li").filter(has_text="Profile corrupted")
    expect(entry).to_contain_text("Work note")
    expect(entry).to_contain_text("Actions planned: Repair the profile with the user.")
    shot("work-note")

    # Resolve.
    form = open_action(page, "resolve")
    form.get_by_label("Resolution code").select_option("solved_permanently")
    form.get_by_label("Resolution notes").fill("Outlook profile repaired; attachments open again.")
    form.get_by_role("button", name="Resolve").click()
    expect(page.locator("#messages")).to_contain_text("is resolved")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resolved")
    page.evaluate("window.scrollTo(0, 0)")
    shot("resolved")

    # The caller confirms.
    page.context.clear_cookies()
    login(caller)
    page.goto(f"/incidents/{incident.pk}/confirm/")
    expect(page.locator("#resolution-notes")).to_contain_text("Outlook profile repaired")
    shot("caller-asked")
    page.get_by_role("button", name="Yes, it is solved").click()
    expect(page.locator("#messages")).to_contain_text("the incident is closed")
    expect(page.locator("#incident-state")).to_contain_text("thank you for confirming")
    shot("caller-confirmed")
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.confirmation == "confirmed"


def test_queue_filters_refresh_the_table_and_bulk_assigns(page, shot, login, agent, desk_setup):
    desk, similar = desk_setup["desk"], desk_setup["similar"]
    other = make_incident(agent, short_description="VPN drops every hour", impact=1, urgency=1)
    login(agent)
    page.goto("/incidents/")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(other.number)  # P1 first
    page.locator("#id_q").press_sequentially("vpn", delay=20)
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=vpn"))
    shot("filtered")

    page.locator("#id_q").fill("")
    page.locator("#id_q").press("Enter")
    expect(rows).to_have_count(2)

    # Sorting reloads the table only; the saved view keeps the current query.
    page.locator("#queue-table thead").get_by_role("link", name="Number").click()
    expect(page).to_have_url(re.compile(r"ordering=number"))
    expect(rows.first).to_contain_text(similar.number)
    page.get_by_role("button", name="Save this view").click()
    page.get_by_label("Name", exact=True).fill("By number")
    page.locator("#save-view").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-views").get_by_role("link", name="By number")).to_be_visible()
    expect(page).to_have_url(re.compile(r"ordering=number"))
    page.get_by_label(f"Select {other.number}").check()
    page.get_by_label(f"Select {similar.number}").check()
    bulk = page.locator("#bulk-form")
    bulk.get_by_label("Action").select_option("assign")
    bulk.get_by_label("Group").select_option(label=desk.name)
    bulk.get_by_label("Assignee").select_option(str(agent.pk))
    bulk.get_by_role("button", name="Apply").click()
    expect(page.locator("#messages")).to_contain_text("Assign: done for")
    shot("bulk-assigned")
    page.get_by_role("link", name="My work").click()
    expect(page.locator("#queue-table tbody tr")).to_have_count(2)


def test_major_incident_swarm_bridge_edit_and_review(page, shot, login, manager, agent, desk_setup):
    incident = desk_setup["similar"]
    UserFactory(username="netlead", first_name="Nora", last_name="Lead", roles=[roles.AGENT])
    login(manager)
    page.goto(f"/incidents/{incident.pk}/")

    form = open_action(page, "declare_major")
    form.get_by_label("Reason").fill("Outlook fails for the whole head office.")
    form.get_by_label("Stakeholder updates every (minutes)").fill("15")
    form.get_by_role("button", name="Declare major incident").click()
    expect(page.locator("#major-badge")).to_be_visible()
    expect(page.locator("#stakeholder-updates")).to_contain_text("Every 15 minutes")

    swarm = page.locator("#form-swarm_add")
    swarm.get_by_label("Person").fill("netlead")
    swarm.get_by_label("Role").fill("Network lead")
    swarm.get_by_role("button", name="Add to swarm").click()
    expect(page.locator("#swarm")).to_contain_text("Nora Lead — Network lead")
    shot("major")

    page.get_by_role("link", name="Bridge timeline").click()
    expect(page.locator("#bridge-timeline")).to_contain_text("Declared a major incident")
    shot("bridge")

    # The edit form: a priority change needs a reason.
    page.goto(f"/incidents/{incident.pk}/edit/")
    page.get_by_label("Urgency").select_option("4")
    expect(page.locator("#priority-preview")).to_contain_text("P3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-form")).to_contain_text("say why")
    page.get_by_label("Reason").fill("Only the head office is affected now.")
    shot("edit-needs-reason")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#messages")).to_contain_text(f"Saved {incident.number}.")

    form = open_action(page, "resolve")
    form.get_by_label("Resolution code").select_option("solved_workaround")
    form.get_by_label("Resolution notes").fill("Mail routed through the backup gateway.")
    form.get_by_role("button", name="Resolve").click()
    page.get_by_role("link", name=re.compile("Post-incident review")).click()
    page.get_by_label("What happened").fill("The mail gateway's certificate expired.")
    page.get_by_label("Open a problem to find and remove the root cause").check()
    shot("review")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#messages")).to_contain_text("Review saved.")
    expect(page.locator("main")).to_contain_text("The review asks for a problem record")
