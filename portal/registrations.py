"""What the portal contributes to the kernel's registries: end users' home page, where end users
follow an incident (notifications link there), the agents' "Portal preview" menu item, demo data."""

from __future__ import annotations

from django.urls import reverse

from itsm import roles
from itsm.registry import MenuItem, registry


def _ticket_url(incident) -> str:
    return reverse("portal:ticket", args=[incident.pk])


def _load_demo() -> str:
    from portal.demo import load

    return load()


def register() -> None:
    registry.add_role_home(roles.END_USER, "portal:home")
    registry.add_end_user_url("incidents.incident", _ticket_url)
    registry.add_menu(
        MenuItem(
            section="Self-help",
            label="Portal (preview)",
            url_name="portal:home",
            roles=frozenset(roles.STAFF_ROLES),
            icon="window",
            order=900,
        )
    )
    registry.add_demo_loader(700, "portal", _load_demo)
