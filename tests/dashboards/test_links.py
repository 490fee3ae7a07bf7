"""Every number links to the incident list that produces it: the list's count equals the number."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import RequestFactory
from django.urls import reverse

from dashboards import queries
from incidents.forms import QueueFilterSet
from incidents.queries import queue
from tests.dashboards.conftest import WEEK

pytestmark = pytest.mark.django_db


def list_count(url: str, user) -> int:
    """What the incident queue lists for that URL (its tab and the shared FilterSet), counted."""
    parts = urlsplit(url)
    assert parts.path == reverse("incidents:queue")
    params = parse_qs(parts.query)
    request = RequestFactory().get(url)
    request.user = user
    filterset = QueueFilterSet(request.GET, queryset=queue(user, params["tab"][0]), request=request)
    assert filterset.is_valid(), (url, filterset.errors)
    return filterset.qs.count()


def linked_cells(tables):
    queue_path = reverse("incidents:queue")
    for table in tables:
        for row in table.rows:
            for column, cell in zip(table.columns, row, strict=True):
                if cell.url and cell.url.startswith(queue_path) and isinstance(cell.value, int):
                    yield table.key, column.key, cell


@pytest.mark.parametrize("name", ["sla", "backlog", "trends", "satisfaction"])
def test_each_number_equals_the_count_of_its_list(dataset, manager_user, name):
    tables = queries.dashboard(name, manager_user, WEEK)
    checked = 0
    for table_key, column, cell in linked_cells(tables):
        assert list_count(cell.url, manager_user) == cell.value, (table_key, column, cell.url)
        checked += 1
    assert checked >= {"sla": 40, "backlog": 30, "trends": 10, "satisfaction": 5}[name]


def test_a_filtered_dashboard_links_to_lists_with_the_same_filter(dataset, manager_user):
    from dataclasses import replace

    scope = replace(WEEK, group_id=dataset.infra.pk, organisation_id=dataset.org.pk)
    table = queries.sla_attainment(manager_user, scope)
    breached = table.rows[1][2]
    assert breached.value == 2
    assert f"group={dataset.infra.pk}" in breached.url and f"organisation={dataset.org.pk}" in breached.url
    assert list_count(breached.url, manager_user) == 2


def test_personal_dashboard_links(dataset):
    tables = queries.my_work(dataset.agent)
    for _, _, cell in linked_cells(tables):
        assert list_count(cell.url, dataset.agent) == cell.value
    assert tables[0].rows[0][1].value == 0  # open, assigned to dash_agent: none
    tables = queries.my_work(dataset.other_agent)
    assert tables[0].rows[0][1].value == 1  # D
    assert tables[0].rows[1][1].value == 1  # D breached its resolution target
