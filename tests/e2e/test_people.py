"""Agent work on people records through the browser: global search and the timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.e2e


def test_agent_finds_support_group_with_navbar_search(page, shot, login, agent):
    group = SupportGroupFactory(name="Printer Fleet Team", description="Looks after the office printers.")
    SupportGroupFactory(name="Network Operations")  # must not match
    login(agent)

    search = page.locator("#global-search")
    search.fill("printer")
    search.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=printer$"))
    expect(page.get_by_role("heading", name="Support groups")).to_be_visible()
    results = page.locator("main")
    expect(results.get_by_role("link", name="Network Operations")).to_have_count(0)
    hit = results.get_by_role("link", name="Printer Fleet Team")
    expect(hit).to_have_attribute("href", f"/people/support-groups/{group.pk}/")
    shot("results")

    hit.click()
    expect(page).to_have_url(re.compile(rf"/people/support-groups/{group.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Printer Fleet Team")
    expect(page.locator(".itsm-fields")).to_contain_text("Looks after the office printers.")
    shot("detail")


def test_agent_adds_work_note_to_support_group(page, shot, login, agent):
    group = SupportGroupFactory(name="Service Desk")
    login(agent)
    page.goto(f"/people/support-groups/{group.pk}/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("No entries yet.")
    shot("before")

    form = timeline.get_by_role("form", name="Add to the timeline")
    form.get_by_label("Entry").fill("Rota for the bank holiday is in the shared drive.")
    form.get_by_label("Kind").select_option(label="Work note (internal)")
    form.get_by_role("button", name="Add").click()

    # The form posts with htmx and swaps the timeline in place (or, without JavaScript, redirects
    # back to the page): either way the entry shows up with the internal badge.
    entry = page.locator("#timeline ol.itsm-timeline > li").filter(has_text="Rota for the bank holiday")
    expect(entry).to_have_count(1)
    expect(entry.locator(".badge")).to_have_text(re.compile(r"Work note\s*·\s*internal"))
    expect(entry).to_contain_text(agent.get_full_name())
    expect(page.locator("#timeline")).not_to_contain_text("No entries yet.")
    expect(page.locator("#timeline textarea[name=body]")).to_have_value("")
    shot("after")
