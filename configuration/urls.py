from django.urls import path

from configuration import views

app_name = "configuration"

urlpatterns = [
    path("cis/", views.CIList.as_view(), name="ci-list"),
    path("cis/new/", views.CIFormView.as_view(), name="ci-create"),
    path("cis/picker/", views.CIPicker.as_view(), name="ci-picker"),
    path("cis/<int:pk>/", views.CIDetail.as_view(), name="ci-detail"),
    path("cis/<int:pk>/edit/", views.CIFormView.as_view(), name="ci-edit"),
    path("cis/<int:pk>/map/", views.CIMap.as_view(), name="ci-map"),
    path("cis/<int:pk>/map.json", views.CIMapData.as_view(), name="ci-map-data"),
    path("services/", views.ServiceList.as_view(), name="service-list"),
    path("import/", views.ImportView.as_view(), name="import"),
    path("audit/", views.AuditView.as_view(), name="audit"),
]
