"""Active checks against a real HTTP server and real TCP sockets started in the test (no mocked
sockets): probes, the beat runner (due checks, SKIP LOCKED, next run), and their events through the
pipeline (a failure opens an alert and an incident, recovery clears it)."""

from __future__ import annotations

import datetime
import http.server
import socket
import threading

import pytest
from django.utils import timezone

from configuration import services as cmdb
from configuration.models import CIClass
from events import checks, services
from events.choices import AlertState
from events.models import Alert, AlertGroup, Check, Event, EventSource

pytestmark = pytest.mark.django_db


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = b"ok" if self.server.status == 200 else b"broken"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    """A real HTTP server on a free loopback port; ``web.status`` is what it answers."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def listener():
    """A listening TCP socket (connections are accepted by the kernel's backlog)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def _closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def shop(db):
    return cmdb.ci_create(
        actor=None, ci_class=CIClass.objects.get(slug="business-service"), name="Shop", criticality=2
    )


def _url(server, path="/healthz") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_http_probe_reads_the_status_of_a_real_server(web):
    assert checks.probe_http(_url(web), expected_status=200, timeout=5).ok
    web.status = 503
    outcome = checks.probe_http(_url(web), expected_status=200, timeout=5)
    assert not outcome.ok and outcome.status == 503 and "expected 200" in outcome.message
    assert checks.probe_http(_url(web), expected_status=503, timeout=5).ok


@pytest.fixture
def tls_web(tmp_path):
    """A real HTTPS server on loopback with a self-signed certificate for 127.0.0.1 (made by openssl)."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.status = 200
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, cert
    server.shutdown()
    server.server_close()


def test_https_probe_verifies_the_certificate(tls_web, monkeypatch):
    server, cert = tls_web
    url = f"https://127.0.0.1:{server.server_address[1]}/healthz"
    outcome = checks.probe_http(url, expected_status=200, timeout=5)
    assert (
        not outcome.ok and "TLS error" in outcome.message and "certificate verify failed" in outcome.message
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now trusted, as an internal CA would be
    assert checks.probe_http(url, expected_status=200, timeout=5).ok


def test_http_probe_times_out_on_a_server_that_never_answers(listener):
    # The kernel accepts the connection into the backlog, but nobody ever reads or answers.
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    outcome = checks.probe_http(url, expected_status=200, timeout=1)
    assert not outcome.ok and "No answer within 1 s" in outcome.message


def test_tcp_probe_connects_or_is_refused(listener):
    assert checks.probe_tcp(f"127.0.0.1:{listener.getsockname()[1]}", timeout=5).ok
    outcome = checks.probe_tcp(f"127.0.0.1:{_closed_port()}", timeout=5)
    assert not outcome.ok and outcome.message == "Connection refused."


@pytest.mark.parametrize(
    ("kind", "target", "error"),
    [
        ("http", "ftp://x/", "http://"),
        ("http", "http://", "http://"),
        ("http", "http://host:99999/", "Not a URL"),
        ("tcp", "db-01", "host:port"),
        ("tcp", "db-01:http", "not a port"),
        ("tcp", "db-01:0", "not a port"),
        ("http", "", "Required"),
        ("http", "http://a b/", "No spaces"),
        ("tcp", "db\n01:5432", "No spaces"),
    ],
)
def test_bad_targets_are_named(kind, target, error):
    assert error in checks.target_error(kind, target)


def test_good_targets():
    assert checks.target_error("http", "https://shop.example.com/healthz") is None
    assert checks.target_error("tcp", "db-01:5432") is None
    assert checks.target_error("tcp", "[::1]:5432") is None


def _run(now=None):
    result = checks.run_due_checks(now=now)
    services.process_batch()
    return result


def test_a_failing_check_fires_through_the_pipeline_and_recovery_clears_it(web, shop):
    check = Check.objects.create(ci=shop, name="http", target=_url(web), interval_seconds=60)
    assert _run().checks == 1
    check.refresh_from_db()
    assert check.last_ok is True and check.last_result.startswith("HTTP 200")
    assert not Event.objects.exists()  # a healthy check says nothing

    web.status = 500
    for minutes in (1, 2):  # each failed run counts on the one alert
        _run(timezone.now() + datetime.timedelta(minutes=minutes))
    alert = Alert.objects.get()
    assert (alert.state, alert.count, alert.ci, alert.check_name) == (AlertState.OPEN, 2, shop, "http")
    assert alert.dedup_key == f"check:{check.pk}" and alert.source.name == "active-checks"
    group = AlertGroup.objects.get()
    assert group.incident is not None and group.incident.service == shop  # critical: an incident

    web.status = 200
    _run(timezone.now() + datetime.timedelta(minutes=3))
    alert.refresh_from_db()
    group.refresh_from_db()
    assert alert.state == AlertState.CLOSED and group.state == AlertState.CLOSED
    assert group.incident.status == "resolved"
    _run(timezone.now() + datetime.timedelta(minutes=4))  # healthy again: no more events
    assert Event.objects.count() == 3


def test_tcp_check_failure_and_the_token_of_the_checks_source_is_not_usable(shop):
    Check.objects.create(ci=shop, name="smtp", kind="tcp", target=f"127.0.0.1:{_closed_port()}")
    result = _run()
    assert (result.checks, result.failed, result.events) == (1, 1, 1)
    event = Event.objects.get()
    assert event.message == "Connection refused." and event.labels["kind"] == "tcp"
    assert EventSource.objects.get(name="active-checks").token_hash  # hashed like any source's


def test_only_due_enabled_checks_run_and_next_run_moves_by_the_interval(web, shop):
    now = timezone.now()
    due = Check.objects.create(ci=shop, name="a", target=_url(web), interval_seconds=120, next_run_at=now)
    later = Check.objects.create(
        ci=shop, name="b", target=_url(web), next_run_at=now + datetime.timedelta(minutes=5)
    )
    Check.objects.create(ci=shop, name="c", target=_url(web), enabled=False)
    assert checks.run_due_checks(now=now).checks == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.next_run_at == now + datetime.timedelta(seconds=120) and due.last_run_at == now
    assert later.last_run_at is None
    assert checks.run_due_checks(now=now).checks == 0  # a second tick finds nothing due


def test_a_check_locked_by_another_runner_is_skipped(transactional_db, web, shop):
    first = Check.objects.create(ci=shop, name="a", target=_url(web))
    Check.objects.create(ci=shop, name="b", target=_url(web))
    locked, release = threading.Event(), threading.Event()

    def other_runner():
        # Another connection holds the row lock of the first check, as a concurrent claim would.
        from django.db import connections

        conn = connections.create_connection("default")
        with conn.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM events_check WHERE id = %s FOR UPDATE", [first.pk])
            locked.set()
            release.wait(30)
            cursor.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=other_runner)
    thread.start()
    try:
        assert locked.wait(30)
        claimed = checks.claim_due(now=timezone.now(), limit=10)
        assert [c.name for c in claimed] == ["b"]
    finally:
        release.set()
        thread.join()


def test_checks_api_validates_and_pins_its_query_count(
    api_as, admin_user, manager, agent, shop, django_assert_num_queries
):
    api = api_as(admin_user)
    bad = api.post(
        "/api/v1/events/checks/",
        {"ci": shop.pk, "name": "db", "kind": "tcp", "target": "db-01:5432", "timeout_seconds": 0},
        format="json",
    )
    assert bad.status_code == 400 and "timeout_seconds" in bad.json()["errors"]
    bad = api.post(
        "/api/v1/events/checks/",
        {"ci": shop.pk, "name": "db", "kind": "tcp", "target": "db-01"},
        format="json",
    )
    assert bad.status_code == 400 and "host:port" in bad.json()["errors"]["target"][0]
    bad = api.post("/api/v1/events/checks/", {"ci": shop.pk, "name": "x", "kind": "icmp", "target": "a"})
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]
    for n in range(3):
        response = api.post(
            "/api/v1/events/checks/",
            {"ci": shop.pk, "name": f"http-{n}", "target": f"https://shop.example.com/{n}"},
            format="json",
        )
        assert response.status_code == 201, response.content
    duplicate = api.post(
        "/api/v1/events/checks/", {"ci": shop.pk, "name": "http-0", "target": "https://x/"}, format="json"
    )
    assert duplicate.status_code == 400
    for reader in (agent, manager):  # checks make the workers connect anywhere: admins only
        assert (
            api_as(reader).post("/api/v1/events/checks/", {"ci": shop.pk}, format="json").status_code == 403
        )
    reader = api_as(agent)
    reader.get("/api/v1/events/checks/")
    with django_assert_num_queries(4):  # token, roles, the ci filter's look-up, the page with its CIs
        listed = reader.get("/api/v1/events/checks/", {"ci": shop.pk}).json()["results"]
    assert [c["ci_number"] for c in listed] == [shop.number] * 3
    check = Check.objects.get(name="http-0")
    changed = api.patch(f"/api/v1/events/checks/{check.pk}/", {"target": "tcp://x"}, format="json")
    assert changed.status_code == 400 and "target" in changed.json()["errors"]
    changed = api.patch(
        f"/api/v1/events/checks/{check.pk}/", {"kind": "tcp", "target": "x:25"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2


def test_checks_page_lists_failing_checks_first(client_as, agent, end_user, shop):
    Check.objects.create(
        ci=shop, name="ok", target="https://a.example.com/", last_ok=True, last_result="HTTP 200"
    )
    Check.objects.create(
        ci=shop, name="bad", target="https://b.example.com/", last_ok=False, last_result="HTTP 503"
    )
    Check.objects.create(ci=shop, name="new", kind="tcp", target="db:5432")
    client = client_as(agent)
    client.get("/events/checks/")
    html = client.get("/events/checks/").content.decode()
    assert html.index("HTTP 503") < html.index("HTTP 200") < html.index("not run yet")
    assert client_as(end_user).get("/events/checks/").status_code == 403


def test_disabling_a_failing_check_clears_its_alert(shop):
    check = Check.objects.create(ci=shop, name="smtp", kind="tcp", target=f"127.0.0.1:{_closed_port()}")
    _run()
    assert Alert.objects.get().state == AlertState.OPEN
    Check.objects.filter(pk=check.pk).update(enabled=False)
    assert _run(timezone.now() + datetime.timedelta(minutes=5)).events == 1
    assert Alert.objects.get().state == AlertState.CLOSED
    check.refresh_from_db()
    assert check.last_ok is None and "disabled" in check.last_result
    assert _run(timezone.now() + datetime.timedelta(minutes=10)).events == 0  # once


CHECKS_PAGE_QUERIES = 4  # session, user, roles, the checks with their CIs


def test_checks_page_query_count_is_pinned(client_as, agent, shop, django_assert_num_queries):
    for n in range(5):
        Check.objects.create(ci=shop, name=f"c{n}", target=f"https://{n}.example.com/")
    client = client_as(agent)
    client.get("/events/checks/")
    with django_assert_num_queries(CHECKS_PAGE_QUERIES):
        client.get("/events/checks/")
    for n in range(5, 20):
        Check.objects.create(ci=shop, name=f"c{n}", target=f"https://{n}.example.com/")
    with django_assert_num_queries(CHECKS_PAGE_QUERIES):
        client.get("/events/checks/")


def test_admin_runs_checks_at_the_next_tick(client_as, admin_user, shop):
    from people.models import User

    User.objects.filter(pk=admin_user.pk).update(is_staff=True, is_superuser=True)
    later = timezone.now() + datetime.timedelta(hours=1)
    check = Check.objects.create(ci=shop, name="http", target="https://shop.example.com/", next_run_at=later)
    response = client_as(admin_user).post(
        "/admin/events/check/", {"action": "run_now", "_selected_action": [check.pk]}, follow=True
    )
    assert "1 enabled check(s) will run within 10 s" in response.content.decode()
    check.refresh_from_db()
    assert check.next_run_at <= timezone.now()
