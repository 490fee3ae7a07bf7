"""How the engine reaches the records it times without importing their apps.

The record's app registers a ``ClockHandler`` for its model (incidents do in their ``ready()``): how
to load a record, name it, find the people to notify, and run the escalation actions that change
the record (reassign, raise priority) through the app's own services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType


@dataclass(frozen=True)
class ClockHandler:
    model: type
    load_many: Callable[[set[int]], dict[int, Any]]  # ids -> {id: record} (missing ones left out)
    label: Callable[[Any], str]
    people: Callable[[Any, str], list]  # (record, "assignee" | "group" | "manager") -> users
    reassign: Callable[[Any, Any, str], None]  # (record, group, reason)
    raise_priority: Callable[[Any, str], None]  # (record, reason)


_handlers: dict[type, ClockHandler] = {}


def register(handler: ClockHandler) -> None:
    _handlers[handler.model] = handler


def handler_for(content_type: ContentType) -> ClockHandler | None:
    return _handlers.get(content_type.model_class())
