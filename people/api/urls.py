from rest_framework.routers import DefaultRouter

from people.api import views

router = DefaultRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("support-groups", views.SupportGroupViewSet, basename="supportgroup")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("suppliers", views.SupplierViewSet, basename="supplier")
router.register("locations", views.LocationViewSet, basename="location")

app_name = "people-api"
urlpatterns = router.urls
