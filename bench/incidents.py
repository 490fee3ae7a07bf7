"""Benchmark "incidents" (B3 + B4): a million incidents; bulk load, queue and API list, creates, suggestions.

Works in its own database, ``itsm_bench_incidents`` (never ``itsm_bench``, the other benchmarks'):
``seed`` points the runner's environment (shared with gunicorn) there, creates and migrates it.
``python -m bench.incidents`` runs it without the runner touching ``itsm_bench`` at all (under the
runner's ``BenchLock``, so it never shares the cores with another benchmark run);
``python -m bench incidents`` works too (the runner then migrates ``itsm_bench`` first, as for
every benchmark, but this one writes only to its own database).

Seeding (a Django subprocess, fixed random seed, ``BENCH_INCIDENTS_SCALE`` times the full size):

* reference data through the ORM: 20 support groups, 200 agents (the bench agent ``bench-agent``
  in three groups), 20,000 callers, 60 services and 600 other CIs, a category tree, routing rules;
* 1,000,000 incidents over two years written with COPY (``itsm.bulk``: ids from ``allocate_ids``,
  numbers from ``allocate_numbers``), in chunks of ``CHUNK`` built as COPY text by ``BUILDERS``
  forked processes (each chunk from its own seeded generator) and copied by ``COPIERS`` threads on
  their own connections (as a superuser, with ``session_replication_role = replica``: no trigger per
  row and foreign key; every foreign key is checked afterwards by one anti-join, part of the timed
  load, on the B-trees' connection while the GIN index still builds; any missing reference fails it): 10% open (recent ones mostly),
  realistic priority (impact x urgency through the matrix), status, group, assignee, service,
  channel and short descriptions built from word lists (so that full-text search ranks something);
  a fifth of them with an affected CI. The load is the timed part (B3: < 60 s for a million),
  generating the rows in Python included; ANALYZE afterwards is reported apart.
* exact counts checked (incidents and affected-CI rows in the database = generated); a seeded
  database is detected by its counts and kept (the load figures of the run that loaded it are kept
  in ``KernelState``); ``BENCH_INCIDENTS_RESEED=1`` empties and loads again. Incidents created by a
  previous run's API load are deleted first, so every run measures the same data.

Measured (every statement of the bench processes, gunicorn's included, capped at
``STATEMENT_TIMEOUT_MS`` through ``PGOPTIONS``; every load bounded by a count and a duration):

* in process, before the server starts: ``EXPLAIN (ANALYZE, BUFFERS)`` of the queue queries (which
  index each uses, and its time), the number of SQL queries of each page and API list (must not
  depend on the page or the data), and ``incidents.queries.suggest`` with realistic texts;
* over HTTP on 127.0.0.1 at concurrency 1 and 8: the queue page ``/incidents/`` (tabs mine,
  groups, unassigned, open; filters priority, group, status, text; deep pages reached by following
  the ``next`` links) and ``GET /api/v1/incidents/`` with the same filters and deep cursors;
  ``GET /api/v1/incidents/suggest/``; last, ``POST /api/v1/incidents/`` (``CREATES`` creates at
  concurrency 8, one a request) and ``POST /api/v1/incidents/batch/`` (``CREATES`` more, in batches
  of ``BATCH_CREATE_SIZE``); created rows in the database = incidents answered 201.

Environment: ``BENCH_INCIDENTS_SCALE`` (default 1.0; 0.02 for a quick check),
``BENCH_INCIDENTS_RESEED=1``, ``BENCH_INCIDENTS_CONCURRENCIES`` (default ``1,8``),
``BENCH_INCIDENTS_BATCH_SIZE`` (default 50), ``BENCH_INCIDENTS_ONLY`` (the HTTP parts to run, of
``lists,suggest,create``; default all).
"""

from __future__ import annotations

import datetime
import html
import http.client
import itertools
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

from bench.loadgen import _percentile, _summary, _Worker
from bench.runner import BASE_DIR, call_in_django, login, probe, use_database

SEED = 20261127
DATABASE = "itsm_bench_incidents"
STATE_KEY = "bench_incidents"
TOTAL = 1_000_000
CHUNK = 25_000
OPEN_SHARE = 0.10
GROUPS, AGENTS, CALLERS, SERVICES, OTHER_CIS = 20, 200, 20_000, 60, 600
AGENT, AGENT_PASSWORD = "bench-agent", "bench-password"
AGENT_GROUPS = 3
STATEMENT_TIMEOUT_MS = 30_000
LIST_REQUESTS, LIST_SECONDS, WARMUP = 600, 15.0, 16
# BENCH_INCIDENTS_CONCURRENCIES="1" measures one agent only (half the run).
CONCURRENCIES = tuple(int(n) for n in os.environ.get("BENCH_INCIDENTS_CONCURRENCIES", "1,8").split(","))
DEEP_PAGES = 40
CREATES, CREATE_SECONDS, CREATE_CONCURRENCY = 10_000, 120.0, 8
# The parts over HTTP to run (BENCH_INCIDENTS_ONLY=lists,suggest,create; default all).
ONLY = set(filter(None, os.environ.get("BENCH_INCIDENTS_ONLY", "lists,suggest,create").split(",")))
# POST /api/v1/incidents/batch/: CREATES incidents in batches of BATCH_CREATE_SIZE.
BATCH_CREATE_SIZE = int(os.environ.get("BENCH_INCIDENTS_BATCH_SIZE", "50"))
SUGGEST_TEXTS, SUGGEST_REQUESTS, SUGGEST_SECONDS = 200, 400, 20.0
QUEUE, API = "/incidents/", "/api/v1/incidents/"

