"""Writes to people, groups, organisations, suppliers and locations. Every write is recorded."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from itsm import roles, services
from itsm.models import ChangeRecord
from people.models import User


@transaction.atomic
def user_create(
    *, actor, username: str, password: str | None = None, role_names: Iterable[str] = (), **fields
) -> User:
    """Create a user with roles. Without a password the account cannot sign in until one is set."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username '{username}' is taken."})
    user = User(username=username, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    role_list = sorted(set(role_names))
    _set_roles(user, role_list)
    changes = {k: {"old": None, "new": v} for k, v in fields.items() if v not in (None, "", [])}
    changes["username"] = {"old": None, "new": username}
    if role_list:
        changes["roles"] = {"old": [], "new": role_list}
    services.history_record(instance=user, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    return user


def _set_roles(user: User, role_names: list[str]) -> None:
    unknown = set(role_names) - set(roles.ALL_ROLES)
    if unknown:
        raise ValidationError(
            {"roles": f"Unknown role(s): {', '.join(sorted(unknown))}. Known: {', '.join(roles.ALL_ROLES)}."}
        )
    groups = list(Group.objects.filter(name__in=role_names))
    keep = user.groups.exclude(name__in=roles.ALL_ROLES)
    user.groups.set([*keep, *groups])
    roles.forget(user)


@transaction.atomic
def user_update(
    *,
    actor,
    user: User,
    changes: dict,
    role_names: Iterable[str] | None = None,
    expected_version: int | None = None,
) -> User:
    """Change a user's fields and, when given, their roles; both recorded in the history."""
    updated = services.record_update(
        instance=user, actor=actor, changes=changes, expected_version=expected_version
    )
    if role_names is not None:
        before = sorted(roles.roles_of(updated) - ({roles.ADMIN} if updated.is_superuser else set()))
        after = sorted(set(role_names))
        if before != after:
            _set_roles(updated, after)
            updated.version += 1
            updated.save(update_fields=["version"])
            services.history_record(
                instance=updated,
                actor=actor,
                action=ChangeRecord.Action.UPDATE,
                changes={"roles": {"old": before, "new": after}},
            )
    return updated


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> None:
    """Set a password after Django's password validators; the history notes it without the value."""
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.save(update_fields=["password"])
    services.history_record(
        instance=user,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        changes={"password": {"old": "(hidden)", "new": "(changed)"}},
    )


@transaction.atomic
def support_group_set_members(*, actor, group, members: Iterable[User], expected_version: int | None = None):
    """Replace a support group's members (recorded as one change)."""
    return services.record_update(
        instance=group, actor=actor, changes={"members": list(members)}, expected_version=expected_version
    )
