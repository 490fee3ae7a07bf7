from django.apps import AppConfig


def _load_demo() -> str:
    from dashboards.demo import load_demo

    return load_demo()


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards and reports"

    def ready(self) -> None:
        from dashboards import receivers  # noqa: F401
        from itsm import roles
        from itsm.registry import MenuItem, registry

        managers = frozenset({roles.MANAGER, roles.ADMIN})
        for order, (name, label, icon) in enumerate(
            [
                ("sla", "SLA", "speedometer2"),
                ("backlog", "Backlog and flow", "inboxes"),
                ("trends", "Trends", "graph-up"),
                ("satisfaction", "Self-help and satisfaction", "emoji-smile"),
                ("events", "Events", "broadcast"),
            ]
        ):
            registry.add_menu(
                MenuItem(
                    section="Dashboards",
                    label=label,
                    url_name=f"dashboards:{name}",
                    roles=managers,
                    icon=icon,
                    order=700 + order,
                )
            )
        registry.add_menu(
            MenuItem(
                section="Dashboards",
                label="My dashboard",
                url_name="dashboards:me",
                roles=roles.STAFF_ROLES,
                icon="person-workspace",
                order=690,
            )
        )
        # After every practice's demo data: the facts are built from it in one pass.
        registry.add_demo_loader(900, "dashboards", _load_demo)
