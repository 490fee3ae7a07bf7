"""The trend page's weekly rollup: complete weeks read from ``IncidentWeekCount`` give the same report
as counting the incidents live, for staff and for the security team (security incidents apart)."""

import datetime

import pytest
from django.utils import timezone

from configuration.models import CIClass
from incidents.models import Incident
from itsm import roles
from problems import tasks, trends
from problems.models import IncidentWeekCount
from tests.configuration.factories import CIFactory
from tests.factories import UserFactory
from tests.incidents.factories import CategoryFactory, make_incident
from tests.problems.factories import make_problem

pytestmark = pytest.mark.django_db

KEYS = ("week_list", "totals", "by_ci", "by_category", "by_service", "top_recurring", "unlinked_count")


def _at(incident, days: int) -> None:
    Incident.objects.filter(pk=incident.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))


@pytest.fixture
def history(agent):
    """Incidents over six weeks: CIs, services, categories and subcategories, some linked to a problem,
    security incidents of another user and of the agent."""
    server = CIClass.objects.get(slug="server")
    service_class = CIClass.objects.get(slug="business-service")
    mail, web = CIFactory(name="mail-01", ci_class=server), CIFactory(name="web-01", ci_class=server)
    shop = CIFactory(name="Online shop", ci_class=service_class)
    network = CategoryFactory(name="Network")
    vpn = CategoryFactory(name="VPN", parent=network)
    email = CategoryFactory(name="E-mail")
    made = []
    for day in (1, 3, 9, 10, 16, 17, 17, 24, 30, 38):
        made.append(
            make_incident(
                agent,
                short_description=f"Incident of day {day}",
                cis=[mail] if day % 2 else [mail, web],
                category=network if day % 3 else email,
                subcategory=vpn if day % 3 else None,
                service=shop if day % 4 else None,
            )
        )
        _at(made[-1], day)
    make_problem(agent, incidents=made[2:4])
    security = UserFactory(roles=[roles.AGENT, roles.SECURITY])
    for who, day in ((security, 11), (agent, 12)):
        secret = make_incident(
            who, short_description="Phishing", is_security=True, cis=[web], category=email, caller=who
        )
        _at(secret, day)
    return {"security": security}


def _report(user):
    report = trends.trend_report(user, weeks=8)
    return {key: report[key] for key in KEYS}, report["rollup_until"]


def test_the_rollup_gives_the_same_report_as_counting_live(history, agent):
    live_agent, rolled = _report(agent)
    live_security, _ = _report(history["security"])
    assert rolled is None and sum(live_agent["totals"]) == 11  # the agent's own security incident counts
    assert sum(live_security["totals"]) == 12
    assert live_agent["unlinked_count"] == 9 and live_agent["top_recurring"]

    assert tasks.refresh_trends.apply().get()["weeks"] == trends.ROLLUP_WEEKS
    assert IncidentWeekCount.objects.filter(dimension="all", is_security=True).exists()
    rolled_agent, rolled = _report(agent)
    rolled_security, _ = _report(history["security"])
    assert rolled == IncidentWeekCount.objects.first().refreshed_at
    assert rolled_agent == live_agent
    assert rolled_security == live_security


def test_incidents_since_the_last_refresh_are_counted_live(history, agent):
    """The last refresh was eight days ago (and in another week): what came since is counted live."""
    live, _ = _report(agent)
    eight_days_ago = timezone.now() - datetime.timedelta(days=8)
    trends.refresh_rollup(now=eight_days_ago)
    rolled, until = _report(agent)
    assert until == eight_days_ago and rolled == live
    # A rollup that does not reach back to the page's first week is not used.
    trends.refresh_rollup(weeks=2)
    assert trends.trend_report(agent, weeks=8)["rollup_until"] is None


def test_the_trends_page_reads_the_rollup(history, agent, client_as):
    trends.refresh_rollup()
    response = client_as(agent).get("/problems/trends/", {"weeks": "26"})
    assert response.status_code == 200 and response.context["rollup_until"] is not None
    assert sum(response.context["totals"]) == 11 and "mail-01" in response.content.decode()
