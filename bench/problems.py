"""Benchmark "problems" (issue 7): known-error matching, recurring-incident detection and the trend page
with 1,000,000 incidents and 10,000 known errors. Targets: matching p95 <= 100 ms, detection <= 60 s,
trend page p95 <= 500 ms.

Works in its own database, ``itsm_bench_problems`` (``python -m bench.problems``, under the runner's
``BenchLock``; ``python -m bench problems`` works too, the runner then also migrates ``itsm_bench``).

Seeding (a Django subprocess, fixed random seed):

* the million incidents of ``bench.incidents`` (its reference data and its COPY loader,
  ``seed_incidents``, unchanged: groups, agents, callers, 60 services, 600 CIs, the category tree,
  two years of incidents with a rising volume, a fifth with an affected CI; about 50,000 in the
  last 30 days); kept when already loaded;
* 10,000 known errors (``BENCH_PROBLEMS_SCALE`` times) written with ``bulk_create`` (numbers from
  ``allocate_numbers``; PostgreSQL computes the search vectors): titles, symptoms and root causes
  composed from the incidents' subjects and symptoms plus components, versions, error codes and
  triggers (so a common word matches thousands and a version or code a handful), the category of
  the subject most of the time, one to three faulty CIs (70%), a service (50%), 88% open; one active
  workaround each;
* 300 problems linking 3,000 incidents of the last 30 days (detection leaves them out).

Measured:

* in process: ``problems.queries.match_known_errors`` (the suggestion provider) for 300 realistic
  incident texts (the incidents' own generator and known errors' symptoms reworded), half with the
  incident's CI, service and category, after a warm-up; the plan of the text candidates query
  (``EXPLAIN ANALYZE``) for the commonest text; ``problems.detection.detect_recurring`` over the last
  30 days, the candidates of a previous run removed first (``first``: every candidate new) and again
  (``again``: the same candidates updated), each timed, with ``BENCH_PROBLEMS_PROFILE=1`` a cProfile
  of the first run (top 25 by cumulative time); the trend page's rollup rebuilt
  (``problems.trends.refresh_rollup``, what beat runs hourly) and timed; ``trend_report`` for 8 and
  26 weeks, 20 times each;
* over HTTP on 127.0.0.1, as the incidents bench's agent (a session for pages, a token for the API),
  at concurrency 1 and 4: ``GET /api/v1/known-errors/match/`` (texts rotating), the incident create
  form's suggestions panel ``GET /incidents/new/part/suggestions/`` (what the agent UI calls as one
  types: incidents' similar incidents and articles plus the known errors), and the trend page
  ``GET /problems/trends/`` (8 weeks, the default, and 26 weeks).

Environment: ``BENCH_INCIDENTS_SCALE`` (the incidents, default 1.0), ``BENCH_PROBLEMS_SCALE`` (the
known errors, default 1.0), ``BENCH_PROBLEMS_PROFILE=1``, ``BENCH_PROBLEMS_CONCURRENCIES`` (``1,4``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from urllib.parse import urlencode

from bench.incidents import AGENT, AGENT_PASSWORD, CONTEXTS, SUBJECTS, SYMPTOMS, _load_paths
from bench.loadgen import _percentile
from bench.runner import BASE_DIR, call_in_django, login, probe, use_database

SEED = 20261127
# A scaled-down check (BENCH_INCIDENTS_SCALE or BENCH_PROBLEMS_SCALE below 1) keeps its own database,
# so it never empties the full one.
_SCALED = any(
    float(os.environ.get(name, "1")) < 1 for name in ("BENCH_INCIDENTS_SCALE", "BENCH_PROBLEMS_SCALE")
)
DATABASE = "itsm_bench_problems_small" if _SCALED else "itsm_bench_problems"
KNOWN_ERRORS = 10_000
PROBLEMS, LINKED_PER_PROBLEM = 300, 10
KE_CHUNK = 2_000
MATCH_TEXTS = 300
STATEMENT_TIMEOUT_MS = 120_000  # detection's statements are long; the pages' are far below it
CONCURRENCIES = tuple(int(n) for n in os.environ.get("BENCH_PROBLEMS_CONCURRENCIES", "1,4").split(","))
REQUESTS, SECONDS, WARMUP = 300, 20.0, 8
TREND_REQUESTS, TREND_SECONDS = 120, 30.0
BENCH_CREATOR = "bench-prb-owner"

# What a known error is about, beyond the incidents' subjects: components, versions, codes, triggers.
COMPONENTS = [
    "client agent", "kernel driver", "certificate chain", "connection pool", "DNS resolver", "SSO plugin",
    "print spooler", "sync engine", "license server", "load balancer", "storage controller", "GPO",
    "cache service", "index rebuild", "mail transport", "token service", "proxy PAC file", "NIC firmware",
    "docking firmware", "graphics driver", "TLS library", "scheduler", "search indexer", "codec pack",
]  # fmt: skip
VERSIONS = [
    f"{major}.{minor}.{patch}" for major in (2, 3, 4, 9, 11) for minor in (0, 1, 4) for patch in (0, 2, 7)
]
CODES = [f"0x8007{n:04X}" for n in range(5, 400, 7)] + [f"ERR-{n}" for n in range(100, 160)]
TRIGGERS = [
    "after the monthly patch", "when the laptop wakes from sleep", "on battery power", "with two monitors",
    "after a password change", "behind the guest proxy", "during the nightly backup", "with IPv6 enabled",
    "when the token expires", "on the Paris site", "for shared mailboxes", "under heavy load",
    "after the certificate renewal", "when roaming between access points", "with the new docking station",
    "on Windows 11 23H2", "in Citrix sessions", "with the German keyboard layout", "at month-end close",
]  # fmt: skip
CAUSES = [
    "a memory leak in", "a race condition in", "a misconfigured", "an expired certificate used by",
    "a wrong timeout in", "a known defect of", "a full disk behind", "a stale cache of",
    "an incompatible update of", "a duplicate IP address on", "a missing index in", "a locked service account of",
]  # fmt: skip
EXTRA_SYMPTOMS = [
    "Users see the error {code}.", "The event log shows {code} every few minutes.",
    "It started with version {version}.", "Only machines on version {version} are affected.",
    "Reconnecting helps for a while.", "A reboot clears it until the next day.",
    "Monitoring shows the {component} restarting.", "Calls to the service desk double at peak times.",
]  # fmt: skip
REWORDINGS = ["keeps failing", "broken again", "does not work", "is very slow", "error", "stopped"]


def ke_scale() -> float:
    value = float(os.environ.get("BENCH_PROBLEMS_SCALE", "1.0"))
    if not 0 < value <= 1.0:
        raise ValueError("BENCH_PROBLEMS_SCALE must be in (0, 1]")
    return value


def _log(message: str) -> None:
    print(f"[problems] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ inside Django: seed


def _bench_categories() -> dict[str, int]:
    from bench.incidents import CATEGORIES
    from incidents.models import Category

    return dict(Category.objects.filter(parent=None, name__in=list(CATEGORIES)).values_list("name", "pk"))


def _known_error_text(rng: random.Random, category_name: str) -> dict:
    subject = rng.choice(SUBJECTS[category_name])
    symptom = rng.choice(SYMPTOMS)
    component = rng.choice(COMPONENTS)
    version, code = rng.choice(VERSIONS), rng.choice(CODES)
    trigger = rng.choice(TRIGGERS)
    title = f"{subject} {symptom} {trigger}"
    extra = " ".join(
        sentence.format(code=code, version=version, component=component)
        for sentence in rng.sample(EXTRA_SYMPTOMS, 2)
    )
    context = rng.choice([c for c in CONTEXTS if c] + [""])
    symptoms = f"{subject} {symptom} {context}".strip() + f" {trigger}. {extra}"
    root_cause = f"{rng.choice(CAUSES)} the {component} {version}".capitalize() + "."
    return {"title": title[:200], "symptoms": symptoms, "root_cause": root_cause, "subject": subject}


def _seed_known_errors(ref: dict, creator_id: int) -> dict:
    """10,000 known errors with a workaround each (idempotent: kept when the count is there)."""
    from django.db import transaction

    from itsm.models.numbering import allocate_numbers
    from problems.models import KnownError, Workaround

    total = round(KNOWN_ERRORS * ke_scale())
    existing = KnownError.objects.filter(created_by_id=creator_id)
    if existing.count() == total:
        _log(f"{total:,} known errors already there; kept")
        return {"known_errors": total, "seconds": 0.0}
    began = time.perf_counter()
    Workaround.objects.filter(known_error__created_by_id=creator_id).delete()
    existing.delete()
    rng = random.Random(SEED + 17)  # noqa: S311 - repeatable data, not a secret
    categories = _bench_categories()
    names = list(categories)
    services, cis = ref["services"], ref["cis"]
    statuses = ["active"] * 80 + ["fix_planned"] * 8 + ["resolved"] * 8 + ["retired"] * 4
    for start in range(0, total, KE_CHUNK):
        size = min(KE_CHUNK, total - start)
        numbers = allocate_numbers(KnownError.number_prefix, size)
        rows, texts, scopes = [], [], []
        for index in range(size):
            name = rng.choice(names)
            text = _known_error_text(rng, name)
            own = name if rng.random() < 0.85 else rng.choice(names)
            rows.append(
                KnownError(
                    number=numbers[index],
                    title=text["title"],
                    symptoms=text["symptoms"],
                    root_cause=text["root_cause"],
                    status=rng.choice(statuses),
                    category_id=categories[own] if rng.random() < 0.9 else None,
                    created_by_id=creator_id,
                    owner_id=creator_id,
                    reassessment_interval_days=90,
                )
            )
            texts.append(text)
            scopes.append(
                (
                    rng.sample(cis, rng.randint(1, 3)) if rng.random() < 0.7 else [],
                    [rng.choice(services)] if rng.random() < 0.5 else [],
                )
            )
        with transaction.atomic():
            KnownError.objects.bulk_create(rows)
            KnownError.cis.through.objects.bulk_create(
                [
                    KnownError.cis.through(knownerror_id=ke.pk, configurationitem_id=ci)
                    for ke, (ke_cis, _) in zip(rows, scopes, strict=True)
                    for ci in ke_cis
                ]
            )
            KnownError.services.through.objects.bulk_create(
                [
                    KnownError.services.through(knownerror_id=ke.pk, configurationitem_id=service)
                    for ke, (_, ke_services) in zip(rows, scopes, strict=True)
                    for service in ke_services
                ]
            )
            Workaround.objects.bulk_create(
                [
                    Workaround(
                        known_error_id=ke.pk,
                        title=f"Work around: {text['subject']}",
                        symptoms=text["symptoms"][:500],
                        steps="1. Restart the client. 2. Clear its cache. 3. Sign in again.",
                        created_by_id=creator_id,
                    )
                    for ke, text in zip(rows, texts, strict=True)
                ]
            )
        _log(f"known errors: {start + size:,}/{total:,}")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE problems_knownerror")
        cursor.execute("ANALYZE problems_knownerror_cis")
        cursor.execute("ANALYZE problems_knownerror_services")
        cursor.execute("ANALYZE problems_workaround")
    return {"known_errors": total, "seconds": round(time.perf_counter() - began, 1)}


def _seed_problems(creator_id: int) -> dict:
    """Problems with recent incidents linked (detection leaves those out); idempotent."""
    import datetime

    from django.db import transaction
    from django.utils import timezone

    from incidents.models import Incident
    from itsm.models.numbering import allocate_numbers
    from problems.models import Problem, ProblemIncident

    existing = Problem.objects.filter(problem_manager_id=creator_id, title__startswith="Bench problem ")
    if existing.count() == PROBLEMS and ProblemIncident.objects.filter(problem__in=existing).exists():
        return {"problems": PROBLEMS, "linked_incidents": ProblemIncident.objects.count()}
    ProblemIncident.objects.filter(problem__in=existing).delete()
    existing.delete()
    rng = random.Random(SEED + 23)  # noqa: S311 - repeatable data, not a secret
    since = timezone.now() - datetime.timedelta(days=30)
    recent = list(Incident.objects.filter(created_at__gte=since).order_by("id").values_list("pk", flat=True))
    chosen = rng.sample(recent, min(len(recent) // 16, PROBLEMS * LINKED_PER_PROBLEM))
    numbers = allocate_numbers(Problem.number_prefix, PROBLEMS)
    with transaction.atomic():
        problems = Problem.objects.bulk_create(
            [
                Problem(number=numbers[i], title=f"Bench problem {i:03d}", problem_manager_id=creator_id)
                for i in range(PROBLEMS)
            ]
        )
        ProblemIncident.objects.bulk_create(
            [
                ProblemIncident(
                    problem_id=problems[i // LINKED_PER_PROBLEM].pk, incident_id=pk, is_cause=True
                )
                for i, pk in enumerate(chosen)
            ]
        )
    return {"problems": PROBLEMS, "linked_incidents": len(chosen)}


def seed_problems() -> dict:
    """Inside Django: the incidents (bench.incidents' loader), known errors and problems."""
    from bench.incidents import _reference, seed_incidents
    from people.models import User

    seeded = seed_incidents()
    ref = _reference(random.Random(SEED))  # noqa: S311 - idempotent: the same reference data
    creator, _ = User.objects.get_or_create(
        username=BENCH_CREATOR, defaults={"first_name": "Bench", "last_name": "Owner", "password": "!"}
    )
    seeded["known_errors"] = _seed_known_errors(ref, creator.pk)
    seeded["problems"] = _seed_problems(creator.pk)
    seeded["cis"] = ref["cis"][:50]
    seeded["all_services"] = ref["services"]
    return seeded


# ------------------------------------------------------------------- inside Django: in-process figures


def _match_cases(seeded: dict) -> list[dict]:
    """Realistic incident texts, half with a CI, service and category; fixed seed."""
    from problems.models import KnownError

    rng = random.Random(SEED + 31)  # noqa: S311 - repeatable data, not a secret
    categories = _bench_categories()
    names = list(categories)
    sample = list(
        KnownError.objects.filter(status="active")
        .order_by("id")
        .values_list("symptoms", "category_id")[:2000]
    )
    cases = []
    for index in range(MATCH_TEXTS):
        if index % 3 == 0:  # a known error's symptoms, as someone would type them
            symptoms, category = rng.choice(sample)
            words = symptoms.split(".")[0].split()
            text = " ".join(words[: rng.randint(3, 7)]) + " " + rng.choice(REWORDINGS)
        else:  # the incidents' own generator
            name = rng.choice(names)
            context = rng.choice(CONTEXTS)
            text = f"{rng.choice(SUBJECTS[name])} {rng.choice(SYMPTOMS)} {context}".strip()
            category = categories[name]
        case = {"text": text}
        if index % 2 == 0:
            case.update(
                cis=[rng.choice(seeded["cis"])],
                service=rng.choice(seeded["all_services"]),
                category=category,
            )
        cases.append(case)
    return cases


def _explain_candidates(user, text: str) -> dict:
    """EXPLAIN ANALYZE of the text candidates query for ``text`` (the costliest of matching)."""
    from django.contrib.postgres.search import SearchQuery, SearchRank
    from django.db import connection
    from django.db.models import F

    from problems import queries
    from problems.choices import KE_OPEN_STATUSES
    from problems.models import KnownError

    words = queries.lexemes(text)
    query = SearchQuery(" | ".join(words), search_type="raw", config="simple")
    visible = KnownError.objects.visible_to(user).filter(status__in=KE_OPEN_STATUSES)
    newest = visible.filter(search_vector=query).order_by("-id").values("id")[: queries.TEXT_POOL]
    rows = (
        KnownError.objects.filter(pk__in=newest)
        .annotate(pool_rank=SearchRank(F("search_vector"), query))
        .order_by("-pool_rank", "-id")
        .values_list("id", flat=True)[: queries.TEXT_CANDIDATES]
    )
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = [line for (line,) in cursor.fetchall()]
    matching = visible.filter(search_vector=query).count()
    return {"text": text, "words": words, "open_known_errors_matching": matching, "plan": plan}


def _time_matching(user, cases: list[dict]) -> dict:
    from problems import queries

    for case in cases[:20]:  # warm-up: stop words, plans, caches
        queries.match_known_errors(user, text=case["text"])
    timings, found, top_scores = [], 0, []
    for case in cases:
        began = time.perf_counter()
        matches = queries.match_known_errors(
            user,
            text=case["text"],
            ci_ids=case.get("cis", ()),
            service_id=case.get("service"),
            category_id=case.get("category"),
        )
        timings.append(time.perf_counter() - began)
        found += len(matches)
        if matches:
            top_scores.append(matches[0].score)
    timings.sort()
    return {
        "name": "match_in_process",
        "requests": len(timings),
        "p50_ms": _percentile(timings, 0.5),
        "p95_ms": _percentile(timings, 0.95),
        "p99_ms": _percentile(timings, 0.99),
        "max_ms": round(timings[-1] * 1000, 3),
        "matches_per_text": round(found / len(cases), 2),
        "texts_with_a_match": len(top_scores),
        "target_p95_ms": 100,
    }


def _time_detection() -> list[dict]:
    import cProfile
    import io
    import pstats

    from django.db import connection

    from problems import detection
    from problems.models import ProblemCandidate

    removed, _ = ProblemCandidate.objects.all().delete()
    results = []
    for label in ("first", "again"):
        profiler = (
            cProfile.Profile()
            if label == "first" and os.environ.get("BENCH_PROBLEMS_PROFILE") == "1"
            else None
        )
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = detection.detect_recurring()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - began
        row = {
            "name": f"detect_recurring_{label}",
            "seconds": round(seconds, 2),
            "examined": outcome.examined,
            "clusters": outcome.clusters,
            "proposed": outcome.proposed,
            "updated": outcome.updated,
            "target_s": 60,
        }
        if label == "first":
            row["candidates_removed_before"] = removed
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            row["profile"] = out.getvalue().splitlines()[:60]
        results.append(row)
        _log(f"detection ({label}): {seconds:.1f} s, {outcome}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM problems_problemcandidate_incidents")
        results[-1]["candidate_incident_rows"] = cursor.fetchone()[0]
    return results


def _time_refresh() -> dict:
    """The rollup the trend page reads (``problems.tasks.refresh_trends``, beat), timed."""
    from problems.trends import refresh_rollup

    began = time.perf_counter()
    done = refresh_rollup()
    return {"name": "trend_rollup_refresh", "seconds": round(time.perf_counter() - began, 2), **done}


def _time_trends(user) -> list[dict]:
    from problems.trends import trend_report

    results = []
    for weeks in (8, 26):
        for _ in range(2):
            trend_report(user, weeks=weeks)
        timings = []
        for _ in range(20):
            began = time.perf_counter()
            report = trend_report(user, weeks=weeks)
            timings.append(time.perf_counter() - began)
        timings.sort()
        results.append(
            {
                "name": f"trend_report_in_process_{weeks}w",
                "requests": len(timings),
                "p50_ms": _percentile(timings, 0.5),
                "p95_ms": _percentile(timings, 0.95),
                "max_ms": round(timings[-1] * 1000, 3),
                "incidents_counted": sum(report["totals"]),
                "from_rollup_until": report["rollup_until"].isoformat() if report["rollup_until"] else None,
            }
        )
    return results


def in_process() -> dict:
    from django.db import connection

    from people.models import User

    seeded = json.loads(os.environ["BENCH_PROBLEMS_SEEDED"])
    user = User.objects.get(username=AGENT)
    cases = _match_cases(seeded)
    figures = {
        "cases": cases,
        "match": _time_matching(user, cases),
        "explain": _explain_candidates(user, "Outlook very slow since this morning"),
        "detection": _time_detection(),
        "refresh": _time_refresh(),
        "trends": _time_trends(user),
    }
    connection.close()
    return figures


# ------------------------------------------------------------------------- outside Django: the run


def seed(env: dict[str, str]) -> dict:
    use_database(env, DATABASE)
    seeded = call_in_django(env, "bench.problems:seed_problems", timeout=3600)
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
    inner = {**env, "BENCH_PROBLEMS_SEEDED": json.dumps(seeded)}
    seeded["in_process"] = call_in_django(inner, "bench.problems:in_process", timeout=1800)
    return seeded


def _load(
    port: int, label: str, paths: list[str], headers: dict, requests: int, seconds: float
) -> list[dict]:
    status, body = probe(port, paths[0], headers, timeout=120)
    if status != 200:
        raise RuntimeError(f"GET {paths[0]} answered {status}: {body[:300]!r}")
    rows = []
    for concurrency in CONCURRENCIES:
        print(f"  {label} at concurrency {concurrency} ...", flush=True)
        figures = _load_paths(port, paths, headers, concurrency, requests, seconds, WARMUP)
        rows.append({"name": label, "path": paths[0], "paths": len(paths), **figures})
    return rows


def run(port: int, seeded: dict) -> list[dict]:
    figures = seeded["in_process"]
    results = [figures["match"], *figures["detection"], figures["refresh"], *figures["trends"]]
    token = {"Authorization": f"Token {seeded['token']}", "Accept": "application/json"}
    session = {"Cookie": login(port, AGENT, AGENT_PASSWORD), "Accept": "text/html"}
    api_paths, part_paths = [], []
    for case in figures["cases"]:
        params = [("text", case["text"])] + [("cis", str(ci)) for ci in case.get("cis", ())]
        form = [("short_description", case["text"])] + [("cis", str(ci)) for ci in case.get("cis", ())]
        for key in ("service", "category"):
            if case.get(key):
                params.append((key, str(case[key])))
                form.append((key, str(case[key])))
        api_paths.append(f"/api/v1/known-errors/match/?{urlencode(params)}")
        part_paths.append(f"/incidents/new/part/suggestions/?{urlencode(form)}")
    results += _load(port, "api_known_error_match", api_paths, token, REQUESTS, SECONDS)
    results += _load(
        port, "ui_create_suggestions", part_paths, {**session, "HX-Request": "true"}, REQUESTS, SECONDS
    )
    for weeks in (8, 26):
        path = "/problems/trends/" + ("" if weeks == 8 else f"?weeks={weeks}")
        results += _load(port, f"trend_page_{weeks}w", [path], session, TREND_REQUESTS, TREND_SECONDS)
    return results


def main() -> int:
    """``python -m bench.problems``: the runner's steps in ``itsm_bench_problems`` only, under its lock."""
    from bench.runner import standalone, write_results

    document = standalone(
        "problems",
        sys.modules[__name__],
        env_updates={"HTTPS_ONLY": "0", "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,testserver"},
    )
    if document is None:
        return 3
    seeded = document["seeded"]
    document["explain"] = seeded.pop("in_process")["explain"]
    document["seeded"] = {
        key: value for key, value in seeded.items() if key not in {"token", "cis", "all_services"}
    }
    write_results(document)
    for row in document["results"]:
        if row.get("profile"):
            print("\n".join(row["profile"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
