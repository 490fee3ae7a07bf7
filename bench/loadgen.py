"""A bounded HTTP load generator for loopback benchmarks.

Threads, each with its own keep-alive ``http.client`` connection, send GET requests to
127.0.0.1 until the total request count or the maximum duration is reached, whichever comes
first. A short warm-up on the same connections precedes the measured phase and is not counted.
The generator shares the machine's cores with the server, so its figures are lower bounds.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections import Counter

HOST = "127.0.0.1"  # the only address a benchmark ever targets


class _Worker:
    """One thread's connection and tallies."""

    def __init__(self, port: int, path: str, headers: dict[str, str], timeout: float):
        self.port, self.path, self.headers, self.timeout = port, path, headers, timeout
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.errors = 0
        self.finished_at = 0.0

    def request(self, record: bool) -> None:
        started = time.perf_counter()
        try:
            self.connection.request("GET", self.path, headers=self.headers)
            response = self.connection.getresponse()
            response.read()
            status = str(response.status)
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()  # http.client reconnects on the next request
            status = type(exc).__name__
        elapsed = time.perf_counter() - started
        if record:
            self.latencies.append(elapsed)
            self.statuses[status] += 1
            if not status.isdigit() or int(status) >= 400:
                self.errors += 1


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return round(ordered[rank - 1] * 1000, 3)


def run_load(
    port: int,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 1,
    total: int = 2000,
    max_duration: float = 20.0,
    warmup: int = 50,
    timeout: float = 30.0,
) -> dict:
    """GET ``path`` on 127.0.0.1:``port`` at most ``total`` times within ``max_duration`` seconds.

    Errors are requests that raised or answered with a status of 400 or more; ``statuses`` counts
    every answer by status code (or exception name).
    """
    if concurrency < 1 or total < 1 or max_duration <= 0:
        raise ValueError("concurrency, total and max_duration must be positive")
    workers = [_Worker(port, path, dict(headers or {}), timeout) for _ in range(concurrency)]
    lock = threading.Lock()
    issued = 0
    clock = {}
    barrier = threading.Barrier(concurrency, action=lambda: clock.setdefault("start", time.perf_counter()))

    def claim() -> bool:
        nonlocal issued
        with lock:
            if issued >= total or time.perf_counter() >= clock["start"] + max_duration:
                return False
            issued += 1
            return True

    def loop(worker: _Worker) -> None:
        try:
            for _ in range(-(-warmup // concurrency)):
                worker.request(record=False)
            barrier.wait()
            while claim():
                worker.request(record=True)
        except threading.BrokenBarrierError:
            pass
        except BaseException:
            barrier.abort()  # release the other threads rather than leave them waiting
            raise
        finally:
            worker.finished_at = time.perf_counter()
            worker.connection.close()

    threads = [threading.Thread(target=loop, args=(worker,), daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if "start" not in clock:
        raise RuntimeError(f"load generator failed before the measured phase (GET {path})")
    return _summary(workers, clock["start"], concurrency)


def _summary(workers: list[_Worker], start: float, concurrency: int) -> dict:
    latencies = sorted(latency for worker in workers for latency in worker.latencies)
    statuses: Counter[str] = Counter()
    for worker in workers:
        statuses.update(worker.statuses)
    duration = max((worker.finished_at for worker in workers), default=start) - start
    requests = len(latencies)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "errors": sum(worker.errors for worker in workers),
        "duration_s": round(duration, 3),
        "rate_per_s": round(requests / duration, 1) if duration > 0 else 0.0,
        "mean_ms": round(sum(latencies) / requests * 1000, 3) if requests else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else 0.0,
        "statuses": dict(sorted(statuses.items())),
    }
