from django.urls import path

from dashboards.api import views

app_name = "dashboards-api"

urlpatterns = [
    path("me/", views.MyDashboardView.as_view(), name="me"),
    *[path(f"{name}/", view.as_view(), name=name) for name, view in views.VIEWS.items()],
]
