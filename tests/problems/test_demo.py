"""The problem demo: loads over the people, CMDB and incident demos, is idempotent, and gives the
story the demo needs (a published known error applied to incidents, problems in several states)."""

import pytest

from configuration import demo as cmdb_demo
from incidents import demo as incident_demo
from people import demo as people_demo
from problems import demo
from problems.models import KnownError, Problem, WorkaroundUse

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            people_demo.load_demo()
            cmdb_demo.load_demo()
            incident_demo.load_demo()
            yield demo.load_demo()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_the_story(loaded):
    assert loaded.startswith("4 problems, 2 known errors")
    assert KnownError.objects.get(title=demo.VPN_KE).uses.filter(outcome="worked").exists()
    statuses = set(Problem.objects.values_list("status", flat=True))
    assert {"new", "under_investigation", "known_error", "resolved"} <= statuses
    vpn = KnownError.objects.get(title=demo.VPN_KE)
    assert vpn.publish_to_portal and vpn.problem.incident_links.exists()
    assert vpn.status == "fix_planned" and vpn.fix_proposals.exists()
    assert (
        WorkaroundUse.objects.filter(known_error=vpn).exists()
        or not vpn.problem.incident_links.filter(
            incident__status__in=("new", "in_progress", "on_hold")
        ).exists()
    )


def test_second_run_adds_nothing(loaded):
    before = (Problem.objects.count(), KnownError.objects.count())
    assert demo.load_demo().startswith("0 problems created")
    assert (Problem.objects.count(), KnownError.objects.count()) == before
