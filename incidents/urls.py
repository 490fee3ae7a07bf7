from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.Queue.as_view(), name="queue"),
    path("major/", views.MajorQueue.as_view(), name="major"),
    path("new/", views.IncidentCreate.as_view(), name="create"),
    path("<int:pk>/", views.IncidentDetail.as_view(), name="detail"),
    path("<int:pk>/review/", views.IncidentDetail.as_view(), name="review"),
]
