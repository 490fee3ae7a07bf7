"""What the CMDB contributes to the kernel's registries: menu, search, demo data."""

from __future__ import annotations

from itsm import roles
from itsm.registry import MenuItem, SearchProvider, registry

STAFF = frozenset(roles.STAFF_ROLES)


def _load_demo() -> str:
    from configuration.demo import load_demo

    return load_demo()


def register() -> None:
    from configuration.models import ConfigurationItem

    for order, (label, url_name, icon) in enumerate(
        [
            ("Configuration items", "configuration:ci-list", "hdd-network"),
            ("Services", "configuration:service-list", "diagram-3"),
            ("Import", "configuration:import", "upload"),
            ("Audit", "configuration:audit", "clipboard-check"),
        ]
    ):
        registry.add_menu(
            MenuItem(
                section="Configuration",
                label=label,
                url_name=url_name,
                roles=STAFF,
                icon=icon,
                order=300 + order,
            )
        )
    registry.add_search(
        SearchProvider(
            model=ConfigurationItem,
            label="Configuration items",
            title=lambda ci: f"{ci.number} {ci.name}",
            subtitle=lambda ci: ci.ci_class.name,
            order=300,
        )
    )
    registry.add_demo_loader(200, "configuration", _load_demo)
