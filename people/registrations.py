"""What the people app contributes to the kernel's registries: menu, search, demo data."""

from __future__ import annotations

from itsm import roles
from itsm.registry import MenuItem, SearchProvider, registry

STAFF = frozenset(roles.STAFF_ROLES)


def register() -> None:
    from people.demo import DEMO_ACCOUNTS, load_demo
    from people.models import Location, Organisation, Supplier, SupportGroup, User

    for order, (label, url_name, icon) in enumerate(
        [
            ("Users", "people:user-list", "person"),
            ("Support groups", "people:supportgroup-list", "people"),
            ("Organisations", "people:organisation-list", "building"),
            ("Suppliers", "people:supplier-list", "truck"),
            ("Locations", "people:location-list", "geo-alt"),
        ]
    ):
        registry.add_menu(
            MenuItem(
                section="People", label=label, url_name=url_name, roles=STAFF, icon=icon, order=500 + order
            )
        )

    registry.add_search(
        SearchProvider(
            model=User, label="Users", title=str, subtitle=lambda user: user.email or user.username, order=500
        )
    )
    registry.add_search(
        SearchProvider(
            model=SupportGroup,
            label="Support groups",
            title=str,
            subtitle=lambda group: group.email,
            order=510,
        )
    )
    registry.add_search(
        SearchProvider(
            model=Organisation, label="Organisations", title=str, subtitle=lambda org: org.code, order=520
        )
    )
    registry.add_search(
        SearchProvider(
            model=Supplier,
            label="Suppliers",
            title=str,
            subtitle=lambda supplier: supplier.contract_reference,
            order=530,
        )
    )
    registry.add_search(
        SearchProvider(
            model=Location,
            label="Locations",
            title=str,
            subtitle=lambda location: location.address,
            order=540,
        )
    )
    registry.add_demo_loader(100, "people", load_demo)
    for username, password, role, *_names in DEMO_ACCOUNTS:
        if (role, username, password) not in registry.demo_accounts:
            registry.demo_accounts.append((role, username, password))
