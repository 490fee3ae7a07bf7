from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge management"

    def ready(self) -> None:
        from knowledge import registrations

        registrations.register()
