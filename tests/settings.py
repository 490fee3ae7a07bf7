"""Test settings: the project's settings plus a small app that exercises the record kernel."""

import os

os.environ.setdefault("HTTPS_ONLY", "0")  # the test client and the live server speak plain http

from itsm.settings import *  # noqa: F403
from itsm.settings import DATABASES, INSTALLED_APPS, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "tests.kernelapp"]
# Concurrent test runs on one server (e.g. two checkouts) keep apart with TEST_DB_SUFFIX.
DATABASES["default"]["TEST"] = {"NAME": "test_itsm" + os.environ.get("TEST_DB_SUFFIX", "")}
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A task per event request: the queued-task flag lives in the shared cache (Redis in production), and
# a per-process cache would neither share it with a worker nor forget it between tests. The tests of
# the flag turn it on themselves (tests/events/test_batching.py).
EVENTS_KICK_SECONDS = 0
ATTACHMENT_MAX_BYTES = 1024 * 1024
WHITENOISE_USE_FINDERS = True
