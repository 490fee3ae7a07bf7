"""Incident management's Celery tasks: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def auto_close_resolved() -> int:
    """Close incidents whose caller did not answer the resolution in time (beat, hourly)."""
    from incidents.services import auto_close_resolved as run

    return run()


@shared_task(ignore_result=True)
def remind_stakeholder_updates() -> int:
    """Remind incident managers of overdue stakeholder updates of major incidents (beat, every minute)."""
    from incidents.services import overdue_stakeholder_updates

    return overdue_stakeholder_updates()
