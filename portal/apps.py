from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Self-help portal"

    def ready(self) -> None:
        from portal import registrations

        registrations.register()
