from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ItsmConfig(AppConfig):
    name = "itsm"
    verbose_name = "ITSM kernel"

    def ready(self) -> None:
        from itsm import signals

        post_migrate.connect(signals.create_roles_and_sequences, sender=self)
