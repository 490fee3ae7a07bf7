"""The dashboards' demo loader: ratings and portal visits through the owning services, facts built,
idempotent."""

import pytest

from dashboards.demo import load_demo
from dashboards.models import IncidentFact
from incidents.models import SatisfactionResponse
from knowledge.models import PortalVisit

pytestmark = pytest.mark.django_db


def test_demo_rates_resolutions_records_visits_and_builds_the_facts(dataset):
    summary = load_demo()
    answers = SatisfactionResponse.objects.count()
    assert PortalVisit.objects.filter(user=dataset.caller).exists()
    assert IncidentFact.objects.count() == 7
    assert all(a.respondent_id == dataset.caller.pk for a in SatisfactionResponse.objects.all())
    assert "dashboard facts for 7 incidents" in summary
    again = load_demo()
    assert again.startswith("0 ratings, 0 portal visits")
    assert SatisfactionResponse.objects.count() == answers
