"""Reference data read on every write (routing rules, the priority matrix, SLA policies...), kept in
process memory for a short time instead of queried per request.

A ``ReferenceCache`` holds what its loader returned for ``seconds``. Saving or deleting a row of one
of its models (or changing one of their many-to-many sets) empties it in the process that made the
change at once; other processes (the other web workers, Celery) see the change within ``seconds``.
That delay is the price of not querying reference data on every incident logged; admins change
these tables rarely, and the pages that edit them say nothing else.

What a loader returns is shared by every thread of the process: treat it as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

_ALL: list[ReferenceCache] = []


class ReferenceCache(Generic[T]):
    def __init__(self, name: str, loader: Callable[[], T], *, seconds: float = 30.0) -> None:
        self.name, self.loader, self.seconds = name, loader, seconds
        self._value: tuple[float, T] | None = None
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self) -> T:
        cached = self._value
        if cached is not None and time.monotonic() - cached[0] < self.seconds:
            return cached[1]
        value = self.loader()
        with self._lock:
            self._value = (time.monotonic(), value)
        return value

    def clear(self, **kwargs) -> None:
        """Forget the value (also a signal receiver: it accepts and ignores the signal's arguments)."""
        with self._lock:
            self._value = None

    def follow(self, model_classes: Iterable[type[models.Model]]) -> ReferenceCache[T]:
        """Clear when a row of these models is saved or deleted, or one of their M2M sets changes."""
        for model in model_classes:
            uid = f"refcache-{self.name}-{model._meta.label_lower}"
            post_save.connect(self.clear, sender=model, dispatch_uid=f"{uid}-save", weak=False)
            post_delete.connect(self.clear, sender=model, dispatch_uid=f"{uid}-delete", weak=False)
            for field in model._meta.local_many_to_many:
                m2m_changed.connect(
                    self.clear,
                    sender=field.remote_field.through,
                    dispatch_uid=f"{uid}-{field.name}",
                    weak=False,
                )
        return self


def clear_all() -> None:
    """Forget every cached value (tests do this between tests: each starts from its own data)."""
    for cache in _ALL:
        cache.clear()
