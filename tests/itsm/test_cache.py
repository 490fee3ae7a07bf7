"""The project's Redis cache backend (real Redis): Django's, with one client kept per connection pool."""

from __future__ import annotations

import os
import uuid

from django.core.cache import caches

from itsm.cache import RedisCache


def test_the_redis_cache_keeps_one_client_and_works(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "itsm.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    assert cache.add("flag", 1, timeout=5) and not cache.add("flag", 1, timeout=5)
    assert cache.incr("flag", 2) == 3
    cache.set("thing", {"a": [1, 2]}, timeout=5)
    assert cache.get("thing") == {"a": [1, 2]}
    assert cache.delete("thing") and cache.get("thing") is None
