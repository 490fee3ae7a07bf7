"""The portal API, mounted at ``/api/v1/portal/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from portal.api import views

router = SimpleRouter()
router.register("tickets", views.PortalTicketViewSet, basename="portal-ticket")
router.register("shared", views.SharedViewSet, basename="portal-shared")

app_name = "portal-api"
urlpatterns = [
    path("services/", views.services_list, name="services"),
    path("categories/", views.categories_list, name="categories"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("search/", views.search, name="search"),
    path("major-incidents/", views.major_incidents, name="major-incidents"),
    *router.urls,
]
