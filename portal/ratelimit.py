"""Cache-based rate limits for what end users write in the portal and its API (tickets, comments).

A fixed window per user and action: ``cache.add`` starts the window's counter, ``cache.incr`` counts
atomically (Redis ``INCR``), so concurrent requests on several web processes share one count. The
limits are settings (``PORTAL_RATE_LIMITS``: action -> (count, seconds)), from the environment.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

ACTIONS = {"incident": "new incidents", "comment": "comments"}


class RateLimited(Exception):
    """Too many writes of one kind: the view answers 429 with this message and Retry-After."""

    def __init__(self, action: str, limit: int, window: int, retry_after: int):
        self.action, self.limit, self.window, self.retry_after = action, limit, window, retry_after
        minutes = max(1, round(retry_after / 60))
        span = f"{window // 60} minutes" if window < 3600 else f"{window // 3600} hour(s)"
        super().__init__(
            f"You have sent {limit} {ACTIONS.get(action, action)} in {span}, the most we accept. "
            f"Please try again in about {minutes} minute{'s' if minutes != 1 else ''}, "
            "or call the service desk if it is urgent."
        )


def limit_for(action: str) -> tuple[int, int]:
    return tuple(settings.PORTAL_RATE_LIMITS[action])


def hit(user, action: str) -> None:
    """Count one ``action`` by ``user``; raise ``RateLimited`` when it goes over the limit."""
    limit, window = limit_for(action)
    if limit <= 0:
        return  # 0 turns the limit off
    now = int(time.time())
    start = now - now % window
    key = f"portal:rate:{action}:{user.pk}:{start}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        raise RateLimited(action, limit, window, retry_after=start + window - now)
