from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Monitoring and event management"

    def ready(self) -> None:
        from events import registrations

        registrations.register()
