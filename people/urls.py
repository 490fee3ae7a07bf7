from django.urls import path

from people import views

app_name = "people"


def _crud(prefix: str, name: str, list_view, detail_view, form_view):
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}-list"),
        path(f"{prefix}/new/", form_view.as_view(), name=f"{name}-create"),
        path(f"{prefix}/<int:pk>/", detail_view.as_view(), name=f"{name}-detail"),
        path(f"{prefix}/<int:pk>/edit/", form_view.as_view(), name=f"{name}-edit"),
    ]


urlpatterns = [
    *_crud("users", "user", views.UserList, views.UserDetail, views.UserFormView),
    *_crud(
        "support-groups",
        "supportgroup",
        views.SupportGroupList,
        views.SupportGroupDetail,
        views.SupportGroupFormView,
    ),
    *_crud(
        "organisations",
        "organisation",
        views.OrganisationList,
        views.OrganisationDetail,
        views.OrganisationFormView,
    ),
    *_crud("suppliers", "supplier", views.SupplierList, views.SupplierDetail, views.SupplierFormView),
    *_crud("locations", "location", views.LocationList, views.LocationDetail, views.LocationFormView),
]
