"""What event management contributes to the kernel's registries: the console menu item and
notification kinds."""

from __future__ import annotations

from itsm import roles
from itsm.registry import MenuItem, registry

STAFF = frozenset(roles.STAFF_ROLES)


def _load_demo() -> str:
    from events.demo import load_demo

    return load_demo()


def register() -> None:
    registry.add_menu(
        MenuItem(
            section="Events",
            label="Event console",
            url_name="events:console",
            roles=STAFF,
            icon="activity",
            order=150,
        )
    )
    registry.add_menu(
        MenuItem(
            section="Events",
            label="Event statistics",
            url_name="events:statistics",
            roles=STAFF,
            icon="bar-chart",
            order=151,
        )
    )
    registry.add_menu(
        MenuItem(
            section="Events",
            label="Active checks",
            url_name="events:checks",
            roles=STAFF,
            icon="heart-pulse",
            order=152,
        )
    )
    registry.add_notification_kind("events.warning", "Monitoring warning on a CI your group owns")
    registry.add_notification_kind("events.storm", "An event source floods (storm mode starts or ends)")
    registry.add_demo_loader(400, "events", _load_demo)
