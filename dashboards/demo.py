"""Demo data the dashboards read and no other demo writes yet (the portal is being built): callers'
ratings of resolved demo incidents, and portal visits over the last 30 days. Written through the
owning apps' services, then dated like the story; idempotent (nothing when ratings exist)."""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone


def load_demo() -> str:
    from dashboards.services import facts_refresh
    from incidents import services as incidents
    from incidents.models import Incident, SatisfactionResponse
    from itsm import roles
    from knowledge import services as knowledge
    from knowledge.models import PortalVisit
    from people.models import User

    rng = random.Random(9)  # noqa: S311 - repeatable demo data
    rated = 0
    if not SatisfactionResponse.objects.exists():
        resolved = list(
            Incident.objects.filter(
                status__in=["resolved", "closed"], resolved_at__isnull=False, caller__isnull=False
            )
            .select_related("caller")
            .order_by("id")
        )
        for incident in resolved:
            if rng.random() > 0.45:
                continue
            rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 5, 6])[0]
            with transaction.atomic():
                answer = incidents.satisfaction_submit(
                    incident=incident, actor=incident.caller, rating=rating,
                    comment="Quick and clear, thanks." if rating >= 4 else "",
                )  # fmt: skip
                answered = incident.resolved_at + datetime.timedelta(hours=rng.uniform(1, 30))
                SatisfactionResponse.objects.filter(pk=answer.pk).update(
                    created_at=min(answered, timezone.now())
                )
            rated += 1
    visits = 0
    if not PortalVisit.objects.exists():
        people = list(User.objects.filter(groups__name=roles.END_USER, is_active=True).order_by("id"))
        today = timezone.now()
        for days_ago in range(30):
            moment = today - datetime.timedelta(days=days_ago, hours=rng.uniform(0, 6))
            for person in people:
                if rng.random() < 0.35:
                    for _ in range(rng.randint(1, 6)):
                        knowledge.portal_visit_record(user=person, at=moment)
                    visits += 1
    facts = facts_refresh(full=True)
    return f"{rated} ratings, {visits} portal visits, dashboard facts for {facts.rows} incidents"
