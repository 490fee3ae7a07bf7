from django.apps import AppConfig


def _load_demo() -> str:
    from servicelevels.demo import load_demo

    return load_demo()


class ServicelevelsConfig(AppConfig):
    name = "servicelevels"
    verbose_name = "Service levels (SLA)"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from itsm import roles
        from itsm.registry import MenuItem, registry
        from servicelevels.models import Calendar, SLAPolicy
        from servicelevels.services import forget_policies

        for signal in (post_save, post_delete):
            signal.connect(forget_policies, sender=SLAPolicy, dispatch_uid=f"sla-policies-{signal}")
            signal.connect(forget_policies, sender=Calendar, dispatch_uid=f"sla-calendars-{signal}")
        for through in (SLAPolicy.services.through, SLAPolicy.organisations.through):
            m2m_changed.connect(forget_policies, sender=through, dispatch_uid=f"sla-m2m-{through.__name__}")

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
