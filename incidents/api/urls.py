from rest_framework.routers import SimpleRouter

from incidents.api import views

router = SimpleRouter()
# Reference data first, incidents at the root (no API root view: the list is the root).
router.register("categories", views.CategoryViewSet, basename="category")
router.register("priority-matrix", views.PriorityMatrixViewSet, basename="prioritymatrix")
router.register("routing-rules", views.RoutingRuleViewSet, basename="routingrule")
router.register("saved-views", views.SavedViewViewSet, basename="savedview")
router.register("", views.IncidentViewSet, basename="incident")

app_name = "incidents-api"
urlpatterns = router.urls
