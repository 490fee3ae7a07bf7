"""Every page's requests stay on our own server: no CDN, no third-party calls, no broken assets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import SupportGroupFactory

pytestmark = pytest.mark.e2e


def test_pages_load_everything_from_the_live_server(
    live_server, page, shot, login, requests_log, agent, admin_user, end_user
):
    group = SupportGroupFactory(name="Database Team")
    failed = []
    page.on(
        "response", lambda response: response.status >= 400 and failed.append((response.status, response.url))
    )

    page.goto("/accounts/login/")
    shot("login")
    login(agent)
    pages = [
        ("home", "/"),
        ("users", "/people/users/"),
        ("groups", "/people/support-groups/"),
        ("group", f"/people/support-groups/{group.pk}/"),
        ("search", "/search/?q=database"),
    ]
    for step, path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        # Bootstrap's stylesheet is applied: the navbar is dark, not an unstyled white bar.
        expect(page.locator("header.navbar")).to_have_css("background-color", "rgb(33, 37, 41)")
        shot(step)

    page.context.clear_cookies()
    login(admin_user)
    expect(page.locator("header.navbar")).to_have_css("background-color", "rgb(33, 37, 41)")
    shot("admin-home")
    # End users land on the self-help portal: its own light header, from portal.css.
    page.context.clear_cookies()
    login(end_user)
    expect(page.locator("header.portal-header")).to_have_css("background-color", "rgb(246, 247, 249)")
    shot("end-user-home")

    static = [url for url in requests_log.urls if "/static/" in url]
    for asset in (
        "bootstrap.min.css",
        "bootstrap-icons.min.css",
        "app.css",
        "bootstrap.bundle.min.js",
        "htmx.min.js",
        "app.js",
    ):
        assert any(url.split("?")[0].endswith(asset) for url in static), f"{asset} was never requested"
    assert any(re.search(r"bootstrap-icons\.woff2?", url) for url in static), "the icon font was never loaded"
    assert not failed, f"requests that failed: {failed}"
    foreign = requests_log.foreign()
    assert not foreign, f"requests to hosts other than {live_server.url}: {foreign}"
