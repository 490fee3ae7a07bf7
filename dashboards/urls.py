from django.urls import path

from dashboards import views
from dashboards.queries import DASHBOARDS

app_name = "dashboards"

urlpatterns = [
    path("", views.Dashboard.as_view(name="sla"), name="index"),
    path("me/", views.MyDashboard.as_view(), name="me"),
    *[path(f"{name}/", views.Dashboard.as_view(name=name), name=name) for name in DASHBOARDS],
]
