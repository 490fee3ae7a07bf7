"""Benchmark "api", the foundation benchmark: the REST API's list path and the health check.

Seeds 500 users (fixed random seed) and an agent ``bench-agent`` with a DRF token, then loads
``GET /api/v1/people/users/`` (a cursor-paginated page of 50 users, token-authenticated) and
``GET /healthz`` at concurrency 1 and 8, each bounded to 2,000 requests or 20 seconds.
"""

from __future__ import annotations

import json
import random

from bench.loadgen import run_load
from bench.runner import call_in_django, http_get

SEED = 20240601
USERS = 500
USER_PREFIX = "bench-user-"
AGENT = "bench-agent"
PAGE_SIZE = 50
USERS_PATH = "/api/v1/people/users/"
HEALTH_PATH = "/healthz"
CONCURRENCIES = (1, 8)
REQUESTS, MAX_SECONDS, WARMUP = 2000, 20.0, 50

_FIRST_NAMES = (
    "Ada Alan Anna Ben Carla Chen Dana Emil Fatima Grace Hugo Ines Jonas Kofi Lena Marta Nils Olga Priya "
    "Quentin Rosa Sami Tara Ugo Vera Wim Xia Yusuf Zoe"
)
_LAST_NAMES = (
    "Almeida Berg Costa Dubois Eriksen Fischer Garcia Hansen Ibrahim Jansen Kowalski Larsen Moreau Nakamura "
    "Okafor Petrov Quinn Rossi Schmidt Tanaka Ucar Varga Weber Xu Yilmaz Zimmermann"
)
FIRST_NAMES, LAST_NAMES = _FIRST_NAMES.split(), _LAST_NAMES.split()


def seed_users() -> dict:
    """Inside Django: create the users and the agent's token unless already there (idempotent)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from people.models import User

    rng = random.Random(SEED)
    with transaction.atomic():
        existing = set(
            User.objects.filter(username__startswith=USER_PREFIX).values_list("username", flat=True)
        )
        password = make_password("bench-password")
        users = []
        for index in range(USERS):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)  # drawn for every index: stable
            username = f"{USER_PREFIX}{index:04d}"
            if username not in existing:
                users.append(
                    User(
                        username=username,
                        first_name=first,
                        last_name=last,
                        password=password,
                        email=f"{first}.{last}.{index}@example.com".lower(),
                    )
                )
        User.objects.bulk_create(users, batch_size=1000)
        agent, _ = User.objects.get_or_create(
            username=AGENT,
            defaults={
                "first_name": "Bench",
                "last_name": "Agent",
                "email": "bench-agent@example.com",
                "password": password,
            },
        )
        group, _ = Group.objects.get_or_create(name="agent")
        agent.groups.add(group)
        token, _ = Token.objects.get_or_create(user=agent)
    return {"token": token.key, "users_created": len(users), "users_total": User.objects.count()}


def seed(env: dict[str, str]) -> dict:
    """Seed the bench database (a Django subprocess with ``env``); return the token and counts."""
    return call_in_django(env, "bench.api_list:seed_users")


def _check(port: int, path: str, headers: dict[str, str]) -> dict:
    """One request before the load: the endpoint answers 200 (and a full page for the list)."""
    status, body = http_get(port, path, headers)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    if path != USERS_PATH:
        return {}
    rows = len(json.loads(body).get("results", []))
    if rows != PAGE_SIZE:
        print(f"warning: GET {path} returned {rows} rows, expected {PAGE_SIZE}")
    return {"rows_per_page": rows}


def run(port: int, seeded: dict) -> list[dict]:
    """The loads; one result dict per (endpoint, concurrency)."""
    auth = {"Authorization": f"Token {seeded['token']}", "Accept": "application/json"}
    loads = [("api_users_list", USERS_PATH, auth), ("healthz", HEALTH_PATH, {})]
    results = []
    for name, path, headers in loads:
        check = _check(port, path, headers)
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
            results.append({"name": name, "path": path, **figures, **check})
    return results
