"""Through-proxy versus direct to a demo service at concurrency 32: throughput ratio and added p50.

Run: ``uv run python benchmarks/proxy_overhead.py``. Prints; does not assert.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from typing import Any

import aiohttp
import httpx

from executor import EmbeddedExecutor, ExecutorSettings

CONCURRENCY = 32
PHASE_S = 4.0
WARMUP_S = 1.0
API = "/api/v1/inventory/check"


async def _hammer(url: str, duration_s: float, concurrency: int) -> tuple[int, list[float]]:
    """Send GETs from ``concurrency`` closed-loop workers for ``duration_s``; return count and latencies."""
    latencies_ms: list[float] = []
    deadline = time.perf_counter() + duration_s
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                latencies_ms.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies_ms), latencies_ms


def _client_phase(url: str, concurrency: int, duration_s: float) -> tuple[float, float]:
    asyncio.run(_hammer(url, WARMUP_S, concurrency))
    count, latencies = asyncio.run(_hammer(url, duration_s, concurrency))
    return count / duration_s, statistics.median(latencies)


def _phase(
    pool: Any, url: str, concurrency: int = CONCURRENCY, duration_s: float = PHASE_S
) -> tuple[float, float]:
    """Run the client in its own process so that it does not share the executor's interpreter lock."""
    result: tuple[float, float] = pool.apply(_client_phase, (url, concurrency, duration_s))
    return result


def main() -> None:
    """Measure both paths twice, interleaved, and print the ratios."""
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=1)) as ex:
        services = httpx.get(ex.base_url + "/v1/services").json()["services"]
        upstream = next(item["upstream"] for item in services if item["name"] == "inventory")
        direct_url = upstream + API
        proxy_url = ex.proxy_url("inventory") + API
        direct, proxied = [], []
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            for _ in range(2):
                direct.append(_phase(pool, direct_url))
                proxied.append(_phase(pool, proxy_url))
            direct_single = _phase(pool, direct_url, 1, 2.0)
            proxied_single = _phase(pool, proxy_url, 1, 2.0)
    direct_rps = statistics.mean(rps for rps, _ in direct)
    proxy_rps = statistics.mean(rps for rps, _ in proxied)
    direct_p50 = statistics.mean(p50 for _, p50 in direct)
    proxy_p50 = statistics.mean(p50 for _, p50 in proxied)
    print("client: a separate process (aiohttp, closed loop); executor: in-process thread")
    print(f"target: demo service inventory GET {API}, concurrency {CONCURRENCY}, 2 x {PHASE_S:g} s per path")
    print(f"direct:       {direct_rps:8.0f} req/s   p50 {direct_p50:7.3f} ms")
    print(f"through proxy:{proxy_rps:8.0f} req/s   p50 {proxy_p50:7.3f} ms")
    print(f"throughput ratio (proxy / direct): {proxy_rps / direct_rps:.3f}   (target >= 0.5)")
    print(f"added p50 latency: {proxy_p50 - direct_p50:.3f} ms   (target <= 0.5 ms)")
    added_single = proxied_single[1] - direct_single[1]
    print(
        f"for reference, concurrency 1 (no queueing): direct p50 {direct_single[1]:.3f} ms, "
        f"proxy p50 {proxied_single[1]:.3f} ms, added {added_single:.3f} ms"
    )


if __name__ == "__main__":
    main()
