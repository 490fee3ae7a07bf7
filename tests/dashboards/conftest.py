"""A small hand-checked dataset for the dashboards: six incidents in the week of Monday 2 November
2026 (plus one before it), with SLA clocks driven through the real engine at chosen instants over an
office calendar (Mon-Fri 09:00-17:00 UTC; respond 1 business hour, resolve 8 business hours).

| inc | group | service | P | logged      | responded   | resolved     | SLA (response / resolution)                 |
|-----|-------|---------|---|-------------|-------------|--------------|---------------------------------------------|
| A   | desk  | mail    | 2 | Mon 09:00   | Mon 09:30   | Mon 15:00    | met (0.5 h) / met (6 h business)             |
| B   | desk  | mail    | 2 | Mon 16:00   | Mon 16:10   | Tue 16:45    | met / met: 7.25 h business, paused awaiting  |
|     |       |         |   |             |             |              | the user Mon 16:30-Tue 10:00 (8.75 h without |
|     |       |         |   |             |             |              | the pause: it would have breached)           |
| C   | infra | erp     | 3 | Mon 10:00   | Mon 12:00   | Wed 10:00    | breached (2 h) / breached (16 h); reopened,  |
|     |       |         |   |             |             |              | 2 reassignments                              |
| D   | infra | erp     | 3 | Tue 09:00   | -           | open         | both running past their deadlines: breached  |
| E   | desk  | mail    | 4 | Tue 11:00   | Tue 11:05   | Tue 11:20    | met / met; first-contact resolution          |
| F   | infra | erp     | 3 | Mon 11:00   | Mon 11:10   | Mon 11:30    | security incident: hidden from managers      |
| G   | desk  | mail    | 2 | Tue 20 Oct  | 20 Oct      | 20 Oct       | outside the period                           |
"""

import datetime

import pytest

from dashboards.filters import Scope
from dashboards.services import facts_refresh
from incidents.models import Incident, StatusPeriod
from itsm import roles
from servicelevels.models import BusinessHours, Calendar, SLAPolicy
from servicelevels.services import Facts, sync_clocks
from tests.configuration.factories import service_ci
from tests.factories import OrganisationFactory, SupportGroupFactory, UserFactory
from tests.incidents.factories import CategoryFactory, make_incident

UTC = datetime.UTC


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=UTC)


WEEK = Scope(since=datetime.date(2026, 11, 2), until=datetime.date(2026, 11, 8))


class Dataset:
    pass


def _drive(incident, facts: dict, steps: list[tuple[datetime.datetime, dict]]) -> None:
    """Run the clock engine over the incident's story: each step changes the facts at an instant."""
    current = dict(facts)
    for when, change in steps:
        current.update(change)
        sync_clocks(record=incident, facts=Facts(**current), now=when)


