"""Shared machinery of the benchmarks: their own database, seeding, a gunicorn server, results.

``run_benchmark(id, module)`` prepares the ``itsm_bench`` database on the developer's server
(migrated, never the developer's ``itsm``), calls ``module.seed(env)``, starts gunicorn on a free
loopback port, calls ``module.run(port, seeded)`` for a list of result dicts, stops the server,
then prints a summary and writes ``bench/results/<id>.json``.

Runs exclude each other: ``run_benchmark`` holds a PostgreSQL advisory lock on the server of the
``itsm_bench`` database from preparing it to writing the results (``BenchLock``), so a second run
against the same server, from this checkout or another, stops at once with ``BenchmarkBusy``
naming the run that holds it (two runs would reseed and load the same database and share the
cores, and both would measure nonsense).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "itsm_bench"
RESULT_MARKER = "BENCH_RESULT "
# pg_try_advisory_lock(int, int) key of a run: "itsm", "bench" (taken in the server's postgres database).
LOCK_KEY = (0x6974736D, 0x62656E63)


class BenchmarkBusy(RuntimeError):
    """Another benchmark run holds the bench database's server."""


class BenchLock:
    """A session advisory lock on the bench database's server, held for a ``with`` block.

    Taken with ``pg_try_advisory_lock``, so a second run fails at once (``BenchmarkBusy``, with the
    holder's description, pid and start) rather than waiting behind the first. The lock goes with
    its connection: a run that dies releases it.
    """

    def __init__(self, url: str, description: str, key: tuple[int, int] = LOCK_KEY):
        self.url, self.description, self.key = url, description, key
        self.connection = None

    def __enter__(self) -> BenchLock:
        connection = _connect(self.url, dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('application_name', %s, false)", [self.description[:63]])
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(self.key))
                if not cursor.fetchone()[0]:
                    raise BenchmarkBusy(self._busy_message(cursor))
        except BaseException:
            connection.close()
            raise
        self.connection = connection
        return self

    def _busy_message(self, cursor) -> str:
        cursor.execute(
            """
            SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2
            """,
            [self.key[0] % 2**32, self.key[1] % 2**32],
        )
        holder = cursor.fetchone()
        who = (
            f"{holder[0] or 'an unnamed session'}, started {holder[1]:%Y-%m-%d %H:%M:%S %Z}"
            if holder
            else "?"
        )
        return (
            f"another benchmark run is using the {BENCH_DATABASE} database on this server ({who}); "
            "wait for it to finish (or stop it) and run again"
        )

    def __exit__(self, *exc_info) -> None:
        if self.connection is not None:
            # Closing the session releases the lock anyway.
            with contextlib.suppress(Exception), self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(self.key))
            self.connection.close()
            self.connection = None


def bench_database_url(url: str) -> str:
    """The same server's URL with the database name replaced by ``itsm_bench``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def _connect(url: str, dbname: str | None = None):
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    options = {
        "dbname": dbname or config["NAME"],
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
        "host": config.get("HOST"),  # a directory for a unix socket
        "port": config.get("PORT"),
    }
    options.update(config.get("OPTIONS", {}))  # e.g. sslmode
    return psycopg2.connect(**{key: value for key, value in options.items() if value})


def ensure_database(url: str) -> None:
    """CREATE DATABASE for ``url``'s name if it does not exist, through the server's ``postgres`` db."""
    import dj_database_url
    from psycopg2 import errors, sql

    name = dj_database_url.parse(url)["NAME"]
    connection = _connect(url, dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                with contextlib.suppress(errors.DuplicateDatabase):  # created meanwhile by another run
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def bench_environment() -> dict[str, str]:
    """The environment for every bench subprocess, pointing at the bench database (servers started)."""
    from itsm import embedded

    env = embedded.environment()
    env["DATABASE_URL"] = bench_database_url(env["DATABASE_URL"])
    env["DJANGO_SETTINGS_MODULE"] = "itsm.settings"
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def prepare_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every bench subprocess: the bench database, created and migrated."""
    env = bench_environment() if env is None else env
    ensure_database(env["DATABASE_URL"])
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env, "migrate")
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    completed = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise RuntimeError(f"{what} failed with exit code {completed.returncode}")
    return completed.stdout


