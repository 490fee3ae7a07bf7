"""Queue an incident's facts for refresh in the transaction that changes it (``incident_changed``)."""

from __future__ import annotations

from django.db import connection
from django.dispatch import receiver

from incidents.signals import incident_changed


@receiver(incident_changed, dispatch_uid="dashboards.queue_fact")
def queue_fact(sender, incident, **kwargs) -> None:
    # One tiny upsert per write; a row already queued is left as it is (no lock waits between writers).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dashboards_pendingfact (incident_id, queued_at) VALUES (%s, now()) "
            "ON CONFLICT (incident_id) DO NOTHING",
            [incident.pk],
        )
