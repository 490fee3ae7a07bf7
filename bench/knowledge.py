"""Benchmark "knowledge" (issue 8): article search with 50,000 articles; target p95 <= 100 ms.

Seeding (a Django subprocess, fixed random seed, ``BENCH_KNOWLEDGE_SCALE`` times 50,000): articles
with titles, summaries and ~120-word bodies drawn from a service-desk vocabulary (so common words
match thousands of articles and rare ones a few), 80% published, audiences mixed (end users, agents,
two organisations), written with ``bulk_create`` in chunks (numbers from ``allocate_numbers``; the
generated ``search_vector`` is computed by PostgreSQL). Idempotent: a database holding the articles
already is not touched. An agent and an end user (organisation 1) with tokens.

Loads (127.0.0.1, each bounded to ``REQUESTS`` requests or ``MAX_SECONDS``):

* in process: ``knowledge.queries.search`` (the search page's query: rank, top 20, two headlines) for
  a rotating list of queries, as the end user and as the agent;
* ``GET /api/v1/knowledge/articles/?q=<words>`` (token; ranked, 50 a page, snippets) as the end user
  and as the agent, for a common word, a rare word and two words, at concurrency 1 and 4.
"""

from __future__ import annotations

import os
import random
import time

from bench.loadgen import _percentile, run_load
from bench.runner import call_in_django, http_get

SEED = 20261127
FULL = 50_000
CHUNK = 2_000
PREFIX = "Bench KB "
AGENT, END_USER = "bench-kb-agent", "bench-kb-reader"
CONCURRENCIES = (1, 4)
REQUESTS, MAX_SECONDS, WARMUP = 400, 15.0, 20

COMMON = [
    "password",
    "vpn",
    "email",
    "outlook",
    "printer",
    "laptop",
    "wifi",
    "network",
    "login",
    "account",
    "access",
    "reset",
    "update",
    "install",
    "error",
    "slow",
    "crash",
    "screen",
    "teams",
    "calendar",
    "meeting",
    "phone",
    "mobile",
    "browser",
    "certificate",
    "disk",
    "backup",
    "file",
    "share",
    "folder",
    "permission",
    "license",
    "software",
    "driver",
    "docking",
    "monitor",
    "keyboard",
    "mouse",
    "camera",
    "audio",
]
RARE = [
    "kerberos",
    "dhcp",
    "ntlm",
    "saml",
    "oauth",
    "bitlocker",
    "intune",
    "sharepoint",
    "onedrive",
    "citrix",
    "sccm",
    "powershell",
    "registry",
    "firmware",
    "bios",
    "raid",
    "smtp",
    "imap",
    "dns",
    "proxy",
    "firewall",
    "radius",
]
VERBS = [
    "fails",
    "stops",
    "breaks",
    "freezes",
    "hangs",
    "disconnects",
    "refuses",
    "shows",
    "asks",
    "loses",
    "needs",
]
FILLER = [
    "the",
    "user",
    "should",
    "open",
    "the",
    "settings",
    "and",
    "then",
    "choose",
    "the",
    "option",
    "before",
    "restarting",
    "the",
    "device",
    "because",
    "this",
    "usually",
    "helps",
    "when",
    "the",
    "problem",
    "appears",
    "again",
    "after",
    "an",
    "update",
    "or",
    "a",
    "change",
    "of",
    "location",
]
QUERIES = {"common": "password", "rare": "kerberos", "two_words": "vpn disconnects"}


def _scale() -> float:
    return float(os.environ.get("BENCH_KNOWLEDGE_SCALE", "1.0"))