def call_in_django(env: dict[str, str], target: str, timeout: float | None = None) -> object:
    """Run ``module:function`` in a Django process with ``env``; return its JSON-able result.

    Its stderr (progress lines) goes to ours as it comes; its stdout is shown if it fails."""
    module, function = target.split(":")
    code = (
        "import django, importlib, json; django.setup(); "
        f"result = importlib.import_module({module!r}).{function}(); "
        f"print({RESULT_MARKER!r} + json.dumps(result))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout)
        raise RuntimeError(f"{target} failed with exit code {completed.returncode}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    return json.loads(lines[-1][len(RESULT_MARKER) :])


def use_database(env: dict[str, str], name: str) -> None:
    """Point ``env`` (the runner's, shared with gunicorn) at a benchmark's own database on the same
    server; create and migrate it."""
    from urllib.parse import urlsplit as split

    env["DATABASE_URL"] = split(env["DATABASE_URL"])._replace(path=f"/{name}").geturl()
    ensure_database(env["DATABASE_URL"])
    _run([sys.executable, "manage.py", "migrate", "--noinput"], env, "migrate")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def probe(port: int, path: str, headers: dict[str, str], timeout: float = 10) -> tuple[int, bytes]:
    """One GET (its status and body; status 0 when it failed), to see whether an endpoint is there."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as error:
        return 0, f"{type(error).__name__}: {error}".encode()
    finally:
        connection.close()


def login(port: int, username: str, password: str) -> str:
    """Sign in through the login form; the Cookie header of the session."""
    import re
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/accounts/login/")
        response = connection.getresponse()
        page = response.read().decode()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if match is None or "csrftoken" not in cookies:
            raise RuntimeError("the login page has no CSRF token")
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)})
        connection.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies['csrftoken'].value}",
            },
        )
        response = connection.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        if response.status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"login as {username} answered {response.status} without a session")
        return f"sessionid={cookies['sessionid'].value}"
    finally:
        connection.close()


class Gunicorn:
    """gunicorn serving the project on 127.0.0.1, 2 workers x 2 threads, for a ``with`` block."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2, threads: int = 2):
        self.port = free_port()
        self.env = {**env, "DEBUG": "0", "HTTPS_ONLY": "0", "ALLOWED_HOSTS": "127.0.0.1"}
        self.log_path, self.workers, self.threads = log_path, workers, threads
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        import gunicorn.config

        binary = Path(sys.executable).parent / "gunicorn"
        command = [str(binary)] if binary.exists() else [sys.executable, "-m", "gunicorn"]
        command += ["itsm.wsgi:application", "-b", f"127.0.0.1:{self.port}", "--worker-class", "gthread"]
        command += ["--workers", str(self.workers), "--threads", str(self.threads)]
        if hasattr(gunicorn.config, "ControlSocketDisable"):
            command.append("--no-control-socket")  # never clash with a developer's running gunicorn
        return command

    def __enter__(self) -> Gunicorn:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=BASE_DIR, env=self.env, stdout=log, stderr=log
            )
        try:
            self._wait_healthy(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if http_get(self.port, "/healthz")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass  # not listening yet
            time.sleep(0.2)
        raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def machine_info(database_url: str) -> dict:
    connection = _connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            postgres = cursor.fetchone()[0]
    finally:
        connection.close()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "postgres": postgres}


def git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def print_summary(benchmark: str, results: list[dict]) -> None:
    print(f"\n== benchmark {benchmark}")
    header = f"{'name':<22}{'conc':>5}{'requests':>9}{'errors':>7}{'rate/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(header)
    for row in results:
        if "concurrency" not in row:
            # Not an HTTP load (a sweep, a lateness run): its figures as they are.
            figures = {
                key: value
                for key, value in row.items()
                if key != "name" and not isinstance(value, dict | list)
            }
            print(f"{row['name']}: {json.dumps(figures)}")
            continue
        print(
            f"{row['name']:<22}{row['concurrency']:>5}{row['requests']:>9}{row['errors']:>7}{row['rate_per_s']:>9.1f}"
            f"{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['max_ms']:>9.2f}"
        )


def run_benchmark(benchmark: str, module_name: str) -> dict:
    """Prepare, seed, serve, load, and record one benchmark; return the JSON document."""
    module = importlib.import_module(module_name)
    env = bench_environment()
    with BenchLock(env["DATABASE_URL"], f"python -m bench {benchmark} (pid {os.getpid()})"):
        return _run_locked(benchmark, module, env)


def _run_locked(benchmark: str, module, env: dict[str, str]) -> dict:
    started_at = datetime.now(tz=UTC).isoformat(timespec="seconds")
    load_at_start = os.getloadavg()[0]  # other work on the same cores skews the figures
    print(f"[{benchmark}] preparing the {BENCH_DATABASE} database ...", flush=True)
    prepare_environment(env)
    print(f"[{benchmark}] seeding ...", flush=True)
    seeded = module.seed(env)
    print(f"[{benchmark}] starting gunicorn ...", flush=True)
    with Gunicorn(env, RESULTS_DIR / f"{benchmark}.gunicorn.log") as server:
        results = module.run(server.port, seeded)
    document = {
        "benchmark": benchmark,
        "machine": {**machine_info(env["DATABASE_URL"]), "load_average_1m_at_start": round(load_at_start, 2)},
        "started_at": started_at,
        "git_commit": git_commit(),
        "seeded": {key: value for key, value in seeded.items() if key != "token"},
        "results": results,
    }
    write_results(document)
    return document


def standalone(
    name: str, module, *, workers: int = 2, threads: int = 2, env_updates: dict[str, str] | None = None
) -> dict | None:
    """``python -m bench.<name>`` for a benchmark with a database of its own (``module.seed`` points
    the environment at ``module.DATABASE``): the runner's steps without touching ``itsm_bench``,
    under its lock (one benchmark run at a time on a server: they would share the cores). The
    document's common fields, the machine's load at the start, before the HTTP phase and at the
    end among them; None when another run holds the lock (said on stderr)."""
    from itsm import embedded

    started_at = datetime.now(tz=UTC).isoformat(timespec="seconds")
    loads = {"at_start": os.getloadavg()}
    env = embedded.environment()
    env["DJANGO_SETTINGS_MODULE"] = "itsm.settings"
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(env_updates or {})
    try:
        with BenchLock(env["DATABASE_URL"], f"python -m bench.{name} (pid {os.getpid()})"):
            print(f"[{name}] seeding {module.DATABASE} ...", flush=True)
            seeded = module.seed(env)
            loads["before_http"] = os.getloadavg()
            print(f"[{name}] starting gunicorn ...", flush=True)
            log = RESULTS_DIR / f"{name}.gunicorn.log"
            with Gunicorn(env, log, workers=workers, threads=threads) as server:
                results = module.run(server.port, seeded)
            loads["at_end"] = os.getloadavg()
            machine = machine_info(env["DATABASE_URL"])
    except BenchmarkBusy as busy:
        print(f"python -m bench.{name}: {busy}", file=sys.stderr)
        return None
    for when, load in loads.items():
        machine[f"load_average_{when}"] = [round(value, 2) for value in load]
    return {
        "benchmark": name,
        "machine": machine,
        "started_at": started_at,
        "finished_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "seeded": seeded,
        "results": results,
    }


def write_results(document: dict, output: str | None = None) -> Path:
    """Write ``document`` to ``bench/results/<output or its benchmark>.json`` and print its summary."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{output or document['benchmark']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print_summary(document["benchmark"], document["results"])
    print(f"written to {path.relative_to(BASE_DIR)}")
    return path
