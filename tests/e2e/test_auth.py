"""Logging in and out through the browser, per role, and what each role may reach."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import OrganisationFactory

pytestmark = pytest.mark.e2e

LOGIN_PATH = re.compile(r"/accounts/login/(\?.*)?$")


def _sidebar(page):
    return page.get_by_role("navigation", name="Main navigation")


def _expect_home(page, role: str, user) -> None:
    main = page.locator("main")
    heading = page.get_by_role("heading", level=1)
    if role == "agent":
        expect(heading).to_have_text(f"Welcome, {user.first_name}")
        expect(main.get_by_role("heading", name="My support groups")).to_be_visible()
        expect(main.get_by_role("heading", name="My recent changes")).to_be_visible()
    elif role == "manager":
        expect(heading).to_have_text(f"Welcome, {user.first_name}")
        expect(main.get_by_role("heading", name="Groups I manage")).to_be_visible()
        expect(main.get_by_role("heading", name="Recent changes across the desk")).to_be_visible()
    elif role == "admin_user":
        expect(heading).to_have_text("Administration")
        expect(main.get_by_role("heading", name="System health")).to_be_visible()
        expect(page.locator("#system-health")).to_contain_text("Database")
    elif role == "end_user":
        # End users land on the self-help portal (its own layout; no agents' sidebar).
        expect(page).to_have_url(re.compile(r"/portal/$"))
        expect(heading).to_contain_text(f"Hello, {user.first_name}")
        expect(main.get_by_role("heading", name="Your open tickets")).to_be_visible()
    else:  # pragma: no cover - a new role was added to the parametrisation without its checks
        raise AssertionError(role)


@pytest.mark.parametrize("role", ["agent", "manager", "admin_user", "end_user"])
def test_role_logs_in_sees_own_home_and_logs_out(request, page, shot, login, role):
    user = request.getfixturevalue(role)
    if role == "end_user":
        user.organisation = OrganisationFactory(name="Finance")
        user.save()

    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shot("login")

    login(user)
    _expect_home(page, role, user)
    users_link = page.get_by_role("link", name="Users", exact=True)
    if role == "end_user":
        expect(
            page.get_by_role("navigation", name="Portal").get_by_role("link", name="My tickets")
        ).to_be_visible()
        expect(users_link).to_have_count(0)
        shot("home")
        log_out = page.get_by_role("button", name=re.compile("^Log out"))
    else:
        expect(users_link).to_be_visible()
        expect(users_link).to_have_attribute("href", "/people/users/")
        shot("home")
        page.locator("#user-menu-button").click()
        log_out = page.get_by_role("button", name="Log out")
        expect(log_out).to_be_visible()
        expect(page.locator(".itsm-user-roles")).to_contain_text(user.username)
        shot("user-menu")
    log_out.click()

    expect(page).to_have_url(LOGIN_PATH)
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#user-menu-button")).to_have_count(0)
    shot("logged-out")

    # The session is really gone: home sends us back to the login form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


def test_wrong_password_shows_error_and_does_not_log_in(page, shot, agent):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(agent.username)
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    error = page.locator("#login-errors")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Please enter a correct username and password")
    expect(page).to_have_url(LOGIN_PATH)
    expect(page.locator("#id_username")).to_have_value(agent.username)
    expect(page.locator("#id_password")).to_have_attribute("aria-invalid", "true")
    shot("error")

    assert "sessionid" not in {cookie["name"] for cookie in page.context.cookies()}
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


def test_end_user_gets_403_on_agent_user_list(page, shot, login, end_user):
    login(end_user)
    response = page.goto("/people/users/")
    assert response is not None
    assert response.status == 403
    shot("forbidden")
