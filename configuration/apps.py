from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_defaults(sender, **kwargs) -> None:
    # Also after a test flush, which empties the tables the data migration filled.
    from configuration.defaults import load_defaults

    load_defaults()


class ConfigurationConfig(AppConfig):
    name = "configuration"
    verbose_name = "Configuration management (CMDB)"

    def ready(self) -> None:
        from configuration import registrations

        registrations.register()
        post_migrate.connect(_ensure_defaults, sender=self)
