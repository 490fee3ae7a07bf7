"""Recurring-incident detection on a crafted history, candidates from repeated alerts, and the
re-assessment task run twice."""

import datetime

import pytest
from django.utils import timezone

from configuration.models import CIClass
from itsm import roles
from itsm.models import Notification
from problems import detection, tasks
from problems.models import ProblemCandidate
from tests.configuration.factories import CIFactory
from tests.factories import UserFactory
from tests.incidents.factories import CategoryFactory, make_incident
from tests.problems.factories import make_known_error, make_problem

pytestmark = pytest.mark.django_db


def _age(incident, days: int):
    type(incident).objects.filter(pk=incident.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=days)
    )


@pytest.fixture
def history(agent):
    """A cluster on one CI (4 alike within the window), noise on the same CI, noise elsewhere,
    an old occurrence outside the window, and a cluster already linked to a problem."""
    server = CIClass.objects.get(slug="server")
    mail, web, files = (CIFactory(name=name, ci_class=server) for name in ("mail-01", "web-01", "files-01"))
    cluster = [
        make_incident(agent, short_description=text, cis=[mail])
        for text in (
            "Mail server queue stuck, emails not delivered",
            "Emails stuck in mail queue on mail-01",
            "Outgoing emails not delivered, queue stuck",
            "mail queue stuck again, nothing delivered",
        )
    ]
    noise = [
        make_incident(agent, short_description="Password expired for the mail admin", cis=[mail]),
        make_incident(agent, short_description="New monitor request", cis=[web]),
        make_incident(agent, short_description="Website slow for customers", cis=[web]),
    ]
    old = make_incident(agent, short_description="Mail queue stuck, emails not delivered", cis=[files])
    _age(old, 60)
    linked = [
        make_incident(agent, short_description="File share full, cannot save", cis=[files]) for _ in range(3)
    ]
    make_problem(agent, incidents=linked)
    return {"mail": mail, "cluster": cluster, "noise": noise, "old": old, "linked": linked}


def test_finds_the_cluster_and_ignores_noise_old_and_linked(history):
    result = detection.detect_recurring()
    candidate = ProblemCandidate.objects.get()
    assert result.proposed == 1
    assert candidate.ci == history["mail"] and candidate.rule == "ci_text"
    assert set(candidate.incidents.values_list("pk", flat=True)) == {i.pk for i in history["cluster"]}
    assert candidate.incident_count == 4 and "mail-01" in candidate.explanation
    # Run again: the same candidate, nothing new proposed.
    again = detection.detect_recurring()
    assert again.proposed == 0 and again.updated == 1 and ProblemCandidate.objects.count() == 1


def test_a_new_occurrence_joins_the_open_candidate(history, agent):
    detection.detect_recurring()
    newest = make_incident(agent, short_description="Emails stuck in the mail queue", cis=[history["mail"]])
    detection.detect_recurring()
    candidate = ProblemCandidate.objects.get()
    assert candidate.incident_count == 5 and newest in candidate.incidents.all()


def test_dismissed_groups_are_not_proposed_again(history, agent, manager):
    detection.detect_recurring()
    candidate = ProblemCandidate.objects.get()
    detection.candidate_dismiss(candidate=candidate, actor=manager, reason="Known maintenance")
    make_incident(agent, short_description="Mail queue stuck, mails not delivered", cis=[history["mail"]])
    result = detection.detect_recurring()
    assert result.proposed == 0 and result.skipped_dismissed == 1
    assert ProblemCandidate.objects.filter(status="proposed").count() == 0


def test_accepting_links_the_incidents_so_they_are_not_proposed_again(history, manager):
    detection.detect_recurring()
    problem = detection.candidate_accept(candidate=ProblemCandidate.objects.get(), actor=manager)
    assert problem.source == "recurring_incidents" and problem.incident_links.count() == 4
    assert problem.cis.get() == history["mail"]
    assert detection.detect_recurring().clusters == 0


def test_same_category_and_ci_class_rule(agent):
    category = CategoryFactory(name="Printing")
    printer = CIClass.objects.get_or_create(slug="printer", defaults={"name": "Printer"})[0]
    texts = [
        "Paper jam",
        "Toner empty",
        "Printer offline",
        "Prints in black only",
        "Driver error",
        "Tray broken",
    ]
    for text in texts:
        make_incident(agent, short_description=text, category=category, cis=[CIFactory(ci_class=printer)])
    result = detection.detect_recurring(category_threshold=5)
    candidate = ProblemCandidate.objects.get()
    assert result.proposed == 1 and candidate.rule == "category_class" and candidate.incident_count == 6
    assert candidate.category == category and candidate.ci_class == printer


def test_managers_are_told_of_a_new_candidate_once_in_the_digest(history, manager):
    detection.detect_recurring()
    detection.detect_recurring()
    assert not Notification.objects.filter(recipient=manager).exists()  # detection tells nobody itself
    assert tasks.candidate_digest.apply().get() == 1
    detection.detect_recurring()
    assert tasks.candidate_digest.apply().get() == 0
    told = Notification.objects.get(recipient=manager, kind="problems.candidate")
    assert told.subject == "1 new proposed problem to accept or dismiss" and "mail-01" in told.body


def test_reassessment_task_runs_twice_and_tells_once(agent):
    owner = UserFactory(roles=[roles.AGENT])
    make_known_error(agent, owner=owner, next_reassessment_on=timezone.localdate())
    assert tasks.reassessments_due.apply().get() == 1
    assert tasks.reassessments_due.apply().get() == 1
    assert Notification.objects.filter(recipient=owner).count() == 1
    assert tasks.detect_recurring.apply().get() == 0


def test_security_incidents_never_feed_a_candidate(agent):
    security = UserFactory(roles=[roles.AGENT, roles.SECURITY])
    ci = CIFactory(name="hr-01")
    for text in ("Phishing mail from the CEO", "Phishing mail from the CEO again", "CEO phishing mail"):
        make_incident(security, short_description=text, cis=[ci], is_security=True)
    assert detection.detect_recurring().examined == 0
    assert not ProblemCandidate.objects.exists()


def test_a_review_asking_for_a_problem_proposes_one_once(agent, manager):
    from incidents import services as incident_services

    major = make_incident(agent, short_description="Core switch down")
    child = make_incident(agent, short_description="No network on floor 3")
    incident_services.incident_set_parent(incident=child, actor=agent, parent=major)
    major = incident_services.incident_declare_major(incident=major, actor=manager, reason="Whole site")
    major = incident_services.incident_resolve(
        incident=major, actor=manager, resolution_code="solved_permanently", resolution_notes="Rebooted"
    )
    review = {"what_happened": "Switch firmware bug", "causes": "Firmware 9.1 leaks memory"}
    incident_services.review_save(incident=major, actor=manager, data=review)
    assert not ProblemCandidate.objects.exists()
    incident_services.review_save(incident=major, actor=manager, data={**review, "problem_requested": True})
    incident_services.review_save(
        incident=major, actor=manager, data={**review, "lessons": "Patch sooner", "problem_requested": True}
    )
    candidate = ProblemCandidate.objects.get()
    assert candidate.rule == "review" and candidate.explanation == "Firmware 9.1 leaks memory"
    assert set(candidate.incidents.all()) == {major, child}
    problem = detection.candidate_accept(candidate=candidate, actor=manager)
    assert problem.source == "major_incident" and problem.incident_links.count() == 2
