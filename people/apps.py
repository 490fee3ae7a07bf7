from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People and groups"

    def ready(self) -> None:
        from people import registrations

        registrations.register()