CATEGORIES = {
    "Hardware": ["Laptop", "Desktop", "Printer", "Monitor"],
    "Software": ["Office", "ERP", "Browser", "Operating system"],
    "Network": ["VPN", "Wi-Fi", "LAN", "Firewall"],
    "Access": ["Password reset", "Permissions", "Account locked", "MFA"],
    "E-mail": ["Mailbox", "Delivery", "Calendar", "Spam"],
    "Database": ["Performance", "Connectivity", "Backup", "Replication"],
    "Business application": ["Online shop", "Payroll", "CRM", "Customer portal"],
    "Security": ["Phishing", "Malware", "Lost device", "Data leak"],
}
# Short descriptions: a subject, a symptom and (often) a context, per category.
SUBJECTS = {
    "Hardware": ["Laptop", "Docking station", "Printer", "Monitor", "Keyboard", "Headset", "Desktop PC"],
    "Software": ["Excel", "Outlook", "Word", "Teams", "SAP GUI", "Chrome", "Adobe Reader", "Windows"],
    "Network": ["VPN", "Wi-Fi", "Network drive", "Internet access", "Proxy", "Firewall rule"],
    "Access": ["Password", "Account", "SharePoint permissions", "MFA token", "Shared mailbox access"],
    "E-mail": ["Mailbox", "Calendar", "Distribution list", "E-mail delivery", "Spam filter"],
    "Database": ["Sales database", "Reporting database", "Backup job", "Replica", "Data warehouse"],
    "Business application": ["Payroll run", "Online shop checkout", "CRM", "Invoice export", "Customer portal"],
    "Security": ["Suspicious e-mail", "Malware alert", "Lost laptop", "Unusual login", "USB stick"],
}  # fmt: skip
SYMPTOMS = [
    "not working", "very slow", "keeps crashing", "shows an error", "cannot connect", "times out",
    "disconnects every few minutes", "not responding", "locked", "missing", "fails to start",
    "prints blank pages", "not syncing", "access denied", "freezes", "stuck", "out of date",
]  # fmt: skip
CONTEXTS = [
    "", "", "", "since this morning", "after the update", "when working from home", "for the whole team",
    "on floor 3", "in the Paris office", "since Monday", "after password change", "for customers",
    "during month-end close", "on the new laptop", "in meeting room 2.14",
]  # fmt: skip
RESOLUTIONS = [
    "Restarted the service", "Reinstalled the client", "Reset the password", "Replaced the hardware",
    "Cleared the cache", "Granted the permission", "Updated the driver", "Fixed the configuration",
]  # fmt: skip
SUGGEST_PHRASES = [
    "VPN disconnects every few minutes when working from home",
    "Outlook very slow since this morning",
    "Printer prints blank pages on floor 3",
    "Cannot connect to the sales database",
    "Payroll run stuck",
    "Password locked after the update",
    "Online shop checkout times out for customers",
    "Teams keeps crashing on the new laptop",
    "Wi-Fi not working in meeting room",
    "Suspicious e-mail with attachment",
]
CHANNELS, CHANNEL_WEIGHTS = ["portal", "email", "phone", "event", "agent", "api"], [30, 25, 25, 12, 5, 3]
# (impact, urgency) weights: most incidents are minor and of medium or low urgency.
IMPACT_URGENCY = {
    (1, 1): 2, (1, 2): 3, (2, 1): 4, (2, 2): 15, (2, 3): 30, (3, 2): 40, (3, 3): 170,
    (3, 4): 60, (4, 2): 50, (4, 3): 420, (4, 4): 206,
}  # fmt: skip


def scale() -> float:
    value = float(os.environ.get("BENCH_INCIDENTS_SCALE", "1.0"))
    if not 0 < value <= 1.0:
        raise ValueError("BENCH_INCIDENTS_SCALE must be in (0, 1]")
    return value


