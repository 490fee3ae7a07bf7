from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.Console.as_view(), name="console"),
    path("groups/<int:pk>/<slug:action>/", views.GroupAction.as_view(), name="group-action"),
    path("alerts/<int:pk>/events/", views.AlertEvents.as_view(), name="alert-events"),
    path("statistics/", views.Statistics.as_view(), name="statistics"),
    path("checks/", views.CheckList.as_view(), name="checks"),
]
