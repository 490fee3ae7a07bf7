from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.Queue.as_view(), name="queue"),
    path("major/", views.MajorQueue.as_view(), name="major"),
    path("bulk/", views.Bulk.as_view(), name="bulk"),
    path("views/", views.SavedViewCreate.as_view(), name="view-save"),
    path("views/<int:pk>/delete/", views.SavedViewDelete.as_view(), name="view-delete"),
    path("new/", views.IncidentCreate.as_view(), name="create"),
    path("new/part/<slug:part>/", views.CreatePart.as_view(), name="part"),
    path("<int:pk>/", views.IncidentDetail.as_view(), name="detail"),
    path("<int:pk>/edit/", views.IncidentEdit.as_view(), name="edit"),
    path("<int:pk>/review/", views.ReviewView.as_view(), name="review"),
    path("<int:pk>/major-timeline/", views.MajorTimeline.as_view(), name="major-timeline"),
    path("<int:pk>/confirm/", views.Confirm.as_view(), name="confirm"),
]
