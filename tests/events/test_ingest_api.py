"""Ingestion: token auth, our format and Alertmanager's, validation naming the field, 413, replays."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from events import services
from events.choices import SourceKind
from events.models import Event, EventSource, RawEvent
from tests.events.factories import am_alert, am_payload, event, make_source

URL = "/api/v1/events/"
AM_URL = "/api/v1/events/alertmanager/"
pytestmark = pytest.mark.django_db


def client(token: str, keyword: str = "Bearer") -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    return api


@pytest.fixture
def source():
    return make_source()


def test_bearer_and_token_keywords_are_accepted(source):
    _source, token = source
    for keyword in ("Bearer", "Token"):
        response = client(token, keyword).post(URL, event(check=f"disk-{keyword}"), format="json")
        assert response.status_code == 202, response.content
    assert RawEvent.objects.count() == 2


def test_token_is_stored_hashed_with_a_prefix(source):
    stored, token = source
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert token.startswith(stored.token_prefix)
    assert not EventSource.objects.filter(token_hash=token).exists()


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer"])
def test_missing_unknown_or_malformed_token_is_401(source, header):
    api = APIClient()
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)
    response = api.post(URL, event(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] in ("not_authenticated", "authentication_failed")
    assert RawEvent.objects.count() == 0


def test_revoked_and_rotated_tokens_are_401(source):
    stored, token = source
    rotated, new_token = services.source_rotate_token(source=stored, actor=None)
    assert client(token).post(URL, event(), format="json").status_code == 401
    assert client(new_token).post(URL, event(), format="json").status_code == 202
    EventSource.objects.filter(pk=stored.pk).update(is_revoked=True)
    assert client(new_token).post(URL, event(), format="json").status_code == 401


def test_a_user_token_is_not_a_source_token(api_as, agent):
    assert api_as(agent).post(URL, event(), format="json").status_code == 401


def test_one_event_is_stored_raw_and_answered_with_its_id(source):
    _source, token = source
    response = client(token).post(URL, event(), format="json")
    assert response.status_code == 202
    body = response.json()
    raw = RawEvent.objects.get()
    assert body == {"ids": [raw.pk], "accepted": 1, "duplicates": 0}
    assert raw.payload["resource"] == "web-01" and raw.processed_at is None


def test_a_batch_is_stored_in_order(source):
    _source, token = source
    batch = [event(check=f"check-{n}") for n in range(5)]
    response = client(token).post(URL, {"events": batch}, format="json")
    ids = response.json()["ids"]
    assert response.status_code == 202 and len(ids) == 5
    assert [RawEvent.objects.get(pk=pk).payload["check"] for pk in ids] == [f"check-{n}" for n in range(5)]
    assert client(token).post(URL, batch[:2], format="json").json()["duplicates"] == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event(severity="apocalyptic"), "severity"),
        (event(state="sideways"), "state"),
        (event(occurred_at="yesterday"), "occurred_at"),
        (event(value="lots"), "value"),
        (event(labels=["a"]), "labels"),
        (event(check=""), "check"),
        (event(resource="", ci=""), "resource"),
        (event(message={"nested": 1}), "message"),
        ([event(), event(severity="bad")], "events[1].severity"),
        ({"events": [event(), 3]}, "events[1]"),
        ("just a string", "non_field_errors"),
        ([], "events"),
    ],
)
def test_malformed_payload_is_400_naming_the_field(source, payload, field):
    _source, token = source
    response = client(token).post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert RawEvent.objects.count() == 0


def test_invalid_json_is_400_not_500(source):
    _source, token = source
    response = client(token).post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_oversized_batch_is_413(source):
    stored, token = source
    EventSource.objects.filter(pk=stored.pk).update(max_batch_size=3)
    response = client(token).post(URL, [event(check=f"c{n}") for n in range(4)], format="json")
    assert response.status_code == 413
    assert "at most 3" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_replayed_delivery_is_not_counted_twice(source):
    _source, token = source
    first = client(token).post(URL, event(), format="json").json()
    again = client(token).post(URL, event(), format="json").json()
    assert again == {"ids": first["ids"], "accepted": 0, "duplicates": 1}
    keyed = client(token).post(URL, event(idempotency_key="delivery-7", check="x"), format="json").json()
    replay = client(token).post(URL, event(idempotency_key="delivery-7", check="y"), format="json").json()
    assert replay["ids"] == keyed["ids"] and replay["duplicates"] == 1
    assert RawEvent.objects.count() == 2


def test_same_key_at_another_time_is_another_occurrence(source):
    _source, token = source
    client(token).post(URL, event(occurred_at="2026-11-27T09:00:00Z"), format="json")
    client(token).post(URL, event(occurred_at="2026-11-27T09:01:00Z"), format="json")
    assert RawEvent.objects.count() == 2


def test_field_mapping_reads_the_sources_own_names():
    _source, token = make_source(name="nagios", field_mapping={"resource": "host.name", "check": "service"})
    response = client(token).post(
        URL, {"host": {"name": "db-01"}, "service": "load", "severity": "warning"}, format="json"
    )
    assert response.status_code == 202, response.content
    services.process_batch()
    assert Event.objects.get().resource == "db-01"


# -- Alertmanager ---------------------------------------------------------------------------------


@pytest.fixture
def am_source():
    return make_source(name="alertmanager", kind=SourceKind.ALERTMANAGER)


def test_alertmanager_firing_payload_maps_to_events(am_source):
    _source, token = am_source
    response = client(token).post(AM_URL, am_payload(am_alert()), format="json")
    assert response.status_code == 202, response.content
    services.process_batch()
    stored = Event.objects.get()
    assert (stored.resource, stored.check_name, stored.severity, stored.state) == (
        "web-01:9100",
        "InstanceDown",
        "critical",
        "firing",
    )
    assert stored.message == "web-01:9100 is down"
    assert stored.labels["job"] == "node"
    assert stored.dedup_key == "am:f1"
    assert stored.occurred_at.isoformat().startswith("2026-11-27T09:00")
    assert RawEvent.objects.get().payload["group"]["receiver"] == "itsm"


def test_alertmanager_grouped_payload_makes_one_event_per_alert(am_source):
    _source, token = am_source
    alerts = [am_alert(instance=f"web-0{n}:9100", fingerprint=f"f{n}") for n in range(1, 4)]
    response = client(token).post(AM_URL, am_payload(*alerts), format="json")
    assert response.status_code == 202 and len(response.json()["ids"]) == 3
    services.process_batch()
    assert sorted(Event.objects.values_list("resource", flat=True)) == [
        "web-01:9100",
        "web-02:9100",
        "web-03:9100",
    ]


def test_alertmanager_resolved_maps_to_clear_at_ends_at(am_source):
    _source, token = am_source
    client(token).post(AM_URL, am_payload(am_alert()), format="json")
    client(token).post(AM_URL, am_payload(am_alert("resolved"), status="resolved"), format="json")
    services.process_batch()
    clear = Event.objects.get(state="clear")
    assert clear.occurred_at.isoformat().startswith("2026-11-27T09:05")
    assert clear.alert.state == "closed"


def test_alertmanager_repeat_notification_is_a_replay(am_source):
    _source, token = am_source
    client(token).post(AM_URL, am_payload(am_alert()), format="json")
    again = client(token).post(AM_URL, am_payload(am_alert()), format="json").json()
    assert again["duplicates"] == 1 and RawEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": "4"}, "alerts"),
        ({"version": "3", "alerts": []}, "version"),
        (am_payload(am_alert(status="burning")), "alerts[0].status"),
        (am_payload(am_alert(labels={"instance": "x"})), "alerts[0].labels.alertname"),
        (am_payload(am_alert(startsAt="soon")), "alerts[0].startsAt"),
        (am_payload(am_alert(), "oops"), "alerts[1]"),
        (["not", "an", "object"], "non_field_errors"),
    ],
)
def test_malformed_alertmanager_payload_is_400_naming_the_field(am_source, payload, field):
    _source, token = am_source
    response = client(token).post(AM_URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_a_source_posts_to_its_own_endpoint(source, am_source):
    assert client(source[1]).post(AM_URL, am_payload(am_alert()), format="json").status_code == 400
    assert client(am_source[1]).post(URL, event(), format="json").status_code == 400


def test_nul_characters_are_dropped_not_a_500(source):
    _source, token = source
    payload = event(
        message="bad\x00byte", labels={"k\x00": "v\x00"}, extra={"raw\x00": "literal \\u0000 text"}
    )
    response = client(token).post(URL, payload, format="json")
    assert response.status_code == 202, response.content
    services.process_batch()
    stored = Event.objects.get()
    assert stored.message == "badbyte" and stored.labels == {"k": "v"}
    assert RawEvent.objects.get().payload["extra"] == {"raw": "literal \\u0000 text"}


def test_over_the_rate_limit_is_429_and_not_counted(source, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate"}
    }
    stored, token = source
    EventSource.objects.filter(pk=stored.pk).update(rate_limit_per_minute=3)
    assert client(token).post(URL, [event(check="a"), event(check="b")], format="json").status_code == 202
    refused = client(token).post(URL, [event(check="c"), event(check="d")], format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["code"] == "throttled"
    assert client(token).post(URL, event(check="e"), format="json").status_code == 202
    assert RawEvent.objects.count() == 3


def test_admin_pages_for_sources_rules_and_windows(client_as, admin_user):
    EventSource._meta.apps.get_model("people", "User").objects.filter(pk=admin_user.pk).update(
        is_staff=True, is_superuser=True
    )
    client = client_as(admin_user)
    for name in ("eventsource", "rule", "maintenancewindow", "check"):
        assert client.get(f"/admin/events/{name}/").status_code == 200
        assert client.get(f"/admin/events/{name}/add/").status_code == 200
    assert client.get("/admin/events/storm/").status_code == 200
    response = client.post(
        "/admin/events/eventsource/add/",
        {
            "name": "icinga",
            "kind": "generic",
            "ci_lookup_label": "host",
            "ci_lookup_scheme": "hostname",
            "field_mapping": "{}",
            "dedup_fields": "[]",
            "max_batch_size": 100,
            "rate_limit_per_minute": 0,
            "resolve_incident_on_clear": "on",
            "storm_threshold_per_minute": 0,
            "storm_quiet_minutes": 5,
        },
        follow=True,
    )
    assert response.status_code == 200
    source = EventSource.objects.get(name="icinga")
    assert "shown once" in response.content.decode() and source.token_prefix in response.content.decode()


@pytest.mark.parametrize("depth", [800, 5000])
def test_deeply_nested_json_is_400_or_stored_never_500(source, depth):
    _source, token = source
    nested = "[" * depth + "]" * depth
    body = '{"resource": "web-01", "check": "x", "labels": {}, "extra": ' + nested + "}"
    response = client(token).post(URL, data=body, content_type="application/json")
    assert response.status_code in (202, 400), response.content


def test_form_encoded_body_is_refused_not_a_500(source):
    _source, token = source
    response = client(token).post(URL, {"resource": "web-01", "check": "x"}, format="multipart")
    assert response.status_code == 415
