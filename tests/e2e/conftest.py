"""Browser tests: Playwright (sync API) driving the system Chromium against pytest-django's live server.

- One Chromium per session, a fresh browser context (cookies, storage) per test.
- No Chromium: every test here is skipped with a plain reason (also printed in the terminal
  summary); with ``CI`` set, the tests fail instead, so a CI image without a browser is noticed.
- ``shot(step)`` saves a full-page PNG to ``test-artifacts/e2e/<test-name>-<step>.png``.
- Every request any page makes is recorded; a request to a host other than the live server
  fails the test (no CDN, no third-party calls).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run in a
# thread with a running loop unless told this is fine (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent.parent
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "e2e"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


def _chromium_path() -> tuple[str, bool]:
    """The configured Chromium (env CHROMIUM_PATH or /usr/bin/chromium) and whether it is usable."""
    configured = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    resolved = configured if os.sep in configured else (shutil.which(configured) or configured)
    usable = os.path.isfile(resolved) and os.access(resolved, os.X_OK)
    return resolved, usable


CHROMIUM, HAVE_CHROMIUM = _chromium_path()


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no", "off"}


MISSING_MESSAGE = (
    f"browser tests skipped: no Chromium at {CHROMIUM}; install it with apt-get install chromium"
)
MISSING_IN_CI_MESSAGE = (
    f"browser tests failed: no Chromium at {CHROMIUM}; install it with apt-get install chromium "
    "(CI is set, so a missing browser is an error, not a skip)"
)


def _is_e2e(item) -> bool:
    return E2E_DIR in Path(str(item.path)).resolve().parents


_collected_e2e = {"count": 0}


def pytest_collection_modifyitems(config, items):
    # Called with every item of the session, not only ours: touch only tests under tests/e2e.
    ours = [item for item in items if _is_e2e(item)]
    _collected_e2e["count"] = len(ours)
    for item in ours:
        item.add_marker(pytest.mark.e2e)
        if not HAVE_CHROMIUM and not _ci():
            item.add_marker(pytest.mark.skip(reason=MISSING_MESSAGE))


def pytest_runtest_setup(item):
    if _is_e2e(item) and not HAVE_CHROMIUM and _ci():
        pytest.fail(MISSING_IN_CI_MESSAGE, pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _collected_e2e["count"] and not HAVE_CHROMIUM:
        terminalreporter.write_sep("=", "e2e", yellow=not _ci(), red=_ci())
        terminalreporter.write_line(MISSING_IN_CI_MESSAGE if _ci() else MISSING_MESSAGE)


# --------------------------------------------------------------------------- server and browser


@pytest.fixture(scope="session")
def _plain_http_settings():
    """Serve the live server over plain http on loopback, whatever HTTPS_ONLY says.

    tests/settings.py only defaults HTTPS_ONLY to off (os.environ.setdefault), so an environment
    exporting HTTPS_ONLY=1 would turn on SECURE_SSL_REDIRECT and send every browser request to
    https://localhost, where nothing listens. SecurityMiddleware reads the setting when the live
    server builds its handler, so this must be in place before the live server starts.
    """
    from django.test.utils import override_settings

    override = override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        SECURE_HSTS_SECONDS=0,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=False,
        SECURE_HSTS_PRELOAD=False,
        SECURE_PROXY_SSL_HEADER=None,
    )
    override.enable()
    yield
    override.disable()


@pytest.fixture(scope="session")
def live_server(_plain_http_settings, live_server):  # noqa: F811 - extends pytest-django's fixture
    return live_server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class RequestLog:
    """Every URL the browser requested during a test, in order."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/") + "/"
        self.urls: list[str] = []

    def record(self, request) -> None:
        self.urls.append(request.url)

    def foreign(self) -> list[str]:
        # data: and blob: URLs come from the page itself (e.g. Bootstrap's inline SVG icons), not a host.
        return [url for url in self.urls if not url.startswith((self.base_url, "data:", "blob:"))]


@pytest.fixture
def requests_log(live_server) -> RequestLog:
    return RequestLog(live_server.url)


@pytest.fixture
def page(browser, live_server, requests_log):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    context.on("request", requests_log.record)
    page = context.new_page()
    yield page
    context.close()
    foreign = requests_log.foreign()
    assert not foreign, f"requests left the live server {live_server.url}: {foreign}"


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-")


@pytest.fixture
def shot(request, page):
    """``shot("step")`` saves the whole page to test-artifacts/e2e/<test-name>-<step>.png and returns the path."""
    name = _safe(request.node.name)
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> Path:
        path = ARTIFACTS_DIR / f"{name}-{_safe(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page):
    """Log in through the form as ``user`` and wait for the home page; returns the page."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    def do(user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(user.username)
        page.locator("#id_password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/$"))
        return page

    return do
