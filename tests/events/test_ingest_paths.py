"""Ingestion's short paths: the view's own POST handling answers exactly as DRF's would, and the
deployed WSGI application serves the ingestion paths through the lean handler (security headers,
host check and every error case kept). The schema still documents both endpoints."""

from __future__ import annotations

import json
import re

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework.views import APIView

from events.api import views
from events.choices import SourceKind
from events.models import EventSource, RawEvent
from itsm.handlers import EndpointHandler
from tests.events.factories import am_alert, am_payload, event, make_source

URL = "/api/v1/events/"
AM_URL = "/api/v1/events/alertmanager/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "paths"}
    }
    generic, token = make_source()
    _am, am_token = make_source(name="alertmanager", kind=SourceKind.ALERTMANAGER)
    limited, limited_token = make_source(name="limited", rate_limit_per_minute=1)
    revoked, revoked_token = make_source(name="revoked")
    EventSource.objects.filter(pk=revoked.pk).update(is_revoked=True)
    EventSource.objects.filter(pk=generic.pk).update(max_batch_size=3)
    return {"ok": token, "am": am_token, "limited": limited_token, "revoked": revoked_token}


def _json(value) -> bytes:
    return json.dumps(value).encode()


# (name, path, token key or a raw Authorization header, body, content type)
CASES = [
    ("no token", URL, None, _json(event()), "application/json"),
    ("unknown token", URL, "Bearer nope", _json(event()), "application/json"),
    ("other scheme", URL, "Basic abc", _json(event()), "application/json"),
    ("keyword alone", URL, "Bearer", _json(event()), "application/json"),
    ("two tokens", URL, "Bearer a b", _json(event()), "application/json"),
    ("revoked", URL, "revoked", _json(event()), "application/json"),
    ("invalid JSON", URL, "ok", b"{not json", "application/json"),
    ("NaN", URL, "ok", b'{"resource": "web-01", "check": "x", "value": NaN}', "application/json"),
    ("not UTF-8", URL, "ok", b'{"resource": "\xff"}', "application/json"),
    ("empty body", URL, "ok", b"", "application/json"),
    ("a string", URL, "ok", _json("just a string"), "application/json"),
    ("bad field", URL, "ok", _json([event(), event(severity="bad")]), "application/json"),
    ("too many", URL, "ok", _json([event(check=f"c{n}") for n in range(4)]), "application/json"),
    ("over the rate", URL, "limited", _json([event(), event(check="y")]), "application/json"),
    ("other kind's endpoint", AM_URL, "ok", _json(am_payload(am_alert())), "application/json"),
    ("bad alert", AM_URL, "am", _json(am_payload(am_alert(status="burning"))), "application/json"),
    (
        "deep",
        URL,
        "ok",
        b'{"resource": "a", "check": "x", "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "application/json",
    ),
    ("charset", URL, "ok", _json(event(severity="bad")), "application/json; charset=UTF-8"),
    ("another charset", URL, "ok", _json(event(severity="bad")), "application/json; charset=latin-1"),
]


def _header(sources, token) -> str | None:
    if token is None:
        return None
    return f"Bearer {sources[token]}" if token in sources else token


def _answer(response) -> tuple:
    """What a sender sees; the seconds to wait may tick between the two requests."""
    body = response.json()
    body["detail"] = re.sub(r"\d+ seconds", "N seconds", body["detail"])
    return (
        response.status_code,
        body,
        response.get("Content-Type"),
        response.get("WWW-Authenticate"),
        bool(response.get("Retry-After")),
    )


@pytest.mark.parametrize(("name", "path", "token", "body", "content_type"), CASES, ids=[c[0] for c in CASES])
def test_the_short_path_answers_as_drf_does(sources, monkeypatch, name, path, token, body, content_type):
    api = APIClient()
    header = _header(sources, token)
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    short = api.post(path, data=body, content_type=content_type)
    monkeypatch.setattr(views._Ingest, "dispatch", APIView.dispatch)
    drf = api.post(path, data=body, content_type=content_type)
    assert short.status_code != 202, short.content  # every case is an error: nothing is stored twice
    assert _answer(short) == _answer(drf)
    assert RawEvent.objects.count() == 0


def test_the_short_path_stores_and_answers_202_as_drf_does(sources, monkeypatch):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sources['ok']}")
    short = api.post(URL, event(), format="json")
    monkeypatch.setattr(views._Ingest, "dispatch", APIView.dispatch)
    drf = api.post(URL, event(check="other"), format="json")
    replay = api.post(URL, event(), format="json")
    assert (
        (short.status_code, short["Content-Type"])
        == (drf.status_code, drf["Content-Type"])
        == (
            202,
            "application/json",
        )
    )
    assert short.json() == {"ids": [short.json()["ids"][0]], "accepted": 1, "duplicates": 0}
    assert replay.json() == {"ids": short.json()["ids"], "accepted": 0, "duplicates": 1}
    assert RawEvent.objects.count() == 2


# -- the deployed WSGI application ------------------------------------------------------------------


