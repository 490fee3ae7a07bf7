"""The knowledge base in the browser: an agent writes an article (previewing its Markdown), publishes
it, finds it through the knowledge search with the matched words highlighted, and sees it suggested
while logging an incident."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from knowledge.models import Article

pytestmark = pytest.mark.e2e


def test_agent_writes_publishes_finds_and_gets_the_article_suggested(
    page, shot, login, agent, transactional_db
):
    login(agent)
    page.goto("/knowledge/new/")
    page.get_by_label("Title").fill("Teams camera shows a black picture")
    page.get_by_label("Summary").fill("Allow the camera in Windows privacy settings.")
    page.get_by_label("Body").fill(
        "When the **camera** stays black in Teams:\n\n1. Open *Privacy & security* > *Camera*.\n"
        "2. Turn on camera access for desktop apps.\n3. Restart Teams."
    )
    page.get_by_label("Audience").select_option("end_users")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#body-preview strong")).to_have_text("camera")
    shot("form")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/knowledge/\d+/$"))
    expect(page.locator("#article-status")).to_have_text("Draft")
    expect(page.locator("#article-body strong")).to_have_text("camera")
    page.get_by_role("button", name="→ Published").click()
    expect(page.locator("#article-status")).to_have_text("Published")
    shot("published")
    article = Article.objects.get()
    assert article.status == "published"

    page.goto("/knowledge/search/")
    page.get_by_label("What do you need help with?").fill("black camera")
    page.locator("#main").get_by_role("button", name="Search").click()
    result = page.locator("#kb-results li").first
    expect(result).to_contain_text(article.number)
    expect(result.locator(".kb-snippet mark").first).to_have_text(re.compile("camera", re.IGNORECASE))
    shot("search")

    page.goto("/incidents/new/")
    page.locator("#id_short_description").press_sequentially("Camera black in Teams", delay=10)
    suggestions = page.locator("#matching-articles")
    expect(suggestions).to_contain_text(article.number)
    expect(suggestions).to_contain_text("Why: 3 of 3 words")
    shot("suggested")
