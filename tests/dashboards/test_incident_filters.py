"""The filters added to the incident FilterSet (incidents/filters.py) for the dashboards' links, through
the incident API (the same FilterSet as the queue)."""

import pytest

from incidents.models import SatisfactionResponse
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def numbers(user, query: str) -> set[str]:
    response = api_client_for(user).get(f"/api/v1/incidents/?{query}&page_size=100")
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def test_reporting_filters(dataset, manager_user):
    d = dataset
    n = {key: getattr(d, key).number for key in "ABCDEG"}
    assert numbers(
        manager_user, "resolved_after=2026-11-03T00:00:00Z&resolved_before=2026-11-04T00:00:00Z"
    ) == {n["B"], n["E"]}
    # Open at Tuesday 12:00: C (resolved Wednesday) and D; B (resolved Tuesday 16:45) too.
    assert numbers(manager_user, "open_at=2026-11-03T12:00:00Z") == {n["B"], n["C"], n["D"]}
    assert numbers(manager_user, f"organisation={d.org.pk}") == {n[k] for k in "ABCDEG"}
    assert numbers(manager_user, "sla=resolution_breached") == {n["C"], n["D"]}
    assert numbers(manager_user, "sla=resolution_met") == {n["A"], n["B"], n["E"], n["G"]}
    assert numbers(manager_user, "sla=response_finished") == {n[k] for k in "ABCEG"}
    assert numbers(manager_user, "sla=resolution_running") == set()
    assert numbers(manager_user, "reopened=true") == {n["C"]}
    assert numbers(manager_user, "first_contact=true") == {n["E"]}
    assert numbers(manager_user, "reassignments=2") == {n["C"]}
    assert numbers(manager_user, "reassignments_min=1") == {n["C"]}
    assert numbers(manager_user, "responded=false") == {n["D"]}
    SatisfactionResponse.objects.create(
        incident=d.A, respondent=d.caller, resolved_at=d.A.resolved_at, rating=5
    )
    assert numbers(manager_user, "rating=5") == {n["A"]}


def test_bad_reporting_filter_values_are_400(manager_user):
    client = api_client_for(manager_user)
    for query in (
        "sla=resolution_sideways",
        "open_at=tuesday",
        "rating=9",
        "reassignments=x",
        "rated_after=today",
    ):
        response = client.get(f"/api/v1/incidents/?{query}")
        assert response.status_code == 400, query
