"""Operators assign an alert group to a person and/or a support group (the event console's "who is
looking into this"). Independent of the group's incident, which has its own assignment."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from events.models import AlertGroup
from itsm import roles


@transaction.atomic
def group_assign(*, group: AlertGroup, actor, assignee=None, assignment_group=None) -> AlertGroup:
    """Assign the group (None clears either part). The assignee must work tickets and be active, and
    a member of the support group when both are given; the group must be active. No-op when nothing
    changes. Locks the group's row."""
    errors = {}
    if assignee is not None and not (assignee.is_active and roles.is_staff_role(assignee)):
        errors["assignee"] = [f"{assignee.get_username()} does not work tickets; assign a member of staff."]
    if assignment_group is not None and not assignment_group.is_active:
        errors["assignment_group"] = [f"{assignment_group.name} is inactive."]
    if (
        not errors
        and assignee is not None
        and assignment_group is not None
        and not assignment_group.members.filter(pk=assignee.pk).exists()
    ):
        errors["assignee"] = [f"{assignee.get_username()} is not a member of {assignment_group.name}."]
    if errors:
        raise ValidationError(errors)
    locked = AlertGroup.objects.select_for_update().get(pk=group.pk)
    new = (getattr(assignee, "pk", None), getattr(assignment_group, "pk", None))
    if (locked.assignee_id, locked.assignment_group_id) == new:
        return locked
    locked.assignee = assignee
    locked.assignment_group = assignment_group
    locked.save(update_fields=["assignee", "assignment_group"])
    return locked
