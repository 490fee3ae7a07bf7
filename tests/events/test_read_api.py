"""Read APIs (staff), reference data (admin writes, the token shown once), the console page."""

from __future__ import annotations

import pytest

from events.models import AlertGroup, EventSource, Rule
from tests.events.factories import at, event

pytestmark = pytest.mark.django_db


def _fill(post, token, groups: int):
    post(token, [event(resource=f"host-{n}", check="ping", occurred_at=at(n)) for n in range(groups)])


@pytest.mark.parametrize("url", ["/api/v1/events/alerts/", "/api/v1/events/groups/"])
def test_list_query_count_is_pinned_and_constant(api_as, agent, source, post, url, django_assert_num_queries):
    _source, token = source
    _fill(post, token, 5)
    api = api_as(agent)
    api.get(url)  # warm the content types and roles caches of the test client
    queries = 4 if "groups" in url else 3  # token, roles, the page (+ the groups' alerts)
    with django_assert_num_queries(queries):
        response = api.get(url)
    assert len(response.json()["results"]) == 5
    _fill(post, token, 30)
    with django_assert_num_queries(queries):
        response = api.get(url, {"page_size": 40})
    assert len(response.json()["results"]) == 30


def test_end_users_see_no_events(api_as, end_user, source, post):
    _source, token = source
    _fill(post, token, 1)
    assert api_as(end_user).get("/api/v1/events/alerts/").status_code == 403


