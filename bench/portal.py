"""Benchmark "portal" (issue 8): the portal's home page for an end user with 200 tickets, and the
portal's search over 50,000 articles; target p95 <= 100 ms each.

Seeding (a Django subprocess, fixed seed): the knowledge benchmark's 50,000 articles
(``bench.knowledge.seed_articles``, shared in ``itsm_bench``; ``BENCH_KNOWLEDGE_SCALE`` scales
them), an organisation with two live services, a published known error, and an end user who raised
200 incidents through ``incidents.services.incident_create`` (one major incident on their service
from someone else, with a public update). Idempotent.

Loads (127.0.0.1, session cookie of the end user, each bounded to ``REQUESTS`` or ``MAX_SECONDS``),
at concurrency 1 and 4: ``/portal/`` (majors, open tickets, popular articles, the visit upsert),
``/portal/tickets/`` (the 100 newest of the 200), ``/api/v1/portal/tickets/`` (50 a page), and
``/portal/search/?q=`` for a common word, a rare word and two words.
"""

from __future__ import annotations

import random

from bench.loadgen import run_load
from bench.runner import call_in_django, http_get, login

USERNAME, PASSWORD = "bench-portal-user", "bench-password"
TICKETS = 200
CONCURRENCIES = (1, 4)
REQUESTS, MAX_SECONDS, WARMUP = 300, 15.0, 20
PATHS = {
    "home": "/portal/",
    "my_tickets_page": "/portal/tickets/",
    "my_tickets_api": "/api/v1/portal/tickets/",
    "search_common": "/portal/search/?q=password",
    "search_rare": "/portal/search/?q=kerberos",
    "search_two_words": "/portal/search/?q=vpn+disconnects",
}


def seed_portal() -> dict:
    """Inside Django: the end user, their organisation's services and 200 tickets (idempotent)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from configuration.models import CIClass, ConfigurationItem
    from incidents import services
    from incidents.models import Incident
    from people.models import Organisation, User

    organisation, _ = Organisation.objects.get_or_create(
        code="bportal", defaults={"name": "Bench portal org"}
    )
    user, _ = User.objects.get_or_create(
        username=USERNAME, defaults={"password": make_password(PASSWORD), "organisation": organisation}
    )
    user.groups.add(Group.objects.get_or_create(name="end_user")[0])
    agent, _ = User.objects.get_or_create(username="bench-portal-agent")
    agent.groups.add(
        Group.objects.get_or_create(name="agent")[0], Group.objects.get_or_create(name="manager")[0]
    )
    service_class = CIClass.objects.filter(is_service=True).order_by("id").first()
    service_ids = []
    for name in ("Bench portal mail", "Bench portal VPN"):
        service, _ = ConfigurationItem.objects.get_or_create(name=name, defaults={"ci_class": service_class})
        service.organisations.add(organisation)
        service_ids.append(service.pk)
    existing = Incident.objects.filter(caller=user).count()
    rng = random.Random(20261127)
    services_list = list(ConfigurationItem.objects.filter(pk__in=service_ids))
    for index in range(existing, TICKETS):
        incident = services.incident_create(
            actor=user,
            fields={
                "caller": user,
                "channel": "portal",
                "short_description": f"Bench portal ticket {index}: outlook asks for a password",
                "service": rng.choice(services_list),
            },
        )
        if index % 3 == 0:
            services.incident_start(incident=incident, actor=agent)
            services.incident_resolve(
                incident=incident, actor=agent, resolution_code="solved_workaround", resolution_notes="Done"
            )
    if not Incident.objects.filter(is_major=True, service_id__in=service_ids).exists():
        major = services.incident_create(
            actor=agent, fields={"short_description": "Bench mail outage", "service": services_list[0]}
        )
        services.incident_declare_major(incident=major, actor=agent, reason="Bench", incident_manager=agent)
        services.incident_comment(incident=major, actor=agent, body="We are restarting the mail servers.")
    return {"tickets": Incident.objects.filter(caller=user).count()}


def seed(env: dict[str, str]) -> dict:
    articles = call_in_django(env, "bench.knowledge:seed_articles", timeout=3600)
    portal = call_in_django(env, "bench.portal:seed_portal", timeout=1800)
    return {"articles": articles["articles"], **portal}


def run(port: int, seeded: dict) -> list[dict]:
    cookie = login(port, USERNAME, PASSWORD)
    headers = {"Cookie": cookie}
    results = []
    for name, path in PATHS.items():
        status, body = http_get(port, path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        for concurrency in CONCURRENCIES:
            print(f"  {name} at concurrency {concurrency} ...", flush=True)
            figures = run_load(
                port,
                path,
                headers=headers,
                concurrency=concurrency,
                total=REQUESTS,
                max_duration=MAX_SECONDS,
                warmup=WARMUP,
            )
            results.append({"name": f"{name}_c{concurrency}", "path": path, **figures})
    return results
