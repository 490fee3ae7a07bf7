from django.apps import AppConfig


class KernelAppConfig(AppConfig):
    name = "tests.kernelapp"
    label = "kernelapp"

    def ready(self):
        from itsm.registry import SearchProvider, registry
        from tests.kernelapp.models import Ticket

        registry.add_search(
            SearchProvider(model=Ticket, label="Tickets", title=lambda t: f"{t.number} {t.title}")
        )
