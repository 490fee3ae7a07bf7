from django.apps import AppConfig


class ServicelevelsConfig(AppConfig):
    name = "servicelevels"
    verbose_name = "Service levels (SLA)"
