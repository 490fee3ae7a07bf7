"""The project package and the framework layer every practice app builds on."""

from .celery import app as celery_app

__all__ = ("celery_app",)
