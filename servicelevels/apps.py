from django.apps import AppConfig


class ServicelevelsConfig(AppConfig):
    name = "servicelevels"
    verbose_name = "Service levels (SLA)"

    def ready(self) -> None:
        from itsm.registry import registry

        registry.add_notification_kind("sla.warning", "SLA warning: a target is partly used")
        registry.add_notification_kind("sla.breach", "SLA breach")
        registry.add_notification_kind("sla.escalation", "SLA escalation step")
