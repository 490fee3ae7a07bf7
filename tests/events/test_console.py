"""The event console's filters (page and API share one FilterSet), assigning a group to a person and a
support group, and the raw events behind an alert; pinned query counts."""

from __future__ import annotations

import pytest

from events.models import Alert, AlertGroup
from itsm import roles
from tests.events.factories import at, event, make_source
from tests.factories import UserFactory
from tests.incidents.factories import group_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(post, service_map):
    """Groups from two sources: prom (critical on host-1, a warning on host-2) and zabbix (minor on
    web-9; then cleared, so its group is closed)."""
    _prom, prom_token = make_source("prom")
    _zabbix, zabbix_token = make_source("zabbix")
    post(
        prom_token,
        [event(resource="host-1", check="down"), event(resource="host-2", check="disk", severity="warning")],
    )
    post(zabbix_token, event(resource="web-9", check="http", severity="minor"))
    post(zabbix_token, event(resource="web-9", check="http", state="clear", occurred_at=at(5)))
    return {"service": service_map["service"], "host": service_map["host"]}


def _titles(response) -> list[str]:
    return sorted(group["title"] for group in response.json()["results"])


def test_api_filters_by_severity_source_state_service_and_acknowledged(api_as, agent, estate):
    api = api_as(agent)
    url = "/api/v1/events/groups/"
    assert _titles(api.get(url, {"state": "open"})) == ["host-1: down", "host-2: disk"]
    assert _titles(api.get(url, {"state": "closed"})) == ["web-9: http"]
    assert _titles(api.get(url, {"severity": "critical"})) == ["host-1: down"]
    zabbix = Alert.objects.get(resource="web-9").source_id
    assert _titles(api.get(url, {"source": zabbix})) == ["web-9: http"]
    assert _titles(api.get(url, {"service": estate["service"].pk})) == ["host-1: down"]
    group = AlertGroup.objects.get(title="host-2: disk")
    api.post(f"{url}{group.pk}/acknowledge/")
    assert _titles(api.get(url, {"acknowledged": "true"})) == ["host-2: disk"]
    assert _titles(api.get(url, {"acknowledged": "false", "state": "open"})) == ["host-1: down"]
    bad = api.get(url, {"severity": "loud", "source": "x"})
    assert bad.status_code == 400 and {"severity", "source"} <= set(bad.json()["errors"])


def test_console_filters_and_keeps_them_on_refresh(client_as, agent, estate):
    client = client_as(agent)
    html = client.get("/events/").content.decode()
    assert "host-1: down" in html and "web-9: http" not in html  # open groups by default
    html = client.get("/events/", {"state": "closed"}).content.decode()
    assert "web-9: http" in html and "host-1: down" not in html
    assert 'hx-get="/events/?state=closed"' in html  # the refresh keeps the filters
    html = client.get("/events/", {"severity": "warning"}, headers={"HX-Request": "true"}).content.decode()
    assert "host-2: disk" in html and "host-1: down" not in html
    html = client.get("/events/", {"service": estate["service"].pk}).content.decode()
    assert "host-1: down" in html and "host-2: disk" not in html
    assert f'<option value="{estate["service"].pk}" selected>Payroll</option>' in html
    html = client.get("/events/", {"source": "nonsense"}).content.decode()
    assert "source:" in html  # the bad filter is named, not a 500


CONSOLE_QUERIES = 9


def test_console_query_count_does_not_grow_with_the_groups(client_as, agent, source, post):
    _source, token = source
    post(token, [event(resource=f"node-{n}", check="ping") for n in range(2)])
    client = client_as(agent)
    client.get("/events/")

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/events/", {"severity": "critical"}).status_code == 200
        return len(captured)

    # Session, user, roles, menu/notifications, the storms, the groups with their alerts, the
    # support groups and services of the forms: the same number for 2 groups and for 30.
    assert count() == CONSOLE_QUERIES
    post(token, [event(resource=f"node-{n}", check="ping") for n in range(2, 30)])
    assert count() == CONSOLE_QUERIES


def test_operators_assign_a_group_in_the_console_and_the_api(client_as, api_as, agent, estate):
    noc = group_with(agent, name="NOC")
    outsider = UserFactory(username="outsider", roles=[roles.AGENT])
    caller = UserFactory(username="caller", roles=[roles.END_USER])
    group = AlertGroup.objects.get(title="host-1: down")
    client = client_as(agent)
    response = client.post(
        f"/events/groups/{group.pk}/assign/", {"assignment_group": "NOC", "assignee": agent.username}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.assignment_group, group.assignee) == (noc, agent)
    page = client.get("/events/").content.decode()
    assert "assigned to NOC / agent1" in page
    partial = client.post(
        f"/events/groups/{group.pk}/assign/",
        {"assignment_group": "NOC", "assignee": "outsider"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "outsider is not a member of NOC" in partial

    api = api_as(agent)
    url = f"/api/v1/events/groups/{group.pk}/assign/"
    assert api.post(url, {"assignee": caller.pk}, format="json").json()["errors"]["assignee"]
    assert api.post(url, {"assignee": 999999}, format="json").status_code == 400
    response = api.post(url, {"assignee": outsider.pk, "assignment_group": None}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["assignee_name"], response.json()["assignment_group"]) == ("outsider", None)
    mine = api.get("/api/v1/events/groups/", {"assignee": outsider.pk}).json()["results"]
    assert [g["id"] for g in mine] == [group.pk]


def test_raw_events_behind_an_alert_in_the_page_and_the_api(
    client_as, api_as, agent, source, post, django_assert_num_queries
):
    _source, token = source
    post(token, [event(check="cpu", value=n, occurred_at=at(n), labels={"n": str(n)}) for n in range(3)])
    alert = Alert.objects.get()
    html = client_as(agent).get(f"/events/alerts/{alert.pk}/events/").content.decode()
    assert html.count("<details>") == 3 and "&quot;labels&quot;" in html  # escaped, as posted
    api = api_as(agent)
    api.get(f"/api/v1/events/alerts/{alert.pk}/events/")
    with django_assert_num_queries(4):  # token, roles, the alert, the page with the raw events
        body = api.get(f"/api/v1/events/alerts/{alert.pk}/events/").json()
    assert [e["value"] for e in body["results"]] == [2.0, 1.0, 0.0]
    assert body["results"][0]["raw_payload"]["labels"] == {"n": "2"}


def test_end_users_reach_no_console_page(client_as, api_as, end_user, source, post):
    _source, token = source
    post(token, event())
    alert = Alert.objects.get()
    assert client_as(end_user).get(f"/events/alerts/{alert.pk}/events/").status_code == 403
    assert api_as(end_user).get(f"/api/v1/events/alerts/{alert.pk}/events/").status_code == 403
