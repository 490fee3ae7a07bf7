from rest_framework.routers import DefaultRouter

from servicelevels.api import views

router = DefaultRouter()
router.register("calendars", views.CalendarViewSet, basename="calendar")
router.register("policies", views.SLAPolicyViewSet, basename="slapolicy")
router.register("escalation-policies", views.EscalationPolicyViewSet, basename="escalationpolicy")
router.register("clocks", views.ClockViewSet, basename="clock")

app_name = "servicelevels-api"
urlpatterns = router.urls
