"""What incident management contributes to the kernel's registries: menu, search, links, demo data."""

from __future__ import annotations

from itsm import roles
from itsm.registry import LinkTarget, MenuItem, SearchProvider, registry

STAFF = frozenset(roles.STAFF_ROLES)


def _load_demo() -> str:
    from incidents.demo import load_demo

    return load_demo()


def _find_incidents(user, text: str) -> list:
    from incidents.queries import find_for_link

    return find_for_link(user, text)


def register() -> None:
    from incidents.models import Incident

    for order, (label, url_name, icon) in enumerate(
        [
            ("Incident queue", "incidents:queue", "inboxes"),
            ("Log an incident", "incidents:create", "plus-circle"),
            ("Major incidents", "incidents:major", "exclamation-octagon"),
        ]
    ):
        registry.add_menu(
            MenuItem(
                section="Incidents", label=label, url_name=url_name, roles=STAFF, icon=icon, order=100 + order
            )
        )
    registry.add_search(
        SearchProvider(
            model=Incident,
            label="Incidents",
            title=lambda incident: f"{incident.number} {incident.short_description}",
            subtitle=lambda incident: incident.get_status_display(),
            order=100,
        )
    )
    registry.add_link_target(
        LinkTarget(model=Incident, label="Incident", find=_find_incidents, kinds=("related",), order=100)
    )
    registry.add_demo_loader(300, "incidents", _load_demo)
