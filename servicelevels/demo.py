"""Demo service levels: a 24x7 calendar and a London office calendar with the public holidays of
England, SLA policies per priority, and two escalation policies. Idempotent (matched by name).

Loaded before the incident demo, so demo incidents get clocks as they are logged; the incident demo
then rebuilds them from each incident's (back-dated) status history.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from people.models import User
from servicelevels import calendars, services
from servicelevels.models import (
    Calendar,
    EscalationPolicy,
    EscalationStep,
    SLAPolicy,
    StepAction,
)

HOUR = 60
DAY_OF_WORK = 10 * HOUR  # the office day, 08:00-18:00


@transaction.atomic
def load_demo() -> str:
    always = Calendar.objects.filter(name="24x7").first() or services.calendar_save(
        actor=None, fields={"name": "24x7", "is_24x7": True, "description": "Around the clock."}
    )
    office = Calendar.objects.filter(name="London office hours").first()
    if office is None:
        office = services.calendar_save(
            actor=None,
            fields={
                "name": "London office hours",
                "time_zone": "Europe/London",
                "holiday_country": "GB",
                "holiday_subdivision": "ENG",
                "description": "Monday to Friday 08:00-18:00, public holidays of England.",
            },
            hours=[{"weekday": day, "start": datetime.time(8), "end": datetime.time(18)} for day in range(5)],
        )
        calendars.generate_holidays(office, calendars.this_and_next_years())
        calendars.generate_holidays(office, [datetime.date.today().year - 1])  # noqa: DTZ011 - a year

    standard = _escalation(
        "Standard escalation",
        "Remind the assignee at 75 %; tell the group's manager at breach, and again every hour twice.",
        [
            {"order": 10, "at_percent": 75, "action": StepAction.NOTIFY_ASSIGNEE},
            {
                "order": 20,
                "at_percent": 100,
                "action": StepAction.NOTIFY_MANAGER,
                "repeat_every_minutes": 60,
                "max_repeats": 2,
            },
        ],
    )
    critical = _escalation(
        "Critical escalation",
        "Tell the group's manager at half time and the service manager at 90 %.",
        [
            {"order": 10, "at_percent": 50, "action": StepAction.NOTIFY_MANAGER},
            {"order": 20, "at_percent": 90, "action": StepAction.NOTIFY_USERS, "users": ["manager"]},
        ],
    )
    made = 0
    for order, name, priorities, calendar, respond, resolve, update, escalation, around_the_clock in (
        (10, "P1 critical", [1], always, 15, 4 * HOUR, 30, critical, True),
        (20, "P2 high", [2], always, 30, 8 * HOUR, 2 * HOUR, critical, True),
        (30, "P3 moderate", [3], office, 4 * HOUR, 3 * DAY_OF_WORK, None, standard, False),
        (40, "P4 low", [4], office, 8 * HOUR, 5 * DAY_OF_WORK, None, standard, False),
        (50, "P5 planning", [5], office, 2 * DAY_OF_WORK, 10 * DAY_OF_WORK, None, None, False),
    ):
        _, created = SLAPolicy.objects.get_or_create(
            name=name,
            defaults={
                "order": order,
                "priorities": priorities,
                "calendar": calendar,
                "response_minutes": respond,
                "resolution_minutes": resolve,
                "update_minutes": update,
                "escalation_policy": escalation,
                "notify_24x7": around_the_clock,
            },
        )
        made += created
    return f"{Calendar.objects.count()} calendars, {made} SLA policies"


def _escalation(name: str, description: str, steps: list[dict]) -> EscalationPolicy:
    policy, created = EscalationPolicy.objects.get_or_create(name=name, defaults={"description": description})
    if created:
        for spec in steps:
            users = spec.pop("users", [])
            step = EscalationStep.objects.create(policy=policy, **spec)
            if users:
                step.users.set(User.objects.filter(username__in=users))
    return policy
