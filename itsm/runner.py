"""``make run``: bring the whole service up on one machine and take it down on Ctrl-C.

Starts (or reuses) the embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set,
migrates, loads demo data on the first start only, then runs the web server (gunicorn, or
runserver with DEBUG=1), a Celery worker and Celery beat as child processes. Ctrl-C or SIGTERM
stops every child, then the embedded servers if no other process of the checkout uses them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from itsm import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _spawn(name: str, argv: list[str], env: dict) -> subprocess.Popen:
    # Each child leads its own process group, so stopping it stops its workers too, and the
    # terminal's Ctrl-C reaches only this runner, which then stops everything in order.
    print(f"[run] starting {name}: {' '.join(argv)}", flush=True)
    return subprocess.Popen(argv, cwd=BASE_DIR, env=env, start_new_session=True)


def _stop(processes: dict[str, subprocess.Popen], timeout: float = 15) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            print(f"[run] stopping {name}", flush=True)
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes.values():
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything left in the group, workers included
        except ProcessLookupError:
            pass
        process.wait()


def _wait_for_http(url: str, processes: dict[str, subprocess.Popen], timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
                return response.status in (200, 503)
        except OSError:
            time.sleep(0.3)
    return False


def _banner(url: str, env: dict) -> None:
    accounts = subprocess.run(
        [PYTHON, "manage.py", "load_demo", "--list-accounts"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    lines = [
        f"ITSM service desk is up: {url}",
        f"API docs: {url}api/docs/   health: {url}healthz",
        "Demo accounts:",
    ]
    lines += [f"  {line}" for line in accounts]
    lines.append("Press Ctrl-C to stop everything.")
    width = max(len(line) for line in lines) + 2
    print(
        "\n" + "=" * width + "\n" + "\n".join(" " + line for line in lines) + "\n" + "=" * width + "\n",
        flush=True,
    )


def main() -> int:
    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Installed for SIGINT too: a process started in the background inherits SIGINT as ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    env = embedded.environment()
    debug = _truthy(env.get("DEBUG"))
    # Plain http on loopback: no HTTPS redirect or secure-only cookies unless asked for.
    env.setdefault("HTTPS_ONLY", "0")
    env.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings")
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    url = f"http://{host}:{port}/"
    processes: dict[str, subprocess.Popen] = {}
    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "load_demo", "--if-empty")
        if not debug:
            _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        if debug:
            web = [PYTHON, "manage.py", "runserver", f"{host}:{port}"]
        else:
            web = [
                str(BIN / "gunicorn"),
                "itsm.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                env.get("WEB_CONCURRENCY", "2"),
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "10",
            ]
        queues = env.get("CELERY_QUEUES", "default,events,timers")
        processes["web"] = _spawn("web", web, env)
        processes["worker"] = _spawn(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "itsm",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                env.get("CELERY_CONCURRENCY", "2"),
                "-Q",
                queues,
                "--hostname",
                f"worker@{os.uname().nodename}",
            ],
            env,
        )
        schedule = embedded.VAR_DIR / "celerybeat-schedule"
        processes["beat"] = _spawn(
            "beat",
            [str(BIN / "celery"), "-A", "itsm", "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
            env,
        )
        if not _wait_for_http(f"http://{host}:{port}/healthz", processes):
            print("[run] the web server did not come up; stopping.", file=sys.stderr, flush=True)
            return 1
        _banner(url, env)
        print(f"[run] ready in {time.monotonic() - started:.1f} s", flush=True)
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(
                        f"[run] {name} exited with code {process.returncode}; stopping the rest.",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n[run] Ctrl-C: shutting down", flush=True)
        return 0
    except subprocess.CalledProcessError as error:
        print(f"[run] set-up step failed: {' '.join(map(str, error.cmd))}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        _stop(processes)
        print("[run] stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
