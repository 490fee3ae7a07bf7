"""Race-free deduplication: concurrent first events with one new key make exactly one alert, one
group and one incident (the partial unique constraints decide, not a check-then-insert)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from configuration import services as cmdb
from configuration.models import CIClass
from events import services
from events.models import Alert, AlertGroup, Event, RawEvent
from incidents.models import Incident
from tests.events.factories import at, event, make_source

THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_events_with_one_new_key_make_one_alert():
    source, _token = make_source()
    host = cmdb.ci_create(
        actor=None,
        ci_class=CIClass.objects.get(slug="server"),
        name="db-01",
        identifiers={"hostname": "db-01"},
    )
    now = timezone.now()
    # Distinct deliveries (times differ) of one dedup key, stored as ingestion stores them.
    raws = RawEvent.objects.bulk_create(
        [
            RawEvent(
                source=source,
                received_at=now,
                payload=event(resource="db-01", check="replication", occurred_at=at(n), value=n),
                idempotency_key=f"delivery-{n}",
            )
            for n in range(THREADS)
        ]
    )
    barrier = threading.Barrier(THREADS)
    errors = []

    def process(raw_id: int):
        try:
            barrier.wait()
            services.process_batch(raw_ids=[raw_id])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=process, args=(raw.pk,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    alert = Alert.objects.get()
    assert alert.count == THREADS and alert.ci == host
    assert alert.last_value == THREADS - 1  # the latest occurrence, whatever the commit order
    assert Event.objects.filter(alert=alert).count() == THREADS
    assert AlertGroup.objects.count() == 1 and Incident.objects.count() == 1
    assert RawEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_alerts_on_one_ci_share_one_group_and_one_incident():
    source, _token = make_source()
    cmdb.ci_create(
        actor=None,
        ci_class=CIClass.objects.get(slug="server"),
        name="db-02",
        identifiers={"hostname": "db-02"},
    )
    now = timezone.now()
    threads_count = 20
    raws = RawEvent.objects.bulk_create(
        [
            RawEvent(
                source=source,
                received_at=now,
                payload=event(resource="db-02", check=f"check-{n}"),
                idempotency_key=f"check-{n}",
            )
            for n in range(threads_count)
        ]
    )
    barrier = threading.Barrier(threads_count)
    errors = []

    def process(raw_id: int):
        try:
            barrier.wait()
            services.process_batch(raw_ids=[raw_id])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=process, args=(raw.pk,)) for raw in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Alert.objects.count() == threads_count
    group = AlertGroup.objects.get()
    assert Alert.objects.filter(group=group).count() == threads_count
    assert Incident.objects.count() == 1 and group.incident is not None
