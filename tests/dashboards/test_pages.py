"""Pages, CSV, API and permissions of the dashboards; query counts do not grow with the data."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.services import facts_refresh
from itsm import roles
from tests.conftest import api_client_for
from tests.dashboards.conftest import at
from tests.factories import UserFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db
WEEK = "since=2026-11-02&until=2026-11-08"
PAGES = ["sla", "backlog", "trends", "satisfaction", "events"]


@pytest.mark.parametrize("name", PAGES)
def test_managers_see_each_dashboard(dataset, manager_user, client_as, name):
    response = client_as(manager_user).get(reverse(f"dashboards:{name}") + f"?{WEEK}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in body
    assert "Figures as of" in body
    assert 'id="dashboard-charts"' in body


def test_sla_page_links_its_breached_count(dataset, manager_user, client_as):
    response = client_as(manager_user).get(reverse("dashboards:sla") + f"?{WEEK}&group={dataset.infra.pk}")
    body = response.content.decode()
    assert "sla=resolution_breached" in body and f"group={dataset.infra.pk}" in body


@pytest.mark.parametrize("role", [roles.AGENT, roles.END_USER])
def test_agents_and_end_users_get_403_on_manager_dashboards(dataset, client_as, role):
    user = UserFactory(roles=[role])
    client = client_as(user)
    for name in PAGES:
        assert client.get(reverse(f"dashboards:{name}")).status_code == 403
        assert client.get(reverse(f"dashboards:{name}") + "?csv=sla_attainment").status_code == 403
    api = api_client_for(user)
    for name in PAGES:
        assert api.get(f"/api/v1/dashboards/{name}/").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboards:sla"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_agents_see_only_their_own_dashboard(dataset, client_as):
    client = client_as(dataset.other_agent)
    response = client.get(reverse("dashboards:me") + f"?assignee={dataset.agent.pk}")
    assert response.status_code == 200
    # The count is dash_agent2's own (D), whatever the query string names.
    api = api_client_for(dataset.other_agent).get(f"/api/v1/dashboards/me/?assignee={dataset.agent.pk}")
    assert api.status_code == 200
    assert api.json()["tables"]["my_work"]["rows"][0]["value"] == 1
    end_user = UserFactory(roles=[roles.END_USER])
    assert client_as(end_user).get(reverse("dashboards:me")).status_code == 403
    assert api_client_for(end_user).get("/api/v1/dashboards/me/").status_code == 403


def test_csv_of_a_table(dataset, manager_user, client_as):
    response = client_as(manager_user).get(reverse("dashboards:sla") + f"?{WEEK}&csv=sla_attainment")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "sla-sla_attainment.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Target", "Met", "Breached", "Running", "Due within 24 h", "Attainment %"],
        ["Response", "3", "2", "0", "0", "60.0"],
        ["Resolution", "3", "2", "0", "0", "60.0"],
    ]
    assert client_as(manager_user).get(reverse("dashboards:sla") + "?csv=nope").status_code == 404


def test_csv_neutralises_formulas(dataset, manager_user, client_as):
    from incidents.models import Incident

    Incident.objects.filter(pk=dataset.C.pk).update(is_major=True, short_description="=HYPERLINK(1)")
    facts_refresh(full=True)
    response = client_as(manager_user).get(reverse("dashboards:trends") + f"?{WEEK}&csv=major_incidents")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_api_returns_the_same_tables(dataset, manager_user, api_as):
    response = api_as(manager_user).get(f"/api/v1/dashboards/sla/?{WEEK}&group={dataset.infra.pk}")
    assert response.status_code == 200
    data = response.json()
    assert data["filters"] == {"since": "2026-11-02", "until": "2026-11-08", "group": dataset.infra.pk}
    attainment = data["tables"]["sla_attainment"]
    assert attainment["rows"][1] == {
        "target": "Resolution",
        "met": 0,
        "breached": 2,
        "running": 0,
        "at_risk": 0,
        "attainment": 0.0,
    }
    assert "sla=resolution_breached" in attainment["links"][1]["breached"]
    for name in PAGES:
        assert api_as(manager_user).get(f"/api/v1/dashboards/{name}/?{WEEK}").status_code == 200


@pytest.mark.parametrize(
    "query, field",
    [
        ("since=2026-11-09&until=2026-11-02", "since"),
        ("since=yesterday", "since"),
        ("group=999999", "group"),
        ("priority=9", "priority"),
        ("since=2020-01-01&until=2026-01-01", "since"),
    ],
)
def test_bad_filters_are_400_naming_the_field(manager_user, api_as, client_as, query, field):
    response = api_as(manager_user).get(f"/api/v1/dashboards/sla/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"] if "errors" in response.json() else field in response.json()
    assert client_as(manager_user).get(reverse("dashboards:sla") + f"?{query}").status_code == 400


def test_schema_documents_the_endpoints(manager_user, api_as):
    schema = api_as(manager_user).get("/api/schema/?format=json").json()
    for name in [*PAGES, "me"]:
        assert f"/api/v1/dashboards/{name}/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/dashboards/sla/"]["get"]["parameters"]}
    assert {"since", "until", "group", "service", "priority", "organisation"} <= params


@pytest.mark.parametrize("name", PAGES)
def test_query_count_does_not_grow_with_the_data(dataset, manager_user, client_as, settings, name):
    settings.DASHBOARDS_CACHE_SECONDS = 0  # count the queries that compute the figures
    client = client_as(manager_user)
    url = reverse(f"dashboards:{name}") + f"?{WEEK}"
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for day in (2, 3, 4):
        incident = make_incident(dataset.agent)
        from incidents.models import Incident

        Incident.objects.filter(pk=incident.pk).update(created_at=at(day, 13), assignment_group=dataset.infra)
    facts_refresh(full=True)
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after) == len(before), [q["sql"][:120] for q in after.captured_queries]


def test_figures_are_cached_until_the_next_refresh(dataset, manager_user, client_as):
    from incidents.models import Incident

    client = client_as(manager_user)
    url = reverse("dashboards:backlog") + f"?{WEEK}"
    client.get(url)
    with CaptureQueriesContext(connection) as cached:
        first = client.get(url)
    assert len(cached) <= 8  # session, user, roles, refresh state, the filter form's choices
    assert b"Logged" in first.content
    Incident.objects.filter(pk=dataset.D.pk).update(created_at=at(20, 9, month=10))
    api = api_client_for(manager_user)
    before = api.get(f"/api/v1/dashboards/backlog/?{WEEK}").json()["tables"]["quality"]["rows"][0][
        "incidents"
    ]
    assert before == 5  # still the figures of the last refresh
    facts_refresh(full=True)
    after = api.get(f"/api/v1/dashboards/backlog/?{WEEK}").json()["tables"]["quality"]["rows"][0]["incidents"]
    assert after == 4


def test_the_refresh_prewarms_the_default_dashboards_of_managers_signed_in_lately(
    dataset, manager_user, client_as, settings
):
    from django.core.cache import cache

    from dashboards import queries
    from dashboards.filters import Scope
    from dashboards.tasks import refresh_facts

    client = client_as(manager_user)  # signs in: last_login is now
    cache.clear()
    assert refresh_facts()["prewarmed_tables"] > 0
    with CaptureQueriesContext(connection) as served:
        page = client.get(reverse("dashboards:backlog"))
    assert page.status_code == 200
    assert (
        len(served) <= 8
    )  # session, user, roles, refresh state, the filter form's choices: no figure computed
    settings.DASHBOARDS_CACHE_SECONDS = 0
    for name in queries.DASHBOARDS:
        fresh = [t.values() for t in queries.dashboard(name, manager_user, Scope.default())]
        settings.DASHBOARDS_CACHE_SECONDS = 300
        warm = queries.dashboard(
            name, manager_user, Scope.default(), refreshed_at=queries.freshness()["refreshed_at"]
        )
        settings.DASHBOARDS_CACHE_SECONDS = 0
        assert [t.values() for t in warm] == fresh, name


@pytest.mark.parametrize("name", PAGES)
def test_csv_and_api_give_the_figures_of_the_tables(dataset, manager_user, client_as, api_as, settings, name):
    import json

    from dashboards import queries
    from tests.dashboards.conftest import WEEK as SCOPE

    settings.DASHBOARDS_CACHE_SECONDS = 0  # each request computes: from the rollup, like the tables here
    tables = queries.dashboard(name, manager_user, SCOPE)
    api = api_as(manager_user).get(f"/api/v1/dashboards/{name}/?{WEEK}").json()["tables"]
    client = client_as(manager_user)
    for table in tables:
        assert api[table.key]["rows"] == json.loads(json.dumps(table.values())), table.key
        download = client.get(reverse(f"dashboards:{name}") + f"?{WEEK}&csv={table.key}")
        assert download.content.decode() == table.as_csv(), table.key
