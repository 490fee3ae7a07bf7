"""Event statistics: what monitoring sent and what it became, per source and per day, and the noise
reduction ratio (events per incident) - PostgreSQL aggregates (``GROUP BY`` the local day and the
source), seven queries whatever the period.

Each figure is counted on the day it appeared here, in the site's time zone:

- events received: normalised events (dropped and invalid raw events are not events) by ``received_at``;
- alerts: by ``first_seen_at`` (the time of their first event);
- alert groups: by ``opened_at``, attributed to the source of their probable cause;
- incidents opened: distinct incidents linked to alert groups, by the incident's ``created_at``,
  attributed like their groups (an incident fed by two sources counts once in the totals).

Informational events expire after ``EVENTS_RETENTION_DAYS``; figures for older days shrink then.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.utils import timezone

from events.models import Alert, AlertGroup, Event, EventSource

MAX_DAYS = 366
DEFAULT_DAYS = 14


@dataclass
class Figures:
    """Counts for one cell (a source on a day), a source, a day, or the whole period."""

    events: int = 0
    alerts: int = 0
    groups: int = 0
    incidents: int = 0

    @property
    def noise_reduction(self) -> float | None:
        """Events per incident opened: how many events monitoring sent for each incident it took to
        handle them (None without incidents)."""
        return round(self.events / self.incidents, 1) if self.incidents else None

    @property
    def events_per_alert(self) -> float | None:
        return round(self.events / self.alerts, 1) if self.alerts else None

    def add(self, other: Figures) -> None:
        self.events += other.events
        self.alerts += other.alerts
        self.groups += other.groups


@dataclass
class Statistics:
    since: datetime.date
    until: datetime.date
    total: Figures = field(default_factory=Figures)
    by_source: list[tuple[EventSource, Figures]] = field(default_factory=list)
    by_day: list[tuple[datetime.date, Figures]] = field(default_factory=list)
    cells: dict[tuple[datetime.date, int], Figures] = field(default_factory=dict)


def period(since: datetime.date | None, until: datetime.date | None) -> tuple[datetime.date, datetime.date]:
    """The default period: the last ``DEFAULT_DAYS`` days up to today (local)."""
    until = until or timezone.localdate()
    since = since or until - datetime.timedelta(days=DEFAULT_DAYS - 1)
    return since, until


def _bounds(since: datetime.date, until: datetime.date):
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end, tz


def statistics(
    user, *, since: datetime.date, until: datetime.date, source: EventSource | None = None
) -> Statistics:
    """The figures for ``since``..``until`` (local days, both included) of what ``user`` may see."""
    start, end, tz = _bounds(since, until)
    stats = Statistics(since=since, until=until)

    def grouped(queryset, time_field: str, source_field: str, *, count="id", distinct=False):
        queryset = queryset.filter(**{f"{time_field}__gte": start, f"{time_field}__lt": end})
        if source is not None:
            queryset = queryset.filter(**{source_field: source})
        return (
            queryset.annotate(day=TruncDate(time_field, tzinfo=tz), src=F(source_field))
            .values("day", "src")
            .annotate(n=Count(count, distinct=distinct))
            .order_by()
            .values_list("day", "src", "n")
        )

    def cell(day, src) -> Figures:
        return stats.cells.setdefault((day, src), Figures())

    for day, src, n in grouped(Event.objects.visible_to(user), "received_at", "source"):
        cell(day, src).events = n
    for day, src, n in grouped(Alert.objects.visible_to(user), "first_seen_at", "source"):
        cell(day, src).alerts = n
    groups = AlertGroup.objects.visible_to(user)
    for day, src, n in grouped(groups, "opened_at", "probable_cause__source"):
        cell(day, src).groups = n
    with_incident = groups.filter(incident__isnull=False)
    for day, src, n in grouped(
        with_incident, "incident__created_at", "probable_cause__source", count="incident", distinct=True
    ):
        cell(day, src).incidents = n

    # Totals of incidents are distinct over sources (one incident may have groups of two sources).
    incidents = with_incident.filter(incident__created_at__gte=start, incident__created_at__lt=end)
    if source is not None:
        incidents = incidents.filter(probable_cause__source=source)
    per_day = dict(
        incidents.annotate(day=TruncDate("incident__created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("incident", distinct=True))
        .order_by()
        .values_list("day", "n")
    )
    stats.total.incidents = incidents.aggregate(n=Count("incident", distinct=True))["n"]

    days: dict[datetime.date, Figures] = {}
    sources: dict[int | None, Figures] = {}
    for (day, src), figures in stats.cells.items():
        days.setdefault(day, Figures()).add(figures)
        per_source = sources.setdefault(src, Figures())
        per_source.add(figures)
        per_source.incidents += figures.incidents
        stats.total.add(figures)
    for day, figures in days.items():
        figures.incidents = per_day.get(day, 0)
    names = EventSource.objects.in_bulk([pk for pk in sources if pk is not None])
    stats.by_source = sorted(
        ((names[pk], figures) for pk, figures in sources.items() if pk in names),
        key=lambda pair: pair[0].name,
    )
    stats.by_day = sorted(days.items())
    return stats
