from django.urls import path
from rest_framework.routers import DefaultRouter

from configuration.api import views

router = DefaultRouter()
router.register("cis", views.CIViewSet, basename="ci")
router.register("relationships", views.RelationshipViewSet, basename="relationship")
router.register("classes", views.CIClassViewSet, basename="ciclass")
router.register("relationship-types", views.RelationshipTypeViewSet, basename="relationshiptype")

app_name = "configuration-api"
urlpatterns = [
    path("import/", views.ImportView.as_view(), name="import"),
    path("audit/", views.AuditView.as_view(), name="audit"),
    *router.urls,
]