def seed_articles() -> dict:
    """Inside Django: the articles and the two readers (idempotent)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from itsm.models.numbering import allocate_numbers
    from knowledge.models import Article
    from people.models import Organisation, User

    total = int(FULL * _scale())
    orgs = [
        Organisation.objects.get_or_create(code=f"bkb{i}", defaults={"name": f"Bench KB org {i}"})[0]
        for i in (1, 2)
    ]
    password = make_password("bench-password")
    agent, _ = User.objects.get_or_create(username=AGENT, defaults={"password": password})
    agent.groups.add(Group.objects.get_or_create(name="agent")[0])
    reader, _ = User.objects.get_or_create(
        username=END_USER, defaults={"password": password, "organisation": orgs[0]}
    )
    reader.groups.add(Group.objects.get_or_create(name="end_user")[0])
    tokens = {
        name: Token.objects.get_or_create(user=user)[0].key
        for name, user in ((AGENT, agent), (END_USER, reader))
    }

    existing = Article.objects.filter(title__startswith=PREFIX).count()
    started = time.perf_counter()
    rng = random.Random(SEED)
    created = 0
    if existing < total:
        for start in range(existing, total, CHUNK):
            size = min(CHUNK, total - start)
            numbers = allocate_numbers("KB", size)
            rows = []
            for index in range(size):
                words = rng.sample(COMMON, 3) + ([rng.choice(RARE)] if rng.random() < 0.02 else [])
                title = f"{PREFIX}{start + index}: {words[0]} {rng.choice(VERBS)} with {words[1]}"
                body = " ".join(
                    rng.choice(FILLER) if rng.random() < 0.7 else rng.choice(COMMON + words)
                    for _ in range(120)
                )
                audience = rng.choices(["end_users", "agents", "organisation"], weights=[6, 3, 1])[0]
                rows.append(
                    Article(
                        number=numbers[index],
                        title=title,
                        summary=f"What to do when {words[0]} {rng.choice(VERBS)} ({words[2]}).",
                        body=body,
                        status="published" if rng.random() < 0.8 else rng.choice(["draft", "retired"]),
                        audience=audience,
                        organisation=rng.choice(orgs) if audience == "organisation" else None,
                        revision_count=1,
                    )
                )
            with transaction.atomic():
                Article.objects.bulk_create(rows)
            created += size
    return {
        "tokens": tokens,
        "articles": Article.objects.filter(title__startswith=PREFIX).count(),
        "created": created,
        "seed_seconds": round(time.perf_counter() - started, 1),
    }


def measure_in_process() -> list[dict]:
    """Inside Django: ``queries.search`` timings (ms) per reader over rotating queries."""
    from django.db import connection

    from knowledge import queries
    from people.models import User

    results = []
    texts = [*QUERIES.values(), "outlook password reset", "printer driver", "saml", "teams camera"]
    for username in (END_USER, AGENT):
        user = User.objects.get(username=username)
        for text in texts:  # warm-up
            queries.search(user, text)
        timings = []
        found = 0
        for round_ in range(200):
            text = texts[round_ % len(texts)]
            begin = time.perf_counter()
            found += len(queries.search(user, text))
            timings.append(time.perf_counter() - begin)  # seconds, as _percentile takes them
        timings.sort()
        results.append(
            {
                "name": f"search_in_process_{'end_user' if username == END_USER else 'agent'}",
                "requests": len(timings),
                "p50_ms": round(_percentile(timings, 0.5), 1),
                "p95_ms": round(_percentile(timings, 0.95), 1),
                "max_ms": round(timings[-1] * 1000, 1),
                "results_per_search": round(found / len(timings), 1),
            }
        )
    connection.close()
    return results


def seed(env: dict[str, str]) -> dict:
    seeded = call_in_django(env, "bench.knowledge:seed_articles", timeout=3600)
    seeded["in_process"] = call_in_django(env, "bench.knowledge:measure_in_process", timeout=600)
    return seeded


def run(port: int, seeded: dict) -> list[dict]:
    results = list(seeded["in_process"])
    for reader in (END_USER, AGENT):
        headers = {"Authorization": f"Token {seeded['tokens'][reader]}", "Accept": "application/json"}
        for label, text in QUERIES.items():
            path = f"/api/v1/knowledge/articles/?q={text.replace(' ', '+')}"
            status, body = http_get(port, path, headers)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
            for concurrency in CONCURRENCIES:
                who = "end_user" if reader == END_USER else "agent"
                print(f"  api search {label} as {who} at concurrency {concurrency} ...", flush=True)
                figures = run_load(
                    port,
                    path,
                    headers=headers,
                    concurrency=concurrency,
                    total=REQUESTS,
                    max_duration=MAX_SECONDS,
                    warmup=WARMUP,
                )
                results.append({"name": f"api_search_{label}_{who}", "path": path, **figures})
    return results