@pytest.fixture
def dataset(db, settings):
    settings.TIME_ZONE = "UTC"
    data = Dataset()
    data.agent = UserFactory(username="dash_agent", roles=[roles.AGENT])
    data.other_agent = UserFactory(username="dash_agent2", roles=[roles.AGENT])
    data.org = OrganisationFactory(name="Finance")
    data.caller = UserFactory(username="dash_caller", roles=[roles.END_USER], organisation=data.org)
    data.desk = SupportGroupFactory(name="Desk")
    data.infra = SupportGroupFactory(name="Infra")
    data.desk.members.add(data.agent)
    data.infra.members.add(data.other_agent)
    data.mail = service_ci("Mail")
    data.erp = service_ci("ERP")
    data.network = CategoryFactory(name="Network")
    office = Calendar.objects.create(name="Office UTC", time_zone="UTC")
    for weekday in range(5):
        BusinessHours.objects.create(
            calendar=office, weekday=weekday, start=datetime.time(9), end=datetime.time(17)
        )

    def incident(key, *, group, service, priority, logged, **fields):
        row = make_incident(data.agent, short_description=f"Incident {key}")
        Incident.objects.filter(pk=row.pk).update(
            created_at=logged,
            assignment_group=group,
            service=service,
            priority=priority,
            caller=data.caller,
            category=data.network,
            **fields,
        )
        row.refresh_from_db()
        setattr(data, key, row)
        return row

    incident(
        "A",
        group=data.desk,
        service=data.mail,
        priority=2,
        logged=at(2, 9),
        status="closed",
        responded_at=at(2, 9, 30),
        resolved_at=at(2, 15),
        closed_at=at(3, 9),
        assignee=data.agent,
    )
    incident(
        "B",
        group=data.desk,
        service=data.mail,
        priority=2,
        logged=at(2, 16),
        status="resolved",
        responded_at=at(2, 16, 10),
        resolved_at=at(3, 16, 45),
        assignee=data.agent,
    )
    incident(
        "C",
        group=data.infra,
        service=data.erp,
        priority=3,
        logged=at(2, 10),
        status="resolved",
        responded_at=at(2, 12),
        resolved_at=at(4, 10),
        reopen_count=1,
        reassignment_count=2,
    )
    incident(
        "D",
        group=data.infra,
        service=data.erp,
        priority=3,
        logged=at(3, 9),
        status="in_progress",
        assignee=data.other_agent,
    )
    incident(
        "E",
        group=data.desk,
        service=data.mail,
        priority=4,
        logged=at(3, 11),
        status="resolved",
        responded_at=at(3, 11, 5),
        resolved_at=at(3, 11, 20),
        first_contact_resolution=True,
        assignee=data.agent,
    )
    incident(
        "F",
        group=data.infra,
        service=data.erp,
        priority=3,
        logged=at(2, 11),
        status="resolved",
        responded_at=at(2, 11, 10),
        resolved_at=at(2, 11, 30),
        is_security=True,
    )
    incident(
        "G",
        group=data.desk,
        service=data.mail,
        priority=2,
        logged=at(20, 9, month=10),
        status="resolved",
        responded_at=at(20, 9, 30, month=10),
        resolved_at=at(20, 12, month=10),
    )

    # Status periods: only B's (its 17.5 h on hold), so time in each status is checkable by hand.
    StatusPeriod.objects.all().delete()
    for status, start, end, reason in (
        ("new", at(2, 16), at(2, 16, 10), ""),
        ("in_progress", at(2, 16, 10), at(2, 16, 30), ""),
        ("on_hold", at(2, 16, 30), at(3, 10), "awaiting_user"),
        ("in_progress", at(3, 10), at(3, 16, 45), ""),
        ("resolved", at(3, 16, 45), None, ""),
    ):
        StatusPeriod.objects.create(
            incident=data.B,
            status=status,
            started_at=start,
            ended_at=end,
            hold_reason=reason,
            assignment_group=data.desk,
        )

    SLAPolicy.objects.create(name="Office", calendar=office, response_minutes=60, resolution_minutes=480)

    def facts_of(row, status="in_progress"):
        return {
            "priority": row.priority,
            "group_id": row.assignment_group_id,
            "service_id": row.service_id,
            "status": status,
            "started_at": row.created_at,
        }

    _drive(
        data.A,
        facts_of(data.A),
        [
            (at(2, 9), {}),
            (at(2, 9, 30), {"responded_at": at(2, 9, 30)}),
            (at(2, 15), {"resolved_at": at(2, 15), "status": "resolved", "is_open": False}),
        ],
    )
    _drive(
        data.B,
        facts_of(data.B),
        [
            (at(2, 16), {}),
            (at(2, 16, 10), {"responded_at": at(2, 16, 10)}),
            (at(2, 16, 30), {"status": "on_hold:awaiting_user"}),
            (at(3, 10), {"status": "in_progress"}),
            (at(3, 16, 45), {"resolved_at": at(3, 16, 45), "status": "resolved", "is_open": False}),
        ],
    )
    _drive(
        data.C,
        facts_of(data.C),
        [
            (at(2, 10), {}),
            (at(2, 12), {"responded_at": at(2, 12)}),
            (at(4, 10), {"resolved_at": at(4, 10), "status": "resolved", "is_open": False}),
        ],
    )
    _drive(data.D, facts_of(data.D), [(at(3, 9), {})])
    _drive(
        data.E,
        facts_of(data.E),
        [
            (at(3, 11), {}),
            (at(3, 11, 5), {"responded_at": at(3, 11, 5)}),
            (at(3, 11, 20), {"resolved_at": at(3, 11, 20), "status": "resolved", "is_open": False}),
        ],
    )
    _drive(
        data.F,
        facts_of(data.F),
        [
            (at(2, 11), {}),
            (at(2, 11, 10), {"responded_at": at(2, 11, 10)}),
            (at(2, 11, 30), {"resolved_at": at(2, 11, 30), "status": "resolved", "is_open": False}),
        ],
    )
    _drive(
        data.G,
        facts_of(data.G),
        [
            (at(20, 9, month=10), {}),
            (at(20, 9, 30, month=10), {"responded_at": at(20, 9, 30, month=10)}),
            (
                at(20, 12, month=10),
                {"resolved_at": at(20, 12, month=10), "status": "resolved", "is_open": False},
            ),
        ],
    )
    facts_refresh(full=True)
    return data


@pytest.fixture
def manager_user(db):
    return UserFactory(username="dash_manager", roles=[roles.MANAGER])
