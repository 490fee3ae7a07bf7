"""Event statistics against a small dataset counted by hand, in a time zone where a UTC evening is the
next local day; the page, the API, its validation and its query count."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from events import stats
from events.models import Alert, AlertGroup, Event, RawEvent
from incidents.models import Incident
from tests.events.factories import make_source
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db

D0, D1, D2 = datetime.date(2026, 11, 9), datetime.date(2026, 11, 10), datetime.date(2026, 11, 11)


def utc(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=datetime.UTC)


def _events(source, count: int, received_at):
    raws = RawEvent.objects.bulk_create(
        [
            RawEvent(source=source, received_at=received_at, payload={}, idempotency_key=f"{received_at}-{n}")
            for n in range(count)
        ]
    )
    Event.objects.bulk_create(
        [
            Event(
                source=source,
                raw=raw,
                resource="h",
                check_name="c",
                severity="major",
                state="firing",
                classification="exception",
                occurred_at=received_at,
                received_at=received_at,
                dedup_key="k",
            )
            for raw in raws
        ]
    )


def _alert(source, first_seen):
    return Alert.objects.create(
        source=source,
        dedup_key=f"k{Alert.objects.count()}",
        severity="major",
        classification="exception",
        state="closed",
        first_seen_at=first_seen,
        last_seen_at=first_seen,
    )


def _group(cause, opened_at, incident=None):
    return AlertGroup.objects.create(
        anchor=f"a{AlertGroup.objects.count()}",
        title="t",
        state="closed",
        opened_at=opened_at,
        last_alert_at=opened_at,
        probable_cause=cause,
        incident=incident,
    )


def _incident(agent, created_at):
    incident = make_incident(agent)
    Incident.objects.filter(pk=incident.pk).update(created_at=created_at)
    return incident


@pytest.fixture
def dataset(agent, settings):
    """Europe/Paris (UTC+1 in November). By hand:

    prom:   D1: 6 events, 2 alerts, 2 groups sharing incident 1 (created D1)
            D2: 3 events (received 23:30 UTC on D1 = 00:30 local D2), 1 alert, 1 group on incident 2
    zabbix: D2: 4 events, 2 alerts, 1 group on incident 2 (created D2)
    D0 (outside the period): 5 prom events, 1 alert.
    """
    settings.TIME_ZONE = "Europe/Paris"
    timezone.activate("Europe/Paris")
    prom, _ = make_source("prom")
    zabbix, _ = make_source("zabbix")
    _events(prom, 5, utc(D0, 12))
    _alert(prom, utc(D0, 12))
    _events(prom, 6, utc(D1, 10))
    _events(prom, 3, utc(D1, 23, 30))
    _events(zabbix, 4, utc(D2, 9))
    first = _incident(agent, utc(D1, 10, 5))
    second = _incident(agent, utc(D2, 9, 5))
    a1, a2 = _alert(prom, utc(D1, 10)), _alert(prom, utc(D1, 10))
    a3 = _alert(prom, utc(D1, 23, 30))
    z1, _z2 = _alert(zabbix, utc(D2, 9)), _alert(zabbix, utc(D2, 9))
    _group(a1, utc(D1, 10, 1), first)
    _group(a2, utc(D1, 10, 1), first)
    _group(a3, utc(D1, 23, 31), second)
    _group(z1, utc(D2, 9, 1), second)
    yield {"prom": prom, "zabbix": zabbix}
    timezone.deactivate()


def _figures(f) -> tuple:
    return (f.events, f.alerts, f.groups, f.incidents)


def test_figures_per_source_per_day_and_the_noise_reduction_ratio(agent, dataset, django_assert_num_queries):
    with django_assert_num_queries(8):  # the user's roles, then seven aggregates
        result = stats.statistics(agent, since=D1, until=D2)
    by_source = {source.name: figures for source, figures in result.by_source}
    assert _figures(by_source["prom"]) == (9, 3, 3, 2)
    assert _figures(by_source["zabbix"]) == (4, 2, 1, 1)
    by_day = dict(result.by_day)
    assert _figures(by_day[D1]) == (6, 2, 2, 1)
    assert _figures(by_day[D2]) == (7, 3, 2, 1)  # incident 2 once, though fed by both sources
    assert _figures(result.total) == (13, 5, 4, 2)
    assert result.total.noise_reduction == 6.5 and by_source["prom"].noise_reduction == 4.5
    assert by_source["prom"].events_per_alert == 3.0
    only_zabbix = stats.statistics(agent, since=D0, until=D2, source=dataset["zabbix"])
    assert _figures(only_zabbix.total) == (4, 2, 1, 1)
    with_d0 = stats.statistics(agent, since=D0, until=D2)
    assert _figures(with_d0.total) == (18, 6, 4, 2)


def test_statistics_api_and_page(api_as, client_as, agent, end_user, dataset):
    api = api_as(agent)
    body = api.get("/api/v1/events/statistics/", {"since": "2026-11-10", "until": "2026-11-11"}).json()
    assert body["total"] == {
        "events": 13,
        "alerts": 5,
        "groups": 4,
        "incidents": 2,
        "noise_reduction": 6.5,
        "events_per_alert": 2.6,
    }
    assert [(d["day"], d["events"]) for d in body["by_day"]] == [("2026-11-10", 6), ("2026-11-11", 7)]
    assert [s["source_name"] for s in body["by_source"]] == ["prom", "zabbix"]
    bad = api.get("/api/v1/events/statistics/", {"since": "2026-11-12", "until": "2026-11-11"})
    assert bad.status_code == 400 and "since" in bad.json()["errors"]
    bad = api.get("/api/v1/events/statistics/", {"since": "yesterday", "source": "x"})
    assert bad.status_code == 400 and {"since", "source"} <= set(bad.json()["errors"])
    bad = api.get("/api/v1/events/statistics/", {"since": "2020-01-01", "until": "2026-01-01"})
    assert bad.status_code == 400 and "366" in bad.json()["errors"]["since"][0]
    assert api_as(end_user).get("/api/v1/events/statistics/").status_code == 403

    page = client_as(agent).get("/events/statistics/", {"since": "2026-11-10", "until": "2026-11-11"})
    html = page.content.decode()
    assert page.status_code == 200 and '<div class="fs-4" id="noise-reduction">6.5</div>' in html
    assert "2026-11-11" in html and "zabbix" in html
    assert client_as(agent).get("/events/statistics/", {"since": "nonsense"}).status_code == 200