def _log(message: str) -> None:
    print(f"[incidents] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ inside Django: seed


def _state() -> dict:
    from itsm.models import KernelState

    state = KernelState.objects.filter(key=STATE_KEY).first()
    return state.value if state else {}


def _save_state(value: dict) -> None:
    from itsm.models import KernelState

    KernelState.objects.update_or_create(key=STATE_KEY, defaults={"value": value})


def _reference(rng: random.Random) -> dict:
    """Groups, agents, callers, services, CIs, categories and routing rules (idempotent)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from configuration.models import CIClass, ConfigurationItem
    from incidents.models import Category, RoutingRule
    from itsm.models.numbering import allocate_numbers
    from people.models import SupportGroup, User

    with transaction.atomic():
        groups = []
        for index in range(GROUPS):
            group, _ = SupportGroup.objects.get_or_create(name=f"Bench group {index:02d}")
            groups.append(group)
        agent_role = Group.objects.get(name="agent")
        password = make_password(AGENT_PASSWORD)
        agent, _ = User.objects.get_or_create(
            username=AGENT,
            defaults={"first_name": "Bench", "last_name": "Agent", "email": "bench-agent@example.com"},
        )
        agent.password = password
        agent.save(update_fields=["password"])
        agent.groups.add(agent_role)
        token, _ = Token.objects.get_or_create(user=agent)
        present = set(
            User.objects.filter(username__startswith="bench-inc-").values_list("username", flat=True)
        )
        User.objects.bulk_create(
            [
                User(username=name, first_name="Agent", last_name=f"{index:03d}", password="!", email=f"{name}@example.com")
                for index in range(AGENTS)
                if (name := f"bench-inc-agent-{index:03d}") not in present
            ]
            + [
                User(username=name, first_name="Caller", last_name=f"{index:05d}", password="!", email=f"{name}@example.com")
                for index in range(CALLERS)
                if (name := f"bench-inc-caller-{index:05d}") not in present
            ],
            batch_size=2000,
        )  # fmt: skip
        agents = list(User.objects.filter(username__startswith="bench-inc-agent-").order_by("username"))
        callers = list(
            User.objects.filter(username__startswith="bench-inc-caller-").order_by("username").values_list("pk", flat=True)
        )  # fmt: skip
        agent_role.user_set.add(*agents)
        members: dict[int, list[int]] = {}
        for position, group in enumerate(groups):
            people = agents[position * (AGENTS // GROUPS) : (position + 1) * (AGENTS // GROUPS)]
            if position < AGENT_GROUPS:
                people = [agent, *people]
            group.members.add(*people)
            members[group.pk] = [person.pk for person in people]

        classes = {
            c.slug: c for c in CIClass.objects.filter(slug__in=["business-service", "application", "server"])
        }
        existing = ConfigurationItem.objects.filter(name__startswith="Bench ").count()
        if existing < SERVICES + OTHER_CIS:
            ConfigurationItem.objects.filter(name__startswith="Bench ").delete()
            numbers = allocate_numbers(ConfigurationItem.number_prefix, SERVICES + OTHER_CIS)
            items = [
                ConfigurationItem(number=numbers[i], name=f"Bench service {i:02d}", ci_class=classes["business-service"])
                for i in range(SERVICES)
            ] + [
                ConfigurationItem(
                    number=numbers[SERVICES + i],
                    name=f"Bench {'app' if i % 2 else 'server'} {i:03d}",
                    ci_class=classes["application" if i % 2 else "server"],
                )
                for i in range(OTHER_CIS)
            ]  # fmt: skip
            ConfigurationItem.objects.bulk_create(items, batch_size=1000)
        services = list(
            ConfigurationItem.objects.filter(name__startswith="Bench service ").order_by("name").values_list("pk", flat=True)
        )  # fmt: skip
        cis = list(
            ConfigurationItem.objects.filter(name__startswith="Bench ").exclude(pk__in=services).values_list("pk", flat=True)
        )  # fmt: skip

        categories: dict[str, tuple[int, list[int]]] = {}
        for order, (name, children) in enumerate(CATEGORIES.items()):
            parent, _ = Category.objects.get_or_create(name=name, parent=None, defaults={"order": order})
            subs = [Category.objects.get_or_create(name=child, parent=parent)[0].pk for child in children]
            categories[name] = (parent.pk, subs)
        for position, name in enumerate(CATEGORIES):
            RoutingRule.objects.get_or_create(
                name=f"Bench {name}",
                defaults={
                    "order": position,
                    "category_id": categories[name][0],
                    "assignment_group": groups[position % GROUPS],
                },
            )
    return {
        "token": token.key,
        "agent_id": agent.pk,
        "groups": [g.pk for g in groups],
        "members": members,
        "callers": callers,
        "services": services,
        "cis": cis,
        "categories": categories,
    }


def _matrix() -> dict[tuple[int, int], int]:
    from incidents.models import PriorityMatrixEntry

    return {(m.impact, m.urgency): m.priority for m in PriorityMatrixEntry.objects.all()}


def _wipe() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in (
            "incidents_incident_cis",
            "incidents_incident_watchers",
            "incidents_statusperiod",
            "incidents_assignmenthop",
            "incidents_swarmmember",
            "incidents_postincidentreview",
        ):
            cursor.execute(f"TRUNCATE {table}")
        cursor.execute(
            "DELETE FROM itsm_timelineentry WHERE content_type_id IN (SELECT id FROM django_content_type WHERE app_label = 'incidents')"
        )
        cursor.execute(
            "DELETE FROM itsm_changerecord WHERE content_type_id IN (SELECT id FROM django_content_type WHERE app_label = 'incidents')"
        )
        cursor.execute("TRUNCATE incidents_incident CASCADE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE incidents_incident")
    _log("emptied the incidents tables")  # fmt: skip


def _delete_api_creates(agent_id: int) -> int:
    """Incidents a previous run created through the API: removed so every run measures the same data."""
    from incidents.models import Incident

    created = Incident.objects.filter(created_by_id=agent_id, channel="api")
    count = created.count()
    if count:
        created.delete()
        _log(f"deleted {count} incidents created by a previous run's API load")
    return count


SPAN = 730 * 86400  # two years, in seconds


def _offsets(rng: random.Random, total: int) -> list[float]:
    """When each incident was created, in seconds from two years ago, sorted (ids follow creation).
    Volume grows over the two years: drawn with a rising density."""
    return sorted(SPAN * (rng.random() ** 0.8) for _ in range(total))


def _generate(rng: random.Random, ref: dict, matrix: dict, seconds: list[float], now: datetime.datetime):
    """Yield row values in created order for incidents created at ``seconds`` (``_offsets``)."""
    pairs, pair_weights = list(IMPACT_URGENCY), list(itertools.accumulate(IMPACT_URGENCY.values()))
    channel_weights = list(itertools.accumulate(CHANNEL_WEIGHTS))
    span = SPAN
    start = now - datetime.timedelta(seconds=span)
    groups, members, callers = ref["groups"], ref["members"], ref["callers"]
    group_weights = list(itertools.accumulate(1 / (rank + 1) ** 0.7 for rank in range(len(groups))))
    categories = list(ref["categories"].values())
    category_names = list(ref["categories"])
    services = ref["services"]
    open_cutoff = span - 60 * 86400
    for offset in seconds:
        created = start + datetime.timedelta(seconds=offset)
        impact, urgency = rng.choices(pairs, cum_weights=pair_weights)[0]
        priority = matrix.get((impact, urgency), 4)
        group = rng.choices(groups, cum_weights=group_weights)[0]
        people = members[group]
        category_index = rng.randrange(len(categories))
        category, subs = categories[category_index]
        subject = rng.choice(SUBJECTS[category_names[category_index]])
        context = rng.choice(CONTEXTS)
        short = f"{subject} {rng.choice(SYMPTOMS)}" + (f" {context}" if context else "")
        recent = offset > open_cutoff
        is_open = rng.random() < (OPEN_SHARE * 5.5 if recent else OPEN_SHARE * 0.55)
        yield {
            "created": created,
            "short": short,
            "caller": rng.choice(callers),
            "category": category,
            "subcategory": rng.choice(subs),
            "service": rng.choice(services) if rng.random() < 0.8 else None,
            "impact": impact,
            "urgency": urgency,
            "priority": priority,
            "group": group,
            "assignee": rng.choice(people) if (not is_open or rng.random() < 0.75) else None,
            "open": is_open,
            "channel": rng.choices(CHANNELS, cum_weights=channel_weights)[0],
            "roll": rng.random(),
            "resolve_minutes": rng.expovariate(1 / (60 * 24 * (0.3 if priority <= 2 else 2))),
            "resolution": rng.choice(RESOLUTIONS),
            "ci": rng.choice(ref["cis"]) if rng.random() < 0.2 else None,
        }  # fmt: skip


def _milestones(row: dict, now: datetime.datetime) -> dict:
    """Status and milestones of a generated row, as column values."""
    created = row["created"]
    responded = created + datetime.timedelta(minutes=5 + row["resolve_minutes"] / 10)
    roll = row["roll"]
    if row["open"]:
        status = "new" if roll < 0.25 else "in_progress" if roll < 0.8 else "on_hold"
        holds = ("awaiting_user", "awaiting_supplier", "awaiting_change")
        return {
            "status": status,
            "hold_reason": holds[int(roll * 100) % 3] if status == "on_hold" else "",
            "status_changed_at": created if status == "new" else min(responded, now),
            "responded_at": None if status == "new" else min(responded, now),
            "updated_at": created if status == "new" else min(responded, now),
        }
    resolved = min(created + datetime.timedelta(minutes=15 + row["resolve_minutes"]), now)
    if roll < 0.05:
        return {
            "status": "cancelled",
            "status_changed_at": resolved,
            "closed_at": resolved,
            "updated_at": resolved,
        }
    status = "resolved" if (now - resolved).days < 5 and roll < 0.5 else "closed"
    closed = None if status == "resolved" else min(resolved + datetime.timedelta(days=2), now)
    return {
        "status": status,
        "status_changed_at": closed or resolved,
        "updated_at": closed or resolved,
        "responded_at": min(responded, resolved),
        "resolved_at": resolved,
        "resolved_by_id": row["assignee"],
        "closed_at": closed,
        "resolution_code": "solved_permanently",
        "resolution_notes": row["resolution"],
        "confirmation": "pending" if status == "resolved" else "confirmed",
    }  # fmt: skip


def _drop_indexes() -> dict[str, str]:
    """Drop the incident table's secondary indexes (not the primary key or unique constraints) and
    return their definitions: building an index once after the load is much cheaper than updating
    two dozen of them (a GIN index among them) row by row. The definitions are kept in
    ``KernelState`` until the indexes are back, so an interrupted load restores them next time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = 'incidents_incident'::regclass AND NOT x.indisprimary AND NOT x.indisunique
            """
        )
        indexes = dict(cursor.fetchall())
        _save_state({**_state(), "dropped_indexes": indexes})
        for name in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def _restore_indexes(then=None) -> tuple[float, float, object]:
    """Build the indexes ``_drop_indexes`` dropped (those still missing). ``then`` (a callable) runs
    on the B-trees' connection once they are built, while the GIN index is still building. The
    seconds the indexes took, the seconds ``then`` took, and what it returned."""
    from django.db import connection

    indexes = _state().get("dropped_indexes") or {}
    began = time.perf_counter()
    # Two connections build at once (one core each): the GIN index (the longest) on one, the
    # B-trees and then ``then`` on the other.
    definitions = sorted(indexes.values(), key=lambda definition: "USING gin" not in definition)
    todo = [[definitions[0]] if definitions else [], definitions[1:]]
    failures: list[BaseException] = []
    after: dict = {"seconds": 0.0, "result": None}

    def build(batch: list[str], last) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                for definition in batch:
                    cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            if last is not None:
                t0 = time.perf_counter()
                after["result"] = last()
                after["seconds"] = time.perf_counter() - t0
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    builders = [
        threading.Thread(target=build, args=(batch, then if position else None), daemon=True)
        for position, batch in enumerate(todo)
    ]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join()
    if failures:
        raise failures[0]
    state = _state()
    state.pop("dropped_indexes", None)
    _save_state(state)
    return time.perf_counter() - began, after["seconds"], after["result"]


# Row building (Python) runs in BUILDERS forked processes, each turning a chunk into COPY text;
# COPIERS threads of this process COPY the chunks while PostgreSQL computes search vectors.
BUILDERS = 2
_BUILD: dict = {}  # what the forked builders read (set before the pool forks)


def _build_chunk(task: tuple[int, int, int]) -> tuple[object, object, int]:
    """Build chunk ``index`` (rows ``first``..``first + size``): the incidents' and affected-CI rows'
    COPY text. Runs in a builder process; touches no database connection."""
    from incidents.models import Incident
    from itsm.bulk import encode_rows

    index, first, size = task
    ctx = _BUILD
    rng = random.Random(SEED * 1000 + index)  # noqa: S311 - repeatable data, not a secret
    ids, numbers, now, base = ctx["ids"], ctx["numbers"], ctx["now"], ctx["base"]
    rows, cis = [], []
    generated = _generate(rng, ctx["ref"], ctx["matrix"], ctx["seconds"][first : first + size], now)
    for position, data in enumerate(generated, start=first):
        row = base.copy()
        row.update(
            id=ids[position],
            number=numbers[position],
            created_at=data["created"],
            short_description=data["short"],
            caller_id=data["caller"],
            channel=data["channel"],
            category_id=data["category"],
            subcategory_id=data["subcategory"],
            service_id=data["service"],
            impact=data["impact"],
            urgency=data["urgency"],
            priority=data["priority"],
            assignment_group_id=data["group"],
            assignee_id=data["assignee"],
        )
        row.update(_milestones(data, now))
        rows.append(row)
        if data["ci"]:
            cis.append({"incident_id": ids[position], "configurationitem_id": data["ci"]})
    return encode_rows(Incident, rows), encode_rows(Incident.cis.through, cis), len(cis)


COPIERS = 2


def _is_superuser() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


def _check_references() -> dict[str, int]:
    """Every foreign key of the loaded tables, checked in one anti-join each: the rows whose
    reference is missing (all must be 0)."""
    from django.db import connection

    from incidents.models import Incident

    found = {}
    with connection.cursor() as cursor:
        for model in (Incident, Incident.cis.through):
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                table, column = model._meta.db_table, field.column
                target, key = field.related_model._meta.db_table, field.target_field.column
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '  # noqa: S608
                    f'(SELECT 1 FROM "{target}" r WHERE r."{key}" = t."{column}")'
                )
                found[f"{table}.{column}"] = cursor.fetchone()[0]
    return found


def _load(ref: dict, total: int) -> dict:
    """COPY ``total`` incidents in chunks of ``CHUNK`` (``itsm.bulk``); the timed part (B3), row
    building included: ``BUILDERS`` forked processes build chunks while ``COPIERS`` threads COPY them."""
    import multiprocessing

    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Incident
    from itsm.bulk import allocate_ids, copy_encoded, default_row
    from itsm.models.numbering import allocate_numbers

    rng = random.Random(SEED)  # noqa: S311 - repeatable data, not a secret
    now = timezone.now()
    began = time.perf_counter()
    # The numbers are allocated on a connection of their own while this thread draws the dates,
    # drops the indexes and allocates the ids (a million nextval each: PostgreSQL's time, not ours).
    numbered: dict = {}

    def allocate() -> None:
        try:
            numbered["numbers"] = allocate_numbers(Incident.number_prefix, total)
        except BaseException as error:  # noqa: BLE001 - raised below
            numbered["error"] = error
        finally:
            connection.close()  # this thread's own connection

    numbering = threading.Thread(target=allocate, daemon=True)
    numbering.start()
    seconds = _offsets(rng, total)
    indexes = _drop_indexes()
    ids = allocate_ids(Incident, total)
    numbering.join()
    if "error" in numbered:
        raise numbered["error"]
    numbers = numbered["numbers"]
    allocated = time.perf_counter() - began
    _BUILD.update(
        ids=ids,
        numbers=numbers,
        now=now,
        base=default_row(Incident),
        ref=ref,
        matrix=_matrix(),
        seconds=seconds,
    )
    tasks = [(index, first, min(CHUNK, total - first)) for index, first in enumerate(range(0, total, CHUNK))]
    copies: list[float] = []
    loaded = links = 0
    superuser = _is_superuser()
    chunks: queue.Queue = queue.Queue(maxsize=COPIERS)
    failures: list[BaseException] = []
    progress = threading.Lock()

    def copier() -> None:
        """COPY chunks from the queue on this thread's own connection, until told to stop (None)."""
        nonlocal loaded, links
        try:
            while (work := chunks.get()) is not None:
                size, incidents, cis, count = work
                t0 = time.perf_counter()
                with transaction.atomic():
                    if superuser:
                        # Foreign keys are checked once, set-based, after the load (_check_references),
                        # not by a trigger per row and key (pg_restore --disable-triggers does the same).
                        with connection.cursor() as cursor:
                            cursor.execute("SET LOCAL session_replication_role = replica")
                    copy_encoded(incidents)
                    copy_encoded(cis)
                with progress:
                    copies.append(time.perf_counter() - t0)
                    loaded += size
                    links += count
                    _log(f"loaded {loaded:,}/{total:,} incidents: {time.perf_counter() - began:.1f} s")
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
            while chunks.get() is not None:  # let the producer finish
                pass
        finally:
            connection.close()  # this thread's own connection

    # Fork: the builders inherit the data above and Django's set-up; they never use the connection.
    # COPIERS threads COPY at once (PostgreSQL computes each row's search vector: a core each).
    threads = [threading.Thread(target=copier, daemon=True) for _ in range(COPIERS)]
    for thread in threads:
        thread.start()
    try:
        with multiprocessing.get_context("fork").Pool(BUILDERS) as pool:
            for (_, _, size), built in zip(tasks, pool.imap(_build_chunk, tasks), strict=True):
                chunks.put((size, *built))
    finally:
        for _ in threads:
            chunks.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    _BUILD.clear()
    copied = time.perf_counter() - began
    # The foreign keys are checked while the GIN index builds (they read no index).
    indexing, checking, orphans = _restore_indexes(then=_check_references if superuser else None)
    orphans = orphans or {}
    if any(orphans.values()):
        raise RuntimeError(f"The load left references to missing rows: {orphans}")
    seconds_total = time.perf_counter() - began
    _log(f"loaded {loaded:,} incidents in {seconds_total:.1f} s ({loaded / seconds_total:,.0f} rows/s)")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
        cursor.execute("ANALYZE incidents_incident_cis")
    analyze = time.perf_counter() - t0
    return {
        "incidents": loaded,
        "affected_ci_rows": links,
        "seconds": round(seconds_total, 2),
        "rows_per_s": round(loaded / seconds_total, 1),
        "allocate_ids_and_numbers_s": round(allocated, 2),
        "builders": BUILDERS,
        "copy_s_sum": round(sum(copies), 2),
        "until_last_copy_s": round(copied, 2),
        "copiers": COPIERS,
        "foreign_keys_checked": "set-based after the load" if superuser else "per row (not a superuser)",
        "check_references_s": round(checking, 2),
        "indexes_dropped_and_rebuilt": len(indexes),
        "rebuild_indexes_s": round(indexing, 2),
        "analyze_s": round(analyze, 2),
        "chunk_rows": CHUNK,
        "chunk_p50_s": round(sorted(copies)[len(copies) // 2], 3),
        "chunk_max_s": round(max(copies), 3),
        "projected_s_for_1m": round(seconds_total * 1_000_000 / loaded, 1),
    }


def _counts(agent_id: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('new', 'in_progress', 'on_hold')) FROM incidents_incident"
        )
        total, open_count = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM incidents_incident_cis")
        links = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM incidents_incident WHERE assignee_id = %s AND status IN ('new', 'in_progress', 'on_hold')",
            [agent_id],
        )
        mine = cursor.fetchone()[0]
    return {"incidents": total, "open": open_count, "affected_ci_rows": links, "agent_open": mine}  # fmt: skip


def seed_incidents() -> dict:
    """Inside Django: reference data, then the million incidents unless already there."""
    rng = random.Random(SEED)  # noqa: S311 - repeatable data, not a secret
    factor = scale()
    total = round(TOTAL * factor)
    began = time.perf_counter()
    ref = _reference(rng)
    _log(f"reference data ready in {time.perf_counter() - began:.1f} s")
    if _state().get("dropped_indexes"):
        _log("an earlier load was interrupted: restoring the indexes it dropped")
        _restore_indexes()
    _delete_api_creates(ref["agent_id"])
    state = _state()
    counts = _counts(ref["agent_id"])
    reseed = os.environ.get("BENCH_INCIDENTS_RESEED") == "1"
    if reseed or state.get("total") != total or counts["incidents"] != total:
        if counts["incidents"]:
            _wipe()
        load = _load(ref, total)
        counts = _counts(ref["agent_id"])
        exact = (
            counts["incidents"] == load["incidents"] == total
            and counts["affected_ci_rows"] == load["affected_ci_rows"]
        )
        state = {
            "total": total,
            "load": load,
            "exact_counts_ok": exact,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _save_state(state)
    else:
        _log(f"{counts['incidents']:,} incidents already loaded on {state.get('loaded_at')}; kept")
    return {
        "token": ref["token"],
        "agent_id": ref["agent_id"],
        "groups": ref["groups"][:AGENT_GROUPS],
        "other_group": ref["groups"][AGENT_GROUPS + 2],
        "callers": ref["callers"][:200],
        "services": ref["services"][:20],
        "categories": [value[0] for value in ref["categories"].values()],
        "scale": factor,
        "counts": counts,
        "load": state["load"],
        "loaded_at": state.get("loaded_at"),
        "exact_counts_ok": state.get("exact_counts_ok"),
    }  # fmt: skip


# ------------------------------------------------------------------- inside Django: in-process figures


def _queue_paths(seeded: dict) -> list[tuple[str, str, dict]]:
    """(name, tab, filters) of the queue loads; the API gets the same filters."""
    group, other = seeded["groups"][0], seeded["other_group"]
    return [
        ("mine", "mine", {}),
        ("groups", "groups", {}),
        ("unassigned", "unassigned", {}),
        ("open_p2", "open", {"priority": "2"}),
        ("group_filter", "open", {"group": str(other)}),
        ("on_hold", "open", {"status": "on_hold", "group": str(group)}),
        ("text_vpn", "open", {"q": "vpn"}),
        ("all_newest", "all", {}),
    ]


def _api_params(tab: str, filters: dict, agent_id: int, groups: list[int]) -> dict:
    """The API list has no tabs: the same queue as filters (open, assignee, unassigned)."""
    params = dict(filters)
    if tab != "all":
        params.setdefault("open", "true")
        params["ordering"] = "priority"
    if tab == "mine":
        params["assignee"] = str(agent_id)
    elif tab == "unassigned":
        params["unassigned"] = "true"
    elif tab == "groups":
        params.setdefault("group", str(groups[0]))
    return params


def in_process() -> dict:
    """EXPLAIN the queue queries, count each page's queries, time suggest(); before the server starts."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from incidents import queries
    from people.models import User

    seeded = json.loads(os.environ["BENCH_INCIDENTS_SEEDED"])
    agent = User.objects.get(pk=seeded["agent_id"])
    explain: dict[str, dict] = {}
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(agent)
    token = {"HTTP_AUTHORIZATION": f"Token {seeded['token']}"}
    counts = {}
    for name, tab, filters in _queue_paths(seeded):
        pages = {}
        url = f"{QUEUE}?{urlencode({'tab': tab, **filters})}"
        for page in range(3):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            pages[f"html_page_{page + 1}"] = {
                "status": response.status_code,
                "queries": len(ctx.captured_queries),
            }
            if page in (0, 2):
                explain[f"html_{name}_page_{page + 1}"] = _explain(ctx.captured_queries)
            found = re.search(r'href="([^"]+)" rel="next"', response.content.decode())
            if not found:
                break
            url = html.unescape(found.group(1))
            url = url if url.startswith("/") else f"{QUEUE}{url}"
        api_url = f"{API}?{urlencode(_api_params(tab, filters, seeded['agent_id'], seeded['groups']))}"
        for page in range(3):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(api_url, **token)
            pages[f"api_page_{page + 1}"] = {
                "status": response.status_code,
                "queries": len(ctx.captured_queries),
            }
            if page in (0, 2):
                explain[f"api_{name}_page_{page + 1}"] = _explain(ctx.captured_queries)
            if response.status_code != 200:
                break
            following = response.json().get("next")
            if not following:
                break
            parts = urlsplit(following)
            api_url = f"{parts.path}?{parts.query}"
        counts[name] = pages

    texts = _suggest_texts()
    latencies = []
    deadline = time.perf_counter() + 60
    for text in texts:
        if time.perf_counter() > deadline:
            break
        began = time.perf_counter()
        result = queries.suggest(agent, text)
        latencies.append(time.perf_counter() - began)
        del result
    latencies.sort()
    suggest = {
        "name": "suggest_in_process",
        "path": "incidents.queries.suggest",
        "concurrency": 1,
        "requests": len(latencies),
        "errors": 0,
        "rate_per_s": round(len(latencies) / sum(latencies), 1) if latencies else 0.0,
        "p50_ms": _percentile(latencies, 0.5),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else 0.0,
    }
    return {"explain": explain, "query_counts": counts, "suggest": suggest}


def _explain(captured: list[dict]) -> dict:
    """EXPLAIN ANALYZE the page's query of the incident table (the slowest one that reads it): which
    indexes it uses, whether it scans the table, planning and execution time."""
    from django.db import connection

    reads = [q for q in captured if 'FROM "incidents_incident"' in q["sql"] and q["sql"].startswith("SELECT")]
    if not reads:
        return {}
    query = max(reads, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
        plan = [line[0] for line in cursor.fetchall()]
    text = "\n".join(plan)
    return {
        "indexes": sorted(set(re.findall(r"Index (?:Only )?Scan(?: Backward)? (?:using|on) (\w+)", text))),
        "seq_scan_on_incidents": "Seq Scan on incidents_incident" in text,
        "distinct": query["sql"].startswith("SELECT DISTINCT"),
        "planning": next((line for line in plan if line.startswith("Planning Time")), ""),
        "execution": next((line for line in plan if line.startswith("Execution Time")), ""),
        "scans": [line.strip() for line in plan if "Scan" in line and "incidents_incident" in line][:3],
    }


def _suggest_texts() -> list[str]:
    rng = random.Random(SEED + 7)  # noqa: S311 - repeatable data, not a secret
    texts = list(SUGGEST_PHRASES)
    names = list(SUBJECTS)
    while len(texts) < SUGGEST_TEXTS:
        subject = rng.choice(SUBJECTS[rng.choice(names)])
        texts.append(f"{subject} {rng.choice(SYMPTOMS)} {rng.choice(CONTEXTS)}".strip())
    return texts


# ------------------------------------------------------------------------- outside Django: the run

_ENV: dict[str, str] = {}


def seed(env: dict[str, str]) -> dict:
    """Seed (the timed bulk load), collect static files, cap statements, in-process figures."""
    use_database(env, DATABASE)
    seeded = call_in_django(env, "bench.incidents:seed_incidents", timeout=3600)
    load = seeded["load"]
    print(
        f"[incidents] bulk load: {load['incidents']:,} incidents in {load['seconds']} s "
        f"({load['rows_per_s']:,.0f} rows/s); exact counts ok: {seeded['exact_counts_ok']}",
        flush=True,
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=600,
    )
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    seeded["statement_timeout_ms"] = STATEMENT_TIMEOUT_MS
    seeded["database"] = DATABASE
    inner = {
        **env,
        "BENCH_INCIDENTS_SEEDED": json.dumps(seeded),
        "HTTPS_ONLY": "0",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
    }
    seeded["in_process"] = call_in_django(inner, "bench.incidents:in_process", timeout=900)
    _ENV.clear()
    _ENV.update(env)
    return seeded


def _load_paths(
    port: int,
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    total: int,
    seconds: float,
    warmup: int = WARMUP,
) -> dict:
    """GET ``paths`` in turn (one per request) at ``concurrency``, at most ``total`` requests within
    ``seconds``; a short warm-up on the same connections is not counted."""
    workers = [_Worker(port, paths[0], dict(headers), 60.0) for _ in range(concurrency)]
    lock, issued, clock = threading.Lock(), [0], {}
    barrier = threading.Barrier(concurrency, action=lambda: clock.setdefault("start", time.perf_counter()))

    def claim() -> int | None:
        with lock:
            if issued[0] >= total or time.perf_counter() >= clock["start"] + seconds:
                return None
            issued[0] += 1
            return issued[0] - 1

    def loop(worker: _Worker, offset: int) -> None:
        try:
            for step in range(-(-min(warmup, len(paths)) // concurrency)):
                worker.path = paths[(offset + step * concurrency) % len(paths)]
                worker.request(record=False)
            barrier.wait()
            while (number := claim()) is not None:
                worker.path = paths[number % len(paths)]
                worker.request(record=True)
        except threading.BrokenBarrierError:
            pass
        except BaseException:
            barrier.abort()
            raise
        finally:
            worker.finished_at = time.perf_counter()
            worker.connection.close()

    threads = [threading.Thread(target=loop, args=(w, i), daemon=True) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if "start" not in clock:
        raise RuntimeError("load failed before the measured phase")
    return _summary(workers, clock["start"], concurrency)  # fmt: skip


def _walk(port: int, first: str, headers: dict[str, str], api: bool, pages: int) -> list[str]:
    """The URLs of the first ``pages`` pages, following each page's ``next`` link."""
    urls, url = [], first
    while url and len(urls) < pages:
        status, body = probe(port, url, headers, timeout=60)
        if status != 200:
            raise RuntimeError(f"GET {url} answered {status}: {body[:300]!r}")
        urls.append(url)
        if api:
            following = json.loads(body).get("next")
            url = None if not following else "{0.path}?{0.query}".format(urlsplit(following))
        else:
            found = re.search(r'href="([^"]+)" rel="next"', body.decode())
            url = html.unescape(found.group(1)) if found else None
            if url and not url.startswith("/"):
                url = f"{QUEUE}{url}"
    return urls


def _unavailable(name: str, path: str, status: int, body: bytes) -> dict:
    return {
        "name": name,
        "path": path,
        "concurrency": 0,
        "requests": 0,
        "errors": 0,
        "rate_per_s": 0.0,
        "p50_ms": 0.0,
        "p95_ms": 0.0,
        "p99_ms": 0.0,
        "max_ms": 0.0,
        "unavailable": f"{status}: {body[:200].decode(errors='replace')}",
    }


def _creates(port: int, token: dict[str, str], seeded: dict, batch: int = 1) -> dict:
    """POST ``CREATES`` incidents at ``CREATE_CONCURRENCY`` (bounded by ``CREATE_SECONDS``): one a
    request to ``incidents/``, or ``batch`` a request to ``incidents/batch/``."""
    rng = random.Random(SEED + 11)  # noqa: S311 - repeatable data, not a secret
    texts = _suggest_texts()
    items = [
        {
            "short_description": f"{rng.choice(texts)} (bench create {index})",
            "description": "Logged by the incidents benchmark.",
            "caller": rng.choice(seeded["callers"]),
            "category": rng.choice(seeded["categories"]),
            "service": rng.choice(seeded["services"]),
            "impact": rng.choice([2, 3, 3, 4, 4]),
            "urgency": rng.choice([2, 3, 3, 4]),
        }
        for index in range(CREATES)
    ]
    if batch > 1:
        path = f"{API}batch/"
        bodies = [
            json.dumps({"incidents": items[start : start + batch]}).encode()
            for start in range(0, CREATES, batch)
        ]
    else:
        path, bodies = API, [json.dumps(item).encode() for item in items]
    headers = {**token, "Content-Type": "application/json"}
    lock, issued, statuses, latencies = threading.Lock(), [0], {}, []
    start = time.perf_counter()

    def loop() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        try:
            while True:
                with lock:
                    if issued[0] >= len(bodies) or time.perf_counter() > start + CREATE_SECONDS:
                        break
                    index = issued[0]
                    issued[0] += 1
                began = time.perf_counter()
                try:
                    connection.request("POST", path, body=bodies[index], headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = str(response.status)
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    status = type(error).__name__
                mine.append((time.perf_counter() - began, status))
        finally:
            connection.close()
            with lock:
                for latency, status in mine:
                    latencies.append(latency)
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(CREATE_CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - start
    latencies.sort()
    created = statuses.get("201", 0) * batch
    return {
        "name": "api_create" if batch == 1 else "api_create_batch",
        "path": f"POST {path}",
        "batch_size": batch,
        "concurrency": CREATE_CONCURRENCY,
        "requests": len(latencies),
        "errors": len(latencies) - statuses.get("201", 0),
        "duration_s": round(duration, 3),
        "rate_per_s": round(created / duration, 1) if duration else 0.0,
        "mean_ms": round(sum(latencies) / len(latencies) * 1000, 3) if latencies else 0.0,
        "p50_ms": _percentile(latencies, 0.5),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "created_201": created,
    }


def _created_in_database(agent_id: int) -> int:
    from bench.runner import _connect

    connection = _connect(_ENV["DATABASE_URL"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM incidents_incident WHERE created_by_id = %s AND channel = 'api'",
                [agent_id],
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def run(port: int, seeded: dict) -> list[dict]:
    results = [_bulk_result(seeded), seeded["in_process"]["suggest"]]
    if "lists" in ONLY:
        results += _lists(port, seeded)
    token = {"Authorization": f"Token {seeded['token']}", "Accept": "application/json"}
    if "suggest" in ONLY:
        results += _suggestions(port, token)
    if "create" in ONLY:
        results += _create_phases(port, token, seeded)
    return results


def _lists(port: int, seeded: dict) -> list[dict]:
    results = []
    token = {"Authorization": f"Token {seeded['token']}", "Accept": "application/json"}
    session = {"Cookie": login(port, AGENT, AGENT_PASSWORD), "Accept": "text/html"}
    for name, tab, filters in _queue_paths(seeded):
        html_first = f"{QUEUE}?{urlencode({'tab': tab, **filters})}"
        api_first = f"{API}?{urlencode(_api_params(tab, filters, seeded['agent_id'], seeded['groups']))}"
        for kind, first, headers, api in (
            ("html", html_first, session, False),
            ("api", api_first, token, True),
        ):
            label = f"{kind}_{name}"
            status, body = probe(port, first, headers, timeout=60)
            if status != 200:
                print(f"  {label}: GET {first} answered {status}; skipped", flush=True)
                results.append(_unavailable(label, first, status, body))
                continue
            for concurrency in CONCURRENCIES:
                print(f"  {label} at concurrency {concurrency} ...", flush=True)
                figures = _load_paths(port, [first], headers, concurrency, LIST_REQUESTS, LIST_SECONDS)
                results.append({"name": label, "path": first, "response_bytes": len(body), **figures})
            if name in ("groups", "all_newest"):
                deep = _walk(port, first, headers, api, DEEP_PAGES)
                for concurrency in CONCURRENCIES:
                    print(f"  {label}_deep ({len(deep)} pages) at concurrency {concurrency} ...", flush=True)
                    warmup = WARMUP if api else 4  # a page can take seconds (see the docs)
                    figures = _load_paths(
                        port, deep, headers, concurrency, LIST_REQUESTS, LIST_SECONDS, warmup
                    )
                    results.append({"name": f"{label}_deep", "path": first, "pages": len(deep), **figures})
    return results


def _suggestions(port: int, token: dict[str, str]) -> list[dict]:
    results = []
    suggest_paths = [f"{API}suggest/?{urlencode({'text': text})}" for text in _suggest_texts()]
    status, body = probe(port, suggest_paths[0], token, timeout=60)
    if status == 200:
        for concurrency in CONCURRENCIES:
            print(f"  api_suggest at concurrency {concurrency} ...", flush=True)
            figures = _load_paths(port, suggest_paths, token, concurrency, SUGGEST_REQUESTS, SUGGEST_SECONDS)
            results.append({"name": "api_suggest", "path": f"{API}suggest/?text=...", **figures})
    else:
        results.append(_unavailable("api_suggest", f"{API}suggest/", status, body))
    return results


def _create_phases(port: int, token: dict[str, str], seeded: dict) -> list[dict]:
    results = []
    status, body = probe(port, f"{API}?page_size=1", token, timeout=60)
    if status == 200:
        for batch in (1, BATCH_CREATE_SIZE):
            before = _created_in_database(seeded["agent_id"])
            print(
                f"  api_create: {CREATES} creates at concurrency {CREATE_CONCURRENCY}, {batch} a request ...",
                flush=True,
            )
            figures = _creates(port, token, seeded, batch)
            created = _created_in_database(seeded["agent_id"]) - before
            figures["created_in_database"] = created
            figures["exact_count_ok"] = created == figures["created_201"]
            results.append(figures)
    else:
        results.append(_unavailable("api_create", f"POST {API}", status, body))
    return results


def _bulk_result(seeded: dict) -> dict:
    load = seeded["load"]
    return {
        "name": "bulk_load",
        "path": "COPY incidents_incident (itsm.bulk ids and numbers)",
        "concurrency": 1,
        "requests": load["incidents"],
        "errors": 0 if seeded["exact_counts_ok"] else 1,
        "rate_per_s": load["rows_per_s"],
        "p50_ms": load["chunk_p50_s"] * 1000,
        "p95_ms": load["chunk_max_s"] * 1000,
        "p99_ms": load["chunk_max_s"] * 1000,
        "max_ms": load["chunk_max_s"] * 1000,
        "seconds": load["seconds"],
        "loaded_at": seeded.get("loaded_at"),
        "note": f"latencies are per COPY chunk of {load['chunk_rows']:,} rows",
    }


def main() -> int:
    """``python -m bench.incidents``: seed, serve and load in ``itsm_bench_incidents`` only."""
    from bench.runner import standalone, write_results

    document = standalone("incidents", sys.modules[__name__])
    if document is None:
        return 3
    document["seeded"] = {key: value for key, value in document["seeded"].items() if key != "token"}
    write_results(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
