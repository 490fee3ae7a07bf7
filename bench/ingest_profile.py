"""CPU per single-event ingestion request, in process: the WSGI application driven with an environ
as gunicorn builds it (one event in the B1 shape, ``Authorization: Bearer``) against the database.

``python -m itsm.embedded exec -- python -m bench.ingest_profile [N]`` (default 2,000) creates a
throwaway generic source in the checkout's database and compares, in alternating rounds of N/10
requests (so the machine's load touches each alike), the path as it was and each change since:
Django's handler with DRF's dispatch and a Redis client per cache call ("before"), the client kept
(itsm/cache.py), the view's short POST path (events/api/views.py), and the lean handler
(itsm/handlers.py, "after"). Then it profiles N more of one variant (``INGEST_PROFILE_VARIANT``,
default the last) and prints the cumulative time of each stage of the request per request.
``INGEST_PROFILE_CLOCK`` ``cpu`` (default) or ``wall``; ``INGEST_PROFILE_TOP`` (default 0) also
prints that many functions by own time; ``INGEST_PROFILE_PATH`` (default ``/api/v1/events/``).
Nothing is asserted: the figures go in docs/events.md with the machine's load.
"""

from __future__ import annotations

import cProfile
import datetime
import io
import json
import os
import pstats
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# As the bench's gunicorn runs: production mode over plain http on loopback.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("HTTPS_ONLY", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

# What to report: (label, file fragment, function name), cumulative seconds of the first match.
STAGES = [
    ("WSGIHandler.__call__ (all)", "django/core/handlers/wsgi.py", "__call__"),
    ("  request_started signal", "django/dispatch/dispatcher.py", "send"),
    ("  middleware + view (get_response)", "django/core/handlers/base.py", "get_response"),
    ("    URL resolving", "django/urls/resolvers.py", "resolve"),
    ("    view (dispatch)", None, "dispatch"),
    ("      authentication", "events/api/authentication.py", "source_from_header"),
    ("        source_for_token", "events/services.py", "source_for_token"),
    ("      body parsing", "events/api/views.py", "read_json"),
    ("      rate_limit_wait", "events/services.py", "rate_limit_wait"),
    ("      parse_generic", "events/services.py", "parse_generic"),
    ("      events_ingest", "events/services.py", "events_ingest"),
    ("        cursor.execute", "django/db/backends/utils.py", "execute"),
    ("        on-commit send (cache.add)", "events/services.py", "send"),
    ("      DRF finalize_response", "rest_framework/views.py", "finalize_response"),
    ("      DRF Response.render", "django/template/response.py", "render"),
    ("  close (request_finished)", "django/http/response.py", "close"),
]


def _event(index: int) -> bytes:
    key = index % 10_000
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(milliseconds=index)
    return json.dumps(
        {
            "resource": f"prof-host-{key % 1000:03d}",
            "check": f"check-{key // 1000}",
            "severity": "warning",
            "value": float(index % 97),
            "message": "disk usage above threshold",
            "labels": {"env": "bench", "phase": "profile"},
            "occurred_at": (at + datetime.timedelta(seconds=time.time())).isoformat(),
        }
    ).encode()


def _environ(body: bytes, token: str, path: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "RAW_URI": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "Python-http.client",
        "HTTP_ACCEPT_ENCODING": "identity",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _post(application, body: bytes, token: str, path: str) -> tuple[str, bytes]:
    status = []
    result = application(_environ(body, token, path), lambda s, headers, exc_info=None: status.append(s))
    try:
        content = b"".join(result)
    finally:
        result.close()
    return status[0], content


def _stage_times(profile: cProfile.Profile, count: int) -> list[tuple[str, float]]:
    stats = pstats.Stats(profile).stats
    rows = []
    for label, fragment, name in STAGES:
        best = 0.0
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
            if function == name and (fragment is None or filename.endswith(fragment)):
                best = max(best, cumulative)
        rows.append((label, best / count * 1e6))
    return rows


class _Variants:
    """The request path as it was before the lean path and as it is, switchable in one process, so
    that they are compared under the same load (alternating rounds)."""

    def __init__(self):
        from django.core.cache import cache
        from django.core.cache.backends import redis
        from django.core.wsgi import get_wsgi_application
        from rest_framework.views import APIView

        from events.api import views
        from itsm.wsgi import application

        self.django, self.lean = get_wsgi_application(), application
        self.views, self.drf_dispatch, self.short_dispatch = views, APIView.dispatch, views._Ingest.dispatch
        self.client, self.kept, self.per_call = (
            cache._cache,
            cache._cache.get_client,
            redis.RedisCacheClient.get_client,
        )

    def use(self, name: str):
        """before: Django's handler, DRF's dispatch, a Redis client per cache call; then one change
        at a time up to ``after`` (this code)."""
        handler, dispatch, kept = {
            "before": (self.django, self.drf_dispatch, False),
            "+ cache client kept": (self.django, self.drf_dispatch, True),
            "+ short dispatch": (self.django, self.short_dispatch, True),
            "after (+ lean handler)": (self.lean, self.short_dispatch, True),
        }[name]
        self.views._Ingest.dispatch = dispatch
        self.client.get_client = self.kept if kept else self.per_call.__get__(self.client)
        return handler


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    path = os.environ.get("INGEST_PROFILE_PATH", "/api/v1/events/")
    import django

    django.setup()
    from django.db import connection

    from events import services
    from events.models import EventSource

    variants = _Variants()
    names = ["before", "+ cache client kept", "+ short dispatch", "after (+ lean handler)"]
    source, token = services.source_create(
        actor=None, fields={"name": f"ingest profile {os.getpid()}", "max_batch_size": 1000}
    )
    serial = iter(range(10**9))
    try:
        for name in names:  # warm up: imports, caches, connections
            application = variants.use(name)
            for _ in range(100):
                status, content = _post(application, _event(next(serial)), token, path)
                assert status.startswith("202"), (name, status, content)
        # Alternating rounds, so that a change in the machine's load touches every variant alike.
        cpu, wall = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
        rounds = 10
        for _round in range(rounds):
            for name in names:
                application = variants.use(name)
                began_cpu, began = time.process_time(), time.perf_counter()
                for _ in range(count // rounds):
                    _post(application, _event(next(serial)), token, path)
                cpu[name] += time.process_time() - began_cpu
                wall[name] += time.perf_counter() - began
        print(f"{count} requests per variant, {rounds} alternating rounds; us per request:")
        for name in names:
            print(f"  {name:<26} CPU {cpu[name] / count * 1e6:5.0f}   wall {wall[name] / count * 1e6:5.0f}")
        application = variants.use(os.environ.get("INGEST_PROFILE_VARIANT", "after (+ lean handler)"))
        cpu_clock = os.environ.get("INGEST_PROFILE_CLOCK", "cpu") == "cpu"
        profile = cProfile.Profile(time.process_time) if cpu_clock else cProfile.Profile()
        profile.enable()
        for _ in range(count):
            _post(application, _event(next(serial)), token, path)
        profile.disable()
        clock = "CPU" if cpu_clock else "wall"
        print(f"under cProfile ({clock} time, inflated by the profiler), cumulative us/request:")
        for label, micros in _stage_times(profile, count):
            print(f"  {label:<42} {micros:8.0f}")
        top = int(os.environ.get("INGEST_PROFILE_TOP", "0"))
        if top:
            pstats.Stats(profile).sort_stats("tottime").print_stats(top)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM events_rawevent WHERE source_id = %s", [source.pk])
        EventSource.objects.filter(pk=source.pk).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
