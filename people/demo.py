"""Demo data for a first start: the four demo accounts and a small organisation around them.

Idempotent: running it again changes nothing that exists.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.db import transaction

from itsm import roles
from people.models import Location, Organisation, Supplier, SupplierContact, SupportGroup, User

# Demo accounts: (username, password, role, first name, last name). Printed by `make run`.
DEMO_ACCOUNTS = [
    ("agent", "agent-demo", roles.AGENT, "Alex", "Agent"),
    ("manager", "manager-demo", roles.MANAGER, "Morgan", "Manager"),
    ("enduser", "enduser-demo", roles.END_USER, "Eve", "User"),
    ("admin", "admin-demo", roles.ADMIN, "Ada", "Admin"),
]


@transaction.atomic
def load_demo() -> str:
    london, _ = Location.objects.get_or_create(
        name="London HQ", defaults={"address": "1 Demo Street, London", "time_zone": "Europe/London"}
    )
    Location.objects.get_or_create(
        name="London HQ - floor 3", defaults={"parent": london, "time_zone": "Europe/London"}
    )
    paris, _ = Location.objects.get_or_create(name="Paris office", defaults={"time_zone": "Europe/Paris"})
    finance, _ = Organisation.objects.get_or_create(
        code="fin", defaults={"name": "Finance", "email_domain": "finance.example.com"}
    )
    sales, _ = Organisation.objects.get_or_create(
        code="sales", defaults={"name": "Sales", "email_domain": "sales.example.com"}
    )
    Organisation.objects.get_or_create(
        code="it", defaults={"name": "IT department", "email_domain": "example.com"}
    )

    users = {}
    for username, password, role, first, last in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.com",
                "location": london if role != roles.END_USER else paris,
                "organisation": finance if role == roles.END_USER else None,
                "is_staff": role == roles.ADMIN,
                "is_superuser": role == roles.ADMIN,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        users[username] = user

    colleagues = [
        ("fiona", "Fiona", "Finch", finance),
        ("sam", "Sam", "Seller", sales),
        ("sasha", "Sasha", "Sterling", sales),
    ]
    for username, first, last, organisation in colleagues:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "organisation": organisation,
                "email": f"{username}@{organisation.email_domain}",
                "location": paris,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=roles.END_USER))

    tier2, _ = SupportGroup.objects.get_or_create(
        name="Infrastructure (2nd line)",
        defaults={
            "email": "infra@example.com",
            "manager": users["manager"],
            "description": "Servers, storage, networks.",
        },
    )
    desk, _ = SupportGroup.objects.get_or_create(
        name="Service desk",
        defaults={
            "email": "servicedesk@example.com",
            "phone": "+44 20 0000 0000",
            "manager": users["manager"],
            "escalation_group": tier2,
            "description": "First line: logs, classifies and resolves.",
        },
    )
    apps_group, _ = SupportGroup.objects.get_or_create(
        name="Business applications", defaults={"email": "apps@example.com", "manager": users["manager"]}
    )
    desk.members.add(users["agent"])
    tier2.members.add(users["agent"], users["manager"])
    apps_group.members.add(users["manager"])

    supplier, _ = Supplier.objects.get_or_create(
        name="Acme Hosting",
        defaults={
            "contract_reference": "ACME-SUP-2026-17",
            "support_email": "support@acme-hosting.example",
            "support_phone": "+1 555 0100",
            "support_hours": "24x7",
            "contract_expires_on": datetime.date(2027, 12, 31),
        },
    )
    SupplierContact.objects.get_or_create(
        supplier=supplier,
        name="Jordan Lee",
        defaults={"role": "Escalation manager", "email": "jordan@acme-hosting.example"},
    )
    Supplier.objects.get_or_create(
        name="Contoso Software",
        defaults={"contract_reference": "CSW-7781", "support_hours": "Mon-Fri 08:00-18:00 CET"},
    )
    return f"{User.objects.count()} users, {SupportGroup.objects.count()} support groups, {Organisation.objects.count()} organisations"
