"""WSGI entry point for gunicorn: Django's handler, with ``settings.LEAN_PATHS`` served by a lean
one (itsm/handlers.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")

from itsm.handlers import LeanRouter  # noqa: E402 - after the settings module is chosen

application = LeanRouter(get_wsgi_application())
