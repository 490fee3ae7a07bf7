from django.apps import AppConfig


def _load_demo() -> str:
    from servicelevels.demo import load_demo

    return load_demo()


class ServicelevelsConfig(AppConfig):
    name = "servicelevels"
    verbose_name = "Service levels (SLA)"

    def ready(self) -> None:
        from itsm import roles
        from itsm.registry import MenuItem, registry

        registry.add_menu(
            MenuItem(
                section="Service levels",
                label="Breaches and risks",
                url_name="servicelevels:breaches",
                roles=frozenset({roles.MANAGER, roles.ADMIN}),
                icon="stopwatch",
                order=500,
            )
        )

        registry.add_demo_loader(250, "servicelevels", _load_demo)
        registry.add_notification_kind("sla.warning", "SLA warning: a target is partly used")
        registry.add_notification_kind("sla.breach", "SLA breach")
        registry.add_notification_kind("sla.escalation", "SLA escalation step")
