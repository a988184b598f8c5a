"""Through-proxy versus direct to a demo service with 32 concurrent connections: throughput and added latency.

Run: ``uv run python benchmarks/proxy_overhead.py``. Prints; does not assert.

Two measurements, each interleaved direct / proxy / direct / proxy so that drift on this shared machine hits
both paths alike, with the client in its own process (its own interpreter lock) on the executor's
keep-alive client (``executor.dataplane.upstream_pool``) under uvloop: aiohttp's client topped out at about
4,400 req/s here, which capped the direct path and would have flattered the ratio.

- Throughput: 32 closed-loop workers, each sending its next request as soon as the last one is answered. The
  direct path is then bound by 32 / the service's time (a few ms), the proxied one by the executor's thread,
  whose busy share is printed for each path; the latencies are queueing (Little's law: p50 is about
  32 / throughput), which is why they are printed for reference only.
- Added latency: requests sent at ``LATENCY_RATE_RPS`` (open loop) over a pool of 32 connections (at most 32
  in flight), a rate both paths sustain, so that the difference between the paths is what the proxy's hop
  costs a request rather than how long requests queue behind each other. Each request goes direct or through
  the proxy at random, so both paths are measured over the same moments.

  Send times are random (a Poisson process) and kept to within microseconds (the client spins for the last
  couple of milliseconds before each one): the executor's timers tick in whole milliseconds, so a demo
  service's time depends on where within the millisecond a request arrives. A client whose sends fall on the
  same millisecond grid (a fixed schedule on a uvloop client, which ticks on the same clock) puts every
  request at about the same point of it, and the difference between the paths then measures that point as
  much as the hop: against one build at one time, such clients gave 0.26-0.29 ms (aiohttp's) and 0.42-0.58
  ms (a uvloop one), and this one 0.22-0.27 ms. A reference at ``LOW_RATE_RPS`` (the load driver's default
  rate is 50 req/s) shows the hop with a request or two in flight, where the executor idles between
  requests and runs each one on cold caches: everything, the direct path too, is slower there.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.upstream_pool import UpstreamPool
from executor.server import new_event_loop

T = TypeVar("T")
CONCURRENCY = 32
PHASE_S = 4.0
WARMUP_S = 1.0
LATENCY_RATE_RPS = 1000.0
LOW_RATE_RPS = 100.0
SPIN_S = 0.002  # spin, rather than sleep on the loop's millisecond timers, for this long before each send
LATENCY_ROUNDS = 3
API = "/api/v1/inventory/check"
HEADERS = [("Accept", "*/*"), ("User-Agent", "boifi-benchmark")]
TIMEOUT_S = 10.0


def _quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _closed_loop(url: str, duration_s: float, concurrency: int) -> list[float]:
    """Send GETs from ``concurrency`` closed-loop workers for ``duration_s``; return the latencies."""
    latencies_ms: list[float] = []
    deadline = time.perf_counter() + duration_s
    pool = UpstreamPool()

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await pool.request("GET", url, HEADERS, b"", TIMEOUT_S)
            latencies_ms.append((time.perf_counter() - started) * 1000)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await pool.close()
    return latencies_ms


async def _open_loop(
    urls: dict[str, str], duration_s: float, rate_rps: float, connections: int, seed: int
) -> dict[str, list[float]]:
    """Send GETs at Poisson times averaging ``rate_rps``, each to one of ``urls`` drawn at random.

    At most ``connections`` are in flight; a request's latency runs from when it was due, so waiting for a
    free connection counts against its path. Both paths share every moment of the run, so drift on this
    shared machine (which moves a path's p50 by tenths of a millisecond from one second to the next) hits
    both alike instead of landing in their difference.
    """
    rng = random.Random(seed)
    names = list(urls)
    latencies_ms: dict[str, list[float]] = {name: [] for name in names}
    pool = UpstreamPool()
    slots = asyncio.Semaphore(connections)

    async def one(name: str, due: float) -> None:
        async with slots:
            await pool.request("GET", urls[name], HEADERS, b"", TIMEOUT_S)
        latencies_ms[name].append((time.perf_counter() - due) * 1000)

    tasks: set[asyncio.Task[None]] = set()
    try:
        start = due = time.perf_counter()
        while (due := due + rng.expovariate(rate_rps)) < start + duration_s:
            wait = due - time.perf_counter() - SPIN_S
            if wait > 0:
                await asyncio.sleep(wait)
            while time.perf_counter() < due:
                await asyncio.sleep(0)  # answers keep being read meanwhile
            task = asyncio.ensure_future(one(rng.choice(names), due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    finally:
        await pool.close()
    return latencies_ms


def _run(work: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(work)


def _throughput(url: str, duration_s: float, concurrency: int) -> tuple[float, float]:
    _run(_closed_loop(url, WARMUP_S, concurrency))
    latencies = _run(_closed_loop(url, duration_s, concurrency))
    return len(latencies) / duration_s, statistics.median(latencies)


def _latency(urls: dict[str, str], duration_s: float, rate_rps: float, seed: int) -> dict[str, list[float]]:
    _run(_open_loop(urls, WARMUP_S, rate_rps, CONCURRENCY, seed))
    return _run(_open_loop(urls, duration_s, rate_rps, CONCURRENCY, seed + 1))


def _interleaved(
    ex: EmbeddedExecutor, pool: Any, function: Any, paths: dict[str, str], *args: Any, rounds: int = 2
) -> dict[str, list[tuple[Any, float]]]:
    """Run ``function(url, *args)`` in the client process for each path in turn, ``rounds`` times.

    Each result comes with the share of that time the executor's thread was busy (its CPU time over the
    wall-clock time), which says whether the executor or something else (the client, or the service's own
    time at this concurrency) bounded the path.
    """
    results: dict[str, list[tuple[Any, float]]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, url in paths.items():
            cpu_s, wall_s = ex.call(time.thread_time), time.perf_counter()
            value = pool.apply(function, (url, *args))
            busy = (ex.call(time.thread_time) - cpu_s) / (time.perf_counter() - wall_s)
            results[name].append((value, busy))
    return results


def main() -> None:
    """Measure both paths and print the ratios."""
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=1)) as ex:
        services = httpx.get(ex.base_url + "/v1/services").json()["services"]
        upstream = next(item["upstream"] for item in services if item["name"] == "inventory")
        paths = {"direct": upstream + API, "proxy": ex.proxy_url("inventory") + API}
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            capacity = _interleaved(ex, pool, _throughput, paths, PHASE_S, CONCURRENCY)
            latency = [
                pool.apply(_latency, (paths, PHASE_S, LATENCY_RATE_RPS, 10 * round_index))
                for round_index in range(LATENCY_ROUNDS)
            ]
            low = [
                pool.apply(_latency, (paths, 2 * PHASE_S, LOW_RATE_RPS, 10 * round_index + 5))
                for round_index in range(2)
            ]
    rps = {name: statistics.mean(r for (r, _), _ in runs) for name, runs in capacity.items()}
    queued = {name: statistics.mean(p for (_, p), _ in runs) for name, runs in capacity.items()}
    busy = {name: statistics.mean(b for _, b in runs) for name, runs in capacity.items()}
    pooled = {name: [value for run in latency for value in run[name]] for name in paths}
    p50 = {name: statistics.median(values) for name, values in pooled.items()}
    p99 = {name: _quantile(values, 0.99) for name, values in pooled.items()}
    alone = {name: statistics.median([value for run in low for value in run[name]]) for name in paths}
    print(
        "client: a separate process (the executor's keep-alive client, uvloop); "
        "executor: in-process thread (proxy and demo services)"
    )
    print(f"target: demo service inventory GET {API}, {CONCURRENCY} connections, 2 x {PHASE_S:g} s per path")
    print(f"throughput, {CONCURRENCY} closed-loop workers:")
    for name in paths:
        print(
            f"  {name:<7}{rps[name]:8.0f} req/s   (queueing p50 {queued[name]:6.2f} ms; "
            f"executor thread busy {busy[name]:.0%})"
        )
    print(f"  throughput ratio (proxy / direct): {rps['proxy'] / rps['direct']:.3f}   (target >= 0.5)")
    print(
        f"latency at {LATENCY_RATE_RPS:g} req/s (Poisson) over {CONCURRENCY} connections, each request sent "
        f"direct or through the proxy at random, {LATENCY_ROUNDS} x {PHASE_S:g} s "
        f"({LATENCY_RATE_RPS / rps['proxy']:.0%} of the proxy's capacity):"
    )
    for name in paths:
        print(f"  {name:<7}p50 {p50[name]:7.3f} ms   p99 {p99[name]:7.3f} ms   (n={len(pooled[name])})")
    added = [statistics.median(run["proxy"]) - statistics.median(run["direct"]) for run in latency]
    spread = ", ".join(f"{value:.3f}" for value in added)
    added_p50 = p50["proxy"] - p50["direct"]
    print(f"  added p50 latency: {added_p50:.3f} ms   (target <= 0.5 ms; rounds: {spread} ms)")
    print(f"  added p99 latency: {p99['proxy'] - p99['direct']:.3f} ms")
    print(
        f"for reference, at {LOW_RATE_RPS:g} req/s (Poisson), 2 x {2 * PHASE_S:g} s: "
        f"direct p50 {alone['direct']:.3f} ms, proxy p50 {alone['proxy']:.3f} ms, "
        f"added {alone['proxy'] - alone['direct']:.3f} ms"
    )


if __name__ == "__main__":
    main()
