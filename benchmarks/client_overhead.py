"""Print the cost of ``HttpExecutorClient.check_health()`` relative to a bare ``httpx.Client`` GET.

Both hit the same loopback health endpoint, alternating call by call in rounds so that drift hits both
alike. The client's health cache is disabled (``health_check_interval_sec=0``) so every call is a real
request; the client is measured with its default subscriber (ExecutorClientMetrics) attached.
Target ratio: <= 1.15.

Run: ``uv run python -m benchmarks.client_overhead [--rounds 20] [--calls 100]``
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from client import ExecutorClientConfig, HttpExecutorClient

_BODY = b'{"status":"healthy"}'


class _Health(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _time_calls(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    """Measure and print medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"
    config = ExecutorClientConfig(base_url=url, health_check_interval_sec=0)  # no cache: real calls only
    try:
        with HttpExecutorClient(config) as client, httpx.Client(base_url=url, timeout=5.0) as bare:

            def bare_get() -> None:
                bare.get("/v1/health").raise_for_status()

            def client_check() -> None:
                if not client.check_health():
                    raise RuntimeError("health check failed")

            _time_calls(bare_get, 50)  # warm both connection pools
            _time_calls(client_check, 50)
            bare_round_medians, client_round_medians = [], []
            bare_all: list[float] = []
            client_all: list[float] = []
            for index in range(args.rounds):
                # alternate call by call (and which goes first each round) so load drift hits both alike
                first, second = (bare_get, client_check) if index % 2 == 0 else (client_check, bare_get)
                round_bare: list[float] = []
                round_client: list[float] = []
                for _ in range(args.calls):
                    for call in (first, second):
                        started = time.perf_counter()
                        call()
                        elapsed = time.perf_counter() - started
                        (round_bare if call is bare_get else round_client).append(elapsed)
                bare_all.extend(round_bare)
                client_all.extend(round_client)
                bare_round_medians.append(statistics.median(round_bare))
                client_round_medians.append(statistics.median(round_client))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    bare_median = statistics.median(bare_all) * 1e6
    client_median = statistics.median(client_all) * 1e6
    per_round = [c / b for c, b in zip(client_round_medians, bare_round_medians, strict=True)]
    print(
        f"loopback health GET, {args.rounds} interleaved rounds x {args.calls} calls each "
        f"(check_health cache disabled: health_check_interval_sec=0)"
    )
    print(f"bare httpx.Client GET median:          {bare_median:8.1f} us")
    print(f"HttpExecutorClient.check_health median: {client_median:8.1f} us")
    print(f"ratio check_health / bare:             {client_median / bare_median:8.3f}  (target <= 1.15)")
    print(
        f"per-round ratio median [min, max]:     {statistics.median(per_round):8.3f}  "
        f"[{min(per_round):.3f}, {max(per_round):.3f}]"
    )


if __name__ == "__main__":
    main()
