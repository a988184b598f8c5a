"""How exactly the embedded executor injects: delay error, fault fraction and load-driver rate.

Run: ``uv run python benchmarks/injection_accuracy.py``. Prints; does not assert.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from scipy.stats import binom

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.http1 import Http1Server
from executor.dataplane.http_messages import Request, Response
from executor.server import new_event_loop

DELAYS_MS = (5, 200)
DELAY_RATE_RPS = 100
DELAY_RUN_S = 20
PERCENTAGES = (1, 10, 50, 99)
FRACTION_REQUESTS = 10_000
RATES_RPS = (50, 500)
RATE_RUN_S = 3


def _serve_echo(port_queue: Any) -> None:
    """Serve an instant ``200 ok`` on a free loopback port until the process is terminated.

    It runs on the data plane's own lean server: the less the upstream does per request, the less of its
    own jitter ends up in the delay error measured through it.
    """

    async def ok(_request: Request) -> Response:
        return Response(200, [("Content-Type", "text/plain")], b"ok")

    async def serve() -> None:
        server = Http1Server(ok, max_body_bytes=1 << 20)
        port_queue.put(await server.start("127.0.0.1", 0))
        await asyncio.Event().wait()

    loop = new_event_loop()
    loop.run_until_complete(serve())


@contextmanager
def echo_upstream() -> Iterator[str]:
    """Run the instant upstream in its own process, so it does not share the executor's interpreter lock."""
    context = multiprocessing.get_context("spawn")
    port_queue = context.Queue()
    process = context.Process(target=_serve_echo, args=(port_queue,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{port_queue.get(timeout=30)}"
    finally:
        process.terminate()
        process.join(10)


async def _count_injected(url: str, total: int, concurrency: int) -> tuple[int, int]:
    """Send ``total`` GETs from ``concurrency`` workers; return (sent, answered with a fault header)."""
    remaining = [total]
    hits = [0]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                async with session.get(url) as response:
                    await response.read()
                    hits[0] += "x-fault-injected" in response.headers

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total, hits[0]


def _client_count(url: str, total: int) -> tuple[int, int]:
    return asyncio.run(_count_injected(url, total, 64))


def _quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _apply_and_wait(http: httpx.Client, base: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply, wait out the fault's duration, poll its status, then fetch the final metrics once.

    The executor runs in this process: while the main thread runs Python (an HTTP call, JSON), the
    executor's thread waits for the interpreter lock, up to its 5 ms switch interval. Polling while the
    fault runs would put such stalls into the very latencies being measured.
    """
    apply_id = http.post(base + "/v1/faults/apply", json=body).json()["apply_id"]
    time.sleep(body["duration_seconds"])
    while http.get(base + f"/v1/faults/{apply_id}/status").json()["status"] in ("pending", "running"):
        time.sleep(0.2)
    while True:
        metrics: dict[str, Any] = http.get(
            base + f"/v1/faults/{apply_id}/metrics?include_samples=true"
        ).json()
        if metrics["final"]:
            return metrics
        time.sleep(0.05)


def _fault(
    fault_type: str, config: dict[str, Any], percentage: int, seconds: int, rate: float
) -> dict[str, Any]:
    return {
        "service": "echo",
        "api": "/bench",
        "method": "GET",
        "fault_type": fault_type,
        "percentage": percentage,
        "duration_seconds": seconds,
        "fault_config": config,
        "load": {"rate_rps": rate, "concurrency": 256},
    }


def delay_error(http: httpx.Client, base: str) -> None:
    """Print observed minus requested delay, net of the same run's no-fault latency.

    Half the requests are delayed and half are not, interleaved at random in one run, so the no-fault
    latency that is netted out was measured at the same moments, on the same path, under the same load.
    """
    print(
        f"delay error at {DELAY_RATE_RPS} req/s over {DELAY_RUN_S} s, half the requests delayed "
        "(observed minus requested, net of the same run's no-fault p50):"
    )
    for delay_ms in DELAYS_MS:
        config = {"delay_milliseconds": delay_ms}
        metrics = _apply_and_wait(http, base, _fault("delay", config, 50, DELAY_RUN_S, DELAY_RATE_RPS))
        plain = [row[1] for row in metrics["samples"] if not row[3]]
        base_p50, base_p99 = statistics.median(plain), _quantile(plain, 0.99)
        extra = [row[1] - delay_ms for row in metrics["samples"] if row[3]]
        errors = [value - base_p50 for value in extra]
        print(
            f"  {delay_ms:>4} ms: n={len(errors)} delayed, {len(plain)} not (p50 {base_p50:.3f} ms, "
            f"p99 {base_p99:.3f} ms): error p50 {statistics.median(errors):+.3f} ms, "
            f"p99 {_quantile(errors, 0.99):+.3f} ms (target p99 <= 3 ms); "
            f"quantile-matched p99 {_quantile(extra, 0.99) - base_p99:+.3f} ms"
        )


def fault_fraction(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    """Print the achieved fault fraction over 10,000 proxied requests per percentage."""
    print(f"fault fraction over {FRACTION_REQUESTS} requests through the proxy (99.9 % binomial interval):")
    url = ex.proxy_url("echo") + "/fraction"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        for percentage in PERCENTAGES:
            policy = {
                "metadata": {"name": f"fraction-{percentage}"},
                "spec": {
                    "rules": [
                        {
                            "match": {"path": {"exact": "/fraction"}},
                            "fault": {"percentage": percentage, "abort": {"httpStatus": 503}},
                        }
                    ]
                },
            }
            http.post(ex.base_url + "/v1/policies", json=policy)
            count, hits = pool.apply(_client_count, (url, FRACTION_REQUESTS))
            http.delete(ex.base_url + f"/v1/policies/fraction-{percentage}")
            _print_fraction(percentage, count, hits)


def _print_fraction(percentage: int, count: int, hits: int) -> None:
    low, high = binom.interval(0.999, count, percentage / 100)
    inside = "inside" if low <= hits <= high else "OUTSIDE"
    share = f"{hits}/{count} = {hits / count:.4f}"
    print(f"  {percentage:>2} %: {share}  interval [{low:.0f}, {high:.0f}]  {inside}")


def driver_rate(http: httpx.Client, base: str) -> None:
    """Print the load driver's achieved send rate against the configured one."""
    print("load driver rate (send timestamps of every request):")
    for rate in RATES_RPS:
        metrics = _apply_and_wait(http, base, _fault("delay", {"delay_milliseconds": 1}, 0, RATE_RUN_S, rate))
        offsets = [row[0] for row in metrics["samples"]]
        span_s = (offsets[-1] - offsets[0]) / 1000
        achieved = (len(offsets) - 1) / span_s
        print(
            f"  {rate:>4} req/s configured: {achieved:8.2f} req/s achieved over {span_s:.2f} s "
            f"({(achieved / rate - 1) * 100:+.2f} %; target within 2 %)"
        )


def main() -> None:
    """Start an executor in front of an instant upstream and run the three measurements."""
    started = time.perf_counter()
    with (
        echo_upstream() as upstream,
        EmbeddedExecutor(ExecutorSettings(demo=False, services={"echo": upstream}, seed=2026)) as ex,
        httpx.Client(timeout=120) as http,
    ):
        for section in (
            lambda: delay_error(http, ex.base_url),
            lambda: fault_fraction(http, ex),
            lambda: driver_rate(http, ex.base_url),
        ):
            section_started = time.perf_counter()
            section()
            print(f"  ({time.perf_counter() - section_started:.1f} s)")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