@pytest.fixture
def wsgi():
    """call(application, path, body, **headers) -> (status code, headers, body) through WSGI, with the
    connection kept open across the request as Django's test client does (the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def call(application, path, body=b"", *, content_type="application/json", **extra):
        environ = RequestFactory().post(path, data=body, content_type=content_type, **extra).environ
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=int(status.split()[0]), headers=dict(headers))

        result = application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        return answer["status"], answer["headers"], content

    yield call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def application():
    from itsm.wsgi import application

    return application


def test_ingestion_paths_are_served_by_the_lean_handler(application):
    assert set(application.handlers) == {URL, AM_URL}
    for path, handler in application.handlers.items():
        assert handler.match.func.view_class in (views.EventIngest, views.AlertmanagerIngest), path
        assert handler.middleware == [
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ]


def test_through_wsgi_an_event_is_stored_with_the_security_headers(sources, wsgi, application):
    status, headers, content = wsgi(
        application, URL, _json(event()), HTTP_AUTHORIZATION=f"Bearer {sources['ok']}"
    )
    assert status == 202, content
    assert json.loads(content) == {"ids": [RawEvent.objects.get().pk], "accepted": 1, "duplicates": 0}
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Type"] == "application/json"
    assert "Set-Cookie" not in headers


@pytest.mark.parametrize(
    ("path", "token", "body", "status", "field_or_header"),
    [
        (URL, None, _json(event()), 401, "WWW-Authenticate"),
        (URL, "revoked", _json(event()), 401, "WWW-Authenticate"),
        (URL, "ok", b"{not json", 400, None),
        (URL, "ok", _json(event(severity="apocalyptic")), 400, "severity"),
        (URL, "ok", _json([event(check=f"c{n}") for n in range(4)]), 413, None),
        (URL, "limited", _json([event(), event(check="y")]), 429, "Retry-After"),
        (AM_URL, "am", _json(am_payload(am_alert(startsAt="soon"))), 400, "alerts[0].startsAt"),
    ],
)
def test_through_wsgi_every_error_is_answered(
    sources, wsgi, application, path, token, body, status, field_or_header
):
    extra = {"HTTP_AUTHORIZATION": _header(sources, token)} if token else {}
    got, headers, content = wsgi(application, path, body, **extra)
    assert got == status, content
    answer = json.loads(content)
    assert answer["detail"] and answer["code"]
    if field_or_header in ("WWW-Authenticate", "Retry-After"):
        assert headers[field_or_header]
    elif field_or_header:
        assert field_or_header in answer["errors"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert RawEvent.objects.count() == 0


def test_through_wsgi_a_body_over_the_limit_is_413(sources, wsgi, application, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = _json(event(message="x" * 200))
    status, _headers, content = wsgi(application, URL, body, HTTP_AUTHORIZATION=f"Bearer {sources['ok']}")
    assert status == 413 and b"larger than 100 bytes" in content


def test_through_wsgi_other_methods_and_content_types_go_through_drf(sources, wsgi, application):
    token = f"Bearer {sources['ok']}"
    status, _headers, _content = wsgi(
        application,
        URL,
        b"resource=web-01",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=token,
    )
    assert status == 415
    environ = RequestFactory().get(URL, HTTP_AUTHORIZATION=token).environ
    answer = {}
    result = application(environ, lambda status, headers, exc_info=None: answer.update(status=status))
    result.close()
    assert answer["status"].startswith("405")


def test_through_wsgi_the_host_is_checked(sources, wsgi, application):
    status, _headers, _content = wsgi(
        application,
        URL,
        _json(event()),
        HTTP_HOST="evil.example",
        HTTP_AUTHORIZATION=f"Bearer {sources['ok']}",
    )
    assert status == 400
    assert RawEvent.objects.count() == 0


def test_the_lean_handler_redirects_plain_http_when_https_only(sources, wsgi, settings):
    settings.SECURE_SSL_REDIRECT = True
    status, headers, _content = wsgi(
        EndpointHandler(URL), URL, _json(event()), HTTP_AUTHORIZATION=f"Bearer {sources['ok']}"
    )
    assert status == 301 and headers["Location"].startswith("https://")
    assert RawEvent.objects.count() == 0


def test_other_paths_are_served_by_djangos_handler(wsgi, application):
    environ = RequestFactory().get("/").environ  # the home page needs the session and user middleware
    answer = {}
    result = application(
        environ, lambda status, headers, exc_info=None: answer.update(status=status, headers=headers)
    )
    result.close()
    assert answer["status"].startswith("302") and ("Location", "/accounts/login/?next=/") in answer["headers"]


def test_the_schema_still_documents_both_endpoints():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operation_id in ((URL, "events_ingest"), (AM_URL, "events_ingest_alertmanager")):
        operation = schema["paths"][path]["post"]
        assert operation["operationId"] == operation_id
        assert {"eventSourceToken": []} in operation["security"]
        assert {"202", "400", "401", "413", "429"} <= set(operation["responses"])
        assert "requestBody" in operation
