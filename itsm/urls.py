"""Root URLconf. Each installed practice app that has ``urls.py`` is mounted at ``/<app>/`` and its
``api/urls.py`` at ``/api/v1/<app>/`` (and its ``root_urlpatterns``, if any, at ``/api/v1/``), so the
kernel names no practice app."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from itsm.api.notifications import NotificationViewSet
from itsm.views import core
from itsm.views import notifications as notification_views

KERNEL_APPS = {"itsm"}


def _practice_apps():
    for config in apps.get_app_configs():
        if config.name in KERNEL_APPS:
            continue
        if not config.path.startswith(str(settings.BASE_DIR)) or "site-packages" in config.path:
            continue  # Django's and third-party apps mount their own URLs, if any
        yield config


def _app_patterns():
    ui, api = [], []
    for config in _practice_apps():
        if find_spec(f"{config.name}.urls"):
            ui.append(path(f"{config.label}/", include(f"{config.name}.urls")))
        if find_spec(f"{config.name}.api") and find_spec(f"{config.name}.api.urls"):
            api.append(path(f"api/v1/{config.label}/", include(f"{config.name}.api.urls")))
            # An app may also serve resources beside its own prefix (problems: /api/v1/known-errors/).
            extra = getattr(import_module(f"{config.name}.api.urls"), "root_urlpatterns", None)
            if extra:
                api.append(path("api/v1/", include(extra)))
    return ui, api


_ui, _api = _app_patterns()
_kernel_api = SimpleRouter()
_kernel_api.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("", core.home, name="home"),
    path("search/", core.search, name="search"),
    path("attachments/<int:pk>/download/", core.attachment_download, name="attachment-download"),
    path("healthz", core.healthz, name="healthz"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/bell/", notification_views.bell, name="notification-bell"),
    path("notifications/read/", notification_views.notification_mark_read, name="notification-mark-read"),
    path(
        "notifications/settings/",
        notification_views.notification_preferences,
        name="notification-preferences",
    ),
    path("notifications/<int:pk>/", notification_views.notification_open, name="notification-open"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path(
        "api/v1/attachments/<int:pk>/download/", core.api_attachment_download, name="api-attachment-download"
    ),
    path("api/v1/", include(_kernel_api.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *_api,
    *_ui,
]
