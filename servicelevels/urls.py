from django.urls import path

from servicelevels import views

app_name = "servicelevels"

urlpatterns = [
    path("", views.BreachList.as_view(), name="breaches"),
]
