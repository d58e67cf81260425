"""A small HTTP load generator: a few keep-alive client threads, latencies and throughput."""

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """Latencies of one benchmarked request, in milliseconds, and the requests per second."""

    name: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    per_second: float


class Client:
    """One keep-alive connection that sends the API key on every request."""

    def __init__(self, port: int, api_key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, ConnectionError):
            # The server closed the kept-alive connection: open a new one and try once more.
            self.connection.close()
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            return response.status, response.read()

    def get_json(self, path: str) -> dict:
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def measure(
    name: str,
    *,
    port: int,
    api_key: str,
    paths: Callable[[int], str],
    requests: int,
    threads: int,
    warmup: int = 20,
) -> Result:
    """Send `requests` GETs (path i is paths(i)) from `threads` threads and time each one."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    start_gate = threading.Barrier(threads + 1)

    def work(worker: int) -> None:
        client = Client(port, api_key)
        for i in range(warmup):
            client.get(paths(i))
        start_gate.wait()
        for i in range(worker, requests, threads):
            path = paths(i)
            began = time.perf_counter()
            status, _ = client.get(path)
            latencies[worker].append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors[worker] += 1
        client.close()

    workers = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    start_gate.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    values = sorted(value for chunk in latencies for value in chunk)
    return Result(
        name=name,
        requests=len(values),
        errors=sum(errors),
        p50_ms=percentile(values, 0.50),
        p99_ms=percentile(values, 0.99),
        mean_ms=statistics.fmean(values),
        per_second=len(values) / elapsed,
    )
