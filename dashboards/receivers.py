"""Keep the dashboards' figures in step with incident writes: queue an incident's facts for refresh in
the transaction that changes it (``incident_changed``), and take a deleted incident out of them."""

from __future__ import annotations

from django.db import connection
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from dashboards.services import facts_forget
from incidents.models import Incident
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


@receiver(pre_delete, sender=Incident, dispatch_uid="dashboards.forget_fact")
def forget_fact(sender, instance, **kwargs) -> None:
    """An incident deleted outright (in the admin): Django's deletion runs its pre_delete receivers
    inside its transaction, while the facts still say which days they counted on."""
    facts_forget(incident_id=instance.pk)
