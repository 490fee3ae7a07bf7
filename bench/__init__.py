"""Benchmarks: each generates its data with a fixed seed, runs a bounded load on loopback, prints a
summary and writes JSON figures to ``bench/results/<id>.json``.

Run them all with ``python -m bench`` (``make bench``) or some by id: ``python -m bench api``.
Every benchmark works in its own database, ``itsm_bench``, on the same server as the developer's
(the embedded PostgreSQL under ``var/`` when DATABASE_URL is unset), never in the developer's data.
"""

# Benchmark id -> module under bench/ with ``seed(env)`` and ``run(port, seeded)``.
BENCHMARKS = {
    "api": "bench.api_list",
    "cmdb": "bench.cmdb",
    "incidents": "bench.incidents",  # its own database, itsm_bench_incidents
    "sla": "bench.sla",  # its own database, itsm_bench_sla, and its own Redis
    "events": "bench.events",  # its own database, itsm_bench_events, and its own Redis
    "knowledge": "bench.knowledge",
    "dashboards": "bench.dashboards",  # its own database, itsm_bench_dashboards
    "portal": "bench.portal",  # shares itsm_bench (and its 50,000 articles) with "knowledge"
}
