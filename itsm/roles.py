"""Roles are Django groups. Everything that asks "may this user ...?" by role goes through here."""

from __future__ import annotations

END_USER = "end_user"
AGENT = "agent"
MANAGER = "manager"
ADMIN = "admin"
SECURITY = "security"
# May declare major incidents and run them (held together with agent or manager).
INCIDENT_MANAGER = "incident_manager"

ALL_ROLES = (END_USER, AGENT, MANAGER, ADMIN, SECURITY, INCIDENT_MANAGER)
# Roles that work in the agent UI and the API, as opposed to end users of the portal.
STAFF_ROLES = frozenset({AGENT, MANAGER, ADMIN, SECURITY, INCIDENT_MANAGER})

ROLE_LABELS = {
    END_USER: "End user",
    AGENT: "Agent",
    MANAGER: "Manager",
    ADMIN: "Administrator",
    SECURITY: "Security team",
    INCIDENT_MANAGER: "Major incident manager",
}


def roles_of(user) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_itsm_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._itsm_roles = cached
    return cached


def forget(user) -> None:
    """Drop every decision cached on the user object (roles, and what apps cached from them)."""
    for name in [key for key in vars(user) if key.startswith("_itsm_")]:
        del user.__dict__[name]


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_staff_role(user) -> bool:
    """Agents, managers, admins and the security team: people who work tickets."""
    return bool(roles_of(user) & STAFF_ROLES)


def primary_role(user) -> str | None:
    """The role whose home page the user lands on: the most privileged one they hold."""
    held = roles_of(user)
    for role in (ADMIN, MANAGER, SECURITY, INCIDENT_MANAGER, AGENT, END_USER):
        if role in held:
            return role
    return None


def staff_ids(user_ids) -> set[int]:
    """Which of ``user_ids`` hold a staff role (or are superusers): one query."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    ids = list(user_ids)
    if not ids:
        return set()
    rows = (
        get_user_model()
        .objects.filter(Q(groups__name__in=STAFF_ROLES) | Q(is_superuser=True), pk__in=ids)
        .values_list("pk", flat=True)
    )
    return set(rows)
