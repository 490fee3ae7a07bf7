"""Every number links to the incident list that produces it: the list's count equals the number."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import RequestFactory
from django.urls import reverse

from dashboards import queries
from dashboards.filters import Scope
from dashboards.services import facts_refresh
from incidents.forms import QueueFilterSet
from incidents.queries import queue
from tests.dashboards.conftest import WEEK, at

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


def test_linked_to_a_problem_counts_equal_their_lists(dataset, manager_user):
    from itsm.models import RecordLink
    from tests.problems.factories import make_problem

    problem = make_problem(dataset.agent, incidents=[dataset.A])
    RecordLink.objects.create(source=problem, target=dataset.C)  # a link from the problem's page
    facts_refresh()
    linked, unlinked = queries.problem_links(manager_user, WEEK).rows
    assert linked[1].value == 2 and unlinked[1].value == 3
    assert list_count(linked[1].url, manager_user) == 2
    assert list_count(unlinked[1].url, manager_user) == 3


def test_csat_counts_the_incidents_its_list_shows_even_when_rated_twice(dataset, manager_user):
    from incidents.models import SatisfactionResponse

    for rating, day in ((2, 3), (2, 4), (5, 5)):  # A rated 2 twice (after a reopen), then 5
        answer = SatisfactionResponse.objects.create(
            incident=dataset.A, respondent=dataset.caller, resolved_at=at(day, 11), rating=rating
        )
        SatisfactionResponse.objects.filter(pk=answer.pk).update(created_at=at(day, 12))
    SatisfactionResponse.objects.create(  # E rated 2 after the period: not counted, not listed
        incident=dataset.E, respondent=dataset.caller, resolved_at=dataset.E.resolved_at, rating=2
    )
    rows = {row[0].value: row[1] for row in queries.csat(manager_user, WEEK).rows}
    assert rows["2 of 5"].value == 1 and rows["5 of 5"].value == 1
    for cell in rows.values():
        assert list_count(cell.url, manager_user) == cell.value


def test_the_day_still_running_in_the_flow_links_to_what_is_open(dataset, manager_user):
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    scope = Scope(since=today - datetime.timedelta(days=2), until=today)
    facts_refresh()
    rows = queries.flow(manager_user, scope).rows
    running = rows[-1][3]
    assert running.url and running.value == 1  # D, still open
    assert list_count(running.url, manager_user) == running.value
