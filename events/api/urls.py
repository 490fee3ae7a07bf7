from django.urls import path
from rest_framework.routers import SimpleRouter

from events.api import checks, console, stats, storms, views

router = SimpleRouter()
router.register("alerts", console.AlertViewSet, basename="alert")
router.register("groups", console.AlertGroupViewSet, basename="alertgroup")
router.register("sources", views.EventSourceViewSet, basename="eventsource")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("checks", checks.CheckViewSet, basename="check")
router.register("storms", storms.StormViewSet, basename="storm")
router.register("maintenance-windows", views.MaintenanceWindowViewSet, basename="maintenancewindow")

app_name = "events-api"
urlpatterns = [
    path("", views.EventIngest.as_view(), name="ingest"),
    path("alertmanager/", views.AlertmanagerIngest.as_view(), name="ingest-alertmanager"),
    path("statistics/", stats.Statistics.as_view(), name="statistics"),
    *router.urls,
]
