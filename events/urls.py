from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.Console.as_view(), name="console"),
    path("groups/<int:pk>/acknowledge/", views.Acknowledge.as_view(), name="acknowledge"),
]