def test_groups_show_alerts_incident_and_can_be_acknowledged(api_as, agent, source, post):
    _source, token = source
    _fill(post, token, 1)
    api = api_as(agent)
    group = api.get("/api/v1/events/groups/", {"state": "open"}).json()["results"][0]
    assert group["incident_number"].startswith("INC") and group["alerts"][0]["check_name"] == "ping"
    response = api.post(f"/api/v1/events/groups/{group['id']}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    assert AlertGroup.objects.get().acknowledged_by == agent


def test_admin_creates_a_source_and_sees_the_token_once(api_as, admin_user, agent):
    api = api_as(admin_user)
    response = api.post("/api/v1/events/sources/", {"name": "zabbix", "max_batch_size": 50}, format="json")
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    source = EventSource.objects.get(name="zabbix")
    assert token.startswith(source.token_prefix) and source.token_hash != token
    listed = api.get("/api/v1/events/sources/").json()["results"][0]
    assert "token" not in listed and "token_hash" not in listed
    rotated = api.post(f"/api/v1/events/sources/{source.pk}/rotate-token/").json()["token"]
    assert rotated != token
    assert api_as(agent).post("/api/v1/events/sources/", {"name": "x"}, format="json").status_code == 403
    bad = api.post("/api/v1/events/sources/", {"name": "y", "kind": "nagios"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]
    bad = api.patch(
        f"/api/v1/events/sources/{source.pk}/", {"max_batch_size": 0, "dedup_fields": "x"}, format="json"
    )
    assert bad.status_code == 400 and {"max_batch_size", "dedup_fields"} <= set(bad.json()["errors"])
    changed = api.patch(f"/api/v1/events/sources/{source.pk}/", {"is_revoked": True}, format="json")
    assert changed.status_code == 200 and changed.json()["version"] == source.version + 2  # rotated once


def test_rules_and_maintenance_windows_are_written_by_their_roles(api_as, admin_user, manager, agent):
    rule = {"name": "ignore test", "order": 5, "match_labels": {"env": "test"}, "drop": True}
    assert api_as(agent).post("/api/v1/events/rules/", rule, format="json").status_code == 403
    assert api_as(admin_user).post("/api/v1/events/rules/", rule, format="json").status_code == 201
    assert Rule.objects.get().drop
    window = {"name": "Patching", "cis": [], "starts_at": at(0), "ends_at": at(60)}
    response = api_as(manager).post("/api/v1/events/maintenance-windows/", window, format="json")
    assert response.status_code == 201, response.content
    backwards = {**window, "ends_at": at(-5)}
    response = api_as(manager).post("/api/v1/events/maintenance-windows/", backwards, format="json")
    assert response.status_code == 400 and "ends_at" in response.json()["errors"]
    assert api_as(agent).get("/api/v1/events/maintenance-windows/").status_code == 200


def test_console_shows_open_groups_and_refreshes_by_htmx(client_as, agent, source, post):
    _source, token = source
    _fill(post, token, 2)
    client = client_as(agent)
    page = client.get("/events/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'hx-trigger="every 10s"' in html and "host-1: ping" in html and "INC" in html
    partial = client.get("/events/", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "host-0: ping" in partial.content.decode()
    group = AlertGroup.objects.first()
    response = client.post(f"/events/groups/{group.pk}/acknowledge/")
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.acknowledged_by == agent


def test_console_is_for_staff(client_as, end_user):
    assert client_as(end_user).get("/events/").status_code == 403


def test_rule_preview_tries_an_unsaved_rule_on_recent_events(api_as, agent, source, post):
    _source, token = source
    post(
        token, [event(resource=f"host-{n}", check="cpu", value=n * 10, occurred_at=at(n)) for n in range(10)]
    )
    post(token, event(resource="host-x", check="disk", value=99))
    rule = {"match_check": "cpu", "value_above": 65, "set_severity": "minor", "set_dedup_key": "{check}"}
    response = api_as(agent).post("/api/v1/events/rules/preview/", rule, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["examined"] == 11 and body["matched"] == 3
    example = body["examples"][0]
    assert (example["severity"], example["new_severity"], example["new_dedup_key"]) == (
        "critical",
        "minor",
        "cpu",
    )
    assert example["new_classification"] == "warning" and not example["dropped"]
    assert not Rule.objects.exists()
    bad = api_as(agent).post("/api/v1/events/rules/preview/", {"value_above": "hot"}, format="json")
    assert bad.status_code == 400 and "value_above" in bad.json()["errors"]


def test_console_query_count_does_not_grow_with_groups(client_as, agent, source, post):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _source, token = source
    _fill(post, token, 2)
    client = client_as(agent)
    client.get("/events/")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/events/", headers={"HX-Request": "true"}).status_code == 200
        return len(captured)

    few = count()
    post(token, [event(resource=f"db-{n}", check="ping", occurred_at=at(n)) for n in range(8)])
    assert count() == few


def test_operators_open_or_link_an_incident_for_a_group(api_as, client_as, agent, source, post):
    from incidents.models import Incident
    from tests.incidents.factories import make_incident

    _source, token = source
    post(
        token,
        [
            event(resource="a", check="disk", severity="warning"),
            event(resource="b", check="disk", severity="warning"),
        ],
    )
    first, second = AlertGroup.objects.order_by("id")
    assert first.incident is None and second.incident is None
    api = api_as(agent)
    opened = api.post(f"/api/v1/events/groups/{first.pk}/open-incident/")
    assert opened.status_code == 200 and opened.json()["incident_number"].startswith("INC")
    again = api.post(f"/api/v1/events/groups/{first.pk}/open-incident/")
    assert again.status_code == 409
    existing = make_incident(agent, short_description="Storage is slow")
    missing = api.post(
        f"/api/v1/events/groups/{second.pk}/link-incident/", {"incident": "INC9999999"}, format="json"
    )
    assert missing.status_code == 400 and "incident" in missing.json()["errors"]
    linked = api.post(
        f"/api/v1/events/groups/{second.pk}/link-incident/", {"incident": existing.number}, format="json"
    )
    assert linked.status_code == 200 and linked.json()["incident"] == existing.pk
    assert Incident.objects.get(pk=opened.json()["incident"]).created_by == agent
    # the console does the same through its forms
    post(token, event(resource="c", check="disk", severity="warning"))
    third = AlertGroup.objects.order_by("-id").first()
    client = client_as(agent)
    page = client.post(f"/events/groups/{third.pk}/open-incident/", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "opened for alert group" in page.content.decode()
    refused = client.post(
        f"/events/groups/{third.pk}/link-incident/",
        {"incident": existing.number},
        headers={"HX-Request": "true"},
    )
    assert "already has incident" in refused.content.decode()


def test_silence_through_the_api_and_the_console(api_as, client_as, agent, source, post):
    _source, token = source
    _fill(post, token, 1)
    group = AlertGroup.objects.get()
    response = api_as(agent).post(
        f"/api/v1/events/groups/{group.pk}/silence/", {"minutes": 30}, format="json"
    )
    assert response.status_code == 200 and response.json()["silenced_until"]
    bad = api_as(agent).post(f"/api/v1/events/groups/{group.pk}/silence/", {"minutes": -1}, format="json")
    assert bad.status_code == 400 and "minutes" in bad.json()["errors"]
    client = client_as(agent)
    assert "silenced until" in client.get("/events/").content.decode()
    ended = client.post(
        f"/events/groups/{group.pk}/silence/", {"minutes": "0"}, headers={"HX-Request": "true"}
    )
    assert "Silence ended." in ended.content.decode() and "Silence alert group" in ended.content.decode()
