"""Kernel Celery tasks: thin wrappers that re-fetch by id and call services."""

from __future__ import annotations

from celery import shared_task

from itsm.health import BEAT_HEARTBEAT_KEY


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    """Record that beat and a worker are alive; /healthz and the admin home page show its age."""
    from django.utils import timezone

    from itsm.models import KernelState

    KernelState.objects.update_or_create(
        key=BEAT_HEARTBEAT_KEY, defaults={"value": {"at": timezone.now().isoformat()}}
    )


@shared_task(ignore_result=True)
def deliver_notifications() -> int:
    """E-mail pending notifications (after each commit that wrote some, and every minute by beat)."""
    from itsm.notifications import deliver_pending

    return deliver_pending()
