"""What flows through a processing batch: the raw event on its way (``Item``), an alert the batch
wrote (``Touched``) and the batch's counts (``BatchResult``)."""

from __future__ import annotations

from dataclasses import dataclass

from configuration.models import ConfigurationItem
from events.models import EventSource, RawEvent
from events.normalise import Normalised


@dataclass
class BatchResult:
    """What one batch did, counted (tasks return it; tests and the sweeper read it)."""

    raw: int = 0
    events: int = 0
    dropped: int = 0
    invalid: int = 0
    alerts_opened: int = 0
    alerts_closed: int = 0
    groups_opened: int = 0
    incidents_opened: int = 0
    incidents_resolved: int = 0


@dataclass
class Item:
    """One raw event on its way through the batch."""

    raw: RawEvent
    source: EventSource
    event: Normalised
    ci: ConfigurationItem | None = None
    classification: str = ""
    rule_id: int | None = None
    dropped: bool = False
    alert_id: int | None = None
    warning_incident: bool = False  # a matching rule says a warning opens a low-priority incident


@dataclass
class Touched:
    """An alert written in this batch."""

    id: int
    key: tuple[int, str]
    inserted: bool
    group_id: int | None
    classification: str
    severity: str
    ci_id: int | None
    resource: str
    check_name: str
    source_id: int
