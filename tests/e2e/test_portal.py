"""The self-help portal in the browser (issue 8): an end user lands on the portal, searches, reads an
article, types a problem and sees a suggestion, raises an incident through the category's intake
script with a file, finds it in My tickets; an agent replies and resolves it; the user rates and
confirms. Another user fixes their problem with an article ("this solved it"). Every portal page is
checked with axe-core (no serious or critical violations); screenshots at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from configuration.choices import CIStatus
from incidents import services as incident_services
from incidents.models import Incident, SatisfactionResponse
from itsm import roles
from knowledge.models import SelfHelpResolution
from tests.configuration.factories import service_ci
from tests.factories import OrganisationFactory, UserFactory
from tests.incidents.factories import CategoryFactory, IntakeQuestionFactory
from tests.knowledge.factories import make_article

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
_axe = Axe()


def check_accessibility(page, name: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    violations = _axe.run(page).response["violations"]
    bad = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]][:3])
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"


@pytest.fixture
def portal_world(transactional_db):
    organisation = OrganisationFactory(name="Finance")
    user = UserFactory(username="pat", first_name="Pat", organisation=organisation, roles=[roles.END_USER])
    agent = UserFactory(username="desk", first_name="Dana", roles=[roles.AGENT])
    service = service_ci("E-mail", status=CIStatus.LIVE, organisations=[organisation])
    category = CategoryFactory(name="E-mail and calendars")
    IntakeQuestionFactory(
        category=category,
        text="Does webmail work?",
        kind="yes_no",
        required=True,
        fix_on_answer="yes",
        fix_text="Then remove and re-add your Outlook profile.",
    )
    article = make_article(
        agent,
        status="published",
        audience="end_users",
        title="Outlook keeps asking for your password",
        summary="Clear the saved credentials and sign in again.",
        body="1. Close **Outlook**.\n2. Open Credential Manager and remove the Office entries.",
    )
    return {"user": user, "agent": agent, "service": service, "category": category, "article": article}


def test_end_user_raises_follows_rates_and_confirms_an_incident(page, shot, login, portal_world, tmp_path):
    world = portal_world
    login(world["user"])
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Pat")
    check_accessibility(page, "home")
    shot("home")

    page.get_by_label("What do you need help with?").fill("outlook password")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results-articles")
    expect(results).to_contain_text("Outlook keeps asking")
    expect(results.locator("mark").first).to_be_visible()
    check_accessibility(page, "search")
    shot("search")
    results.get_by_role("link", name=re.compile("Outlook keeps asking")).click()
    expect(page.locator("#article-body strong")).to_have_text("Outlook")
    check_accessibility(page, "article")
    shot("article")

    page.get_by_role("link", name="No, report a problem").click()
    expect(page).to_have_url(re.compile(r"/portal/report/"))
    page.get_by_label("What is wrong, in a few words").fill("")
    page.get_by_label("What is wrong, in a few words").press_sequentially(
        "Outlook asks for my password", delay=15
    )
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_have_attribute("aria-live", "polite")
    expect(suggestions).to_contain_text("Outlook keeps asking for your password")
    expect(suggestions.get_by_role("button", name=re.compile("This solved it"))).to_be_visible()
    shot("suggestion")

    page.get_by_label("Describe the problem").fill("Since this morning, every few minutes.")
    page.get_by_label("What is it about?").select_option(label="E-mail and calendars")
    question = page.get_by_label("Does webmail work?")
    expect(question).to_be_visible()
    question.select_option("yes")
    expect(page.locator("#intake-fixes")).to_contain_text("remove and re-add your Outlook profile")
    page.get_by_label("Which service is affected?").select_option(label="E-mail")
    page.get_by_label("Me and a few colleagues").check()
    page.get_by_label("I cannot do my work").check()
    screenshot = tmp_path / "prompt.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n fake screenshot")
    page.get_by_label("Screenshots or files (optional)").set_input_files(str(screenshot))
    check_accessibility(page, "report")
    shot("report")
    page.get_by_role("button", name="Send to the service desk").click()

    expect(page).to_have_url(re.compile(r"/portal/tickets/\d+/$"))
    incident = Incident.objects.get()
    assert (incident.channel, incident.caller_id, incident.impact, incident.urgency) == (
        "portal",
        world["user"].pk,
        3,
        2,
    )
    assert incident.intake_answers[0]["answer"] == "yes"
    expect(page.locator("#messages")).to_contain_text(f"{incident.number} is logged")
    expect(page.locator("#files")).to_contain_text("prompt.png")
    expect(page.locator("#ticket-status")).to_have_text("Received")

    page.get_by_role("link", name="My tickets").first.click()
    expect(page.locator("#open-tickets")).to_contain_text(incident.number)
    check_accessibility(page, "my tickets")
    shot("my-tickets")

    # The desk answers publicly and writes an internal note; an agent resolves it in the agents' UI.
    agent = world["agent"]
    incident_services.incident_comment(incident=incident, actor=agent, body="We reset your mail profile.")
    incident_services.incident_comment(
        incident=incident, actor=agent, body="INTERNAL: licence check", public=False
    )
    page.context.clear_cookies()
    login(agent)
    page.goto(f"/incidents/{incident.pk}/")
    page.locator("#toggle-resolve").click()
    expect(page.locator("#action-resolve")).to_have_class(re.compile(r"\bshow\b"))
    form = page.locator("#form-resolve")
    form.get_by_label("Resolution code").select_option("solved_permanently")
    form.get_by_label("Resolution notes").fill("Profile rebuilt.")
    form.get_by_role("button", name="Resolve").click()
    expect(page.locator("#messages")).to_contain_text("is resolved")
    shot("agent-resolved")
    page.context.clear_cookies()
    login(world["user"])

    page.goto(f"/portal/tickets/{incident.pk}/")
    expect(page.locator("#timeline")).to_contain_text("We reset your mail profile.")
    expect(page.locator("#timeline")).not_to_contain_text("INTERNAL")
    expect(page.locator("#ticket-status")).to_have_text("Resolved: please confirm")
    check_accessibility(page, "ticket resolved")
    shot("ticket-resolved")
    page.set_viewport_size(PHONE)
    shot("ticket-resolved-phone")
    page.get_by_label("5 - very satisfied").check()
    page.get_by_label("Anything to add? (optional)").fill("Quick and friendly.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator("#messages")).to_contain_text("Thank you for your rating")
    page.get_by_role("button", name="Yes, it is solved").click()
    expect(page.locator("#ticket-status")).to_have_text("Closed")
    shot("ticket-closed-phone")
    page.goto("/portal/")
    check_accessibility(page, "home on a phone")
    shot("home-phone")

    incident.refresh_from_db()
    assert incident.status == "closed" and incident.confirmation == "confirmed"
    answer = SatisfactionResponse.objects.get()
    assert (answer.rating, answer.comment) == (5, "Quick and friendly.")


def test_end_user_finds_an_article_and_marks_this_solved_it(page, shot, login, portal_world):
    login(portal_world["user"])
    page.get_by_label("What do you need help with?").fill("password")
    page.get_by_role("button", name="Search").click()
    page.locator("#results-articles").get_by_role("link", name=re.compile("Outlook keeps asking")).click()
    page.get_by_role("button", name="This solved it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Glad it is solved")
    check_accessibility(page, "solved")
    shot("solved")
    record = SelfHelpResolution.objects.get()
    assert (record.article_id, record.query, record.user_id) == (
        portal_world["article"].pk,
        "password",
        portal_world["user"].pk,
    )
    assert not Incident.objects.exists()
