"""Satisfaction with a resolution [INC-10]: only the caller answers, once per resolution, 1 to 5;
a reopened and re-resolved incident may be rated again; a low rating reaches the group's manager."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from incidents import services
from incidents.choices import Status
from incidents.models import SatisfactionResponse
from itsm import roles
from itsm.exceptions import ConflictError
from itsm.models import Notification, TimelineEntry
from tests.factories import UserFactory
from tests.incidents.factories import group_with, make_incident

pytestmark = pytest.mark.django_db


def resolved(incident, agent):
    services.incident_start(incident=incident, actor=agent)
    return services.incident_resolve(
        incident=incident, actor=agent, resolution_code="solved_workaround", resolution_notes="Restarted it"
    )


def test_the_caller_rates_each_resolution_once(agent, end_user, other_end_user):
    incident = make_incident(agent, caller=end_user)
    with pytest.raises(ConflictError, match="not resolved"):
        services.satisfaction_submit(incident=incident, actor=end_user, rating=5)
    incident = resolved(incident, agent)
    with pytest.raises(PermissionDenied):
        services.satisfaction_submit(incident=incident, actor=other_end_user, rating=5)
    with pytest.raises(PermissionDenied):
        services.satisfaction_submit(incident=incident, actor=agent, rating=5)
    for bad in (0, 6, "five", None):
        with pytest.raises(ValidationError) as error:
            services.satisfaction_submit(incident=incident, actor=end_user, rating=bad)
        assert "rating" in error.value.message_dict

    answer = services.satisfaction_submit(
        incident=incident, actor=end_user, rating="4", comment=" Quick fix "
    )
    assert (answer.rating, answer.comment, answer.resolved_at) == (4, "Quick fix", incident.resolved_at)
    assert answer.assignment_group_id == incident.assignment_group_id
    assert TimelineEntry.objects.filter(body__startswith="The caller rated the resolution 4/5").count() == 1
    with pytest.raises(ConflictError, match="already rated"):
        services.satisfaction_submit(incident=incident, actor=end_user, rating=1)

    services.incident_reject_resolution(incident=incident, actor=end_user, reason="Back again")
    incident = services.incident_resolve(
        incident=incident, actor=agent, resolution_code="solved_workaround", resolution_notes="Replaced it"
    )
    services.satisfaction_submit(incident=incident, actor=end_user, rating=5)
    assert list(SatisfactionResponse.objects.filter(incident=incident).values_list("rating", flat=True)) == [
        5,
        4,
    ]
    services.incident_confirm(incident=incident, actor=end_user)
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED


def test_a_low_rating_reaches_the_group_manager(agent, end_user):
    boss = UserFactory(roles=[roles.MANAGER])
    group = group_with(agent, name="Network", manager=boss)
    incident = resolved(make_incident(agent, caller=end_user, assignment_group=group), agent)
    services.satisfaction_submit(incident=incident, actor=end_user, rating=2, comment="Took a week")
    told = Notification.objects.get(recipient=boss)
    assert "Low satisfaction (2/5)" in told.subject and told.body == "Took a week"


def test_answers_are_visible_to_staff_and_their_author(agent, manager, end_user, other_end_user):
    incident = resolved(make_incident(agent, caller=end_user), agent)
    services.satisfaction_submit(incident=incident, actor=end_user, rating=3)
    assert SatisfactionResponse.objects.visible_to(manager).count() == 1
    assert SatisfactionResponse.objects.visible_to(end_user).count() == 1
    assert SatisfactionResponse.objects.visible_to(other_end_user).count() == 0
