from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_defaults(sender, **kwargs) -> None:
    # Also after a test flush, which empties the tables.
    from problems.defaults import load_defaults

    load_defaults()


class ProblemsConfig(AppConfig):
    name = "problems"
    verbose_name = "Problem management"

    def ready(self) -> None:
        from problems import receivers, registrations

        registrations.register()
        receivers.connect()
        post_migrate.connect(_ensure_defaults, sender=self)
