from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_defaults(sender, **kwargs) -> None:
    # Also after a test flush, which empties the tables the data migration filled.
    from incidents.defaults import load_defaults

    load_defaults()


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incident management"

    def ready(self) -> None:
        from incidents import registrations, sla

        registrations.register()
        sla.register()
        post_migrate.connect(_ensure_defaults, sender=self)
