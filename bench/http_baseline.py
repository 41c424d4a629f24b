"""Requests/s of `GET /api/v2/instance` on the real server against a bare QuartTrio hello.

Both served the same way (Hypercorn's Trio worker, one process), loaded by wrk with
20 connections, in alternating rounds so that machine noise hits both alike; each round's
line ends with its own ratio, the last line is the ratio of the medians.

    .venv/bin/python bench/http_baseline.py [--seconds 6] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import WrkResult, hello_server, ratio, wildebeest_server, wrk


def _round(label: str, result: WrkResult) -> str:
    text = (
        f"{label}: {result.requests_per_second:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms"
    )
    if result.non_2xx or result.socket_errors:
        # Reported, not asserted: a run under load must still say what it saw.
        text += f" ({result.non_2xx} non-2xx answers, {result.socket_errors} socket errors)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    ours, base = [], []
    # wrk is one client address: without the exemption the API's per-address limit (300
    # requests in 5 minutes, as Mastodon) answers nearly every request 429.
    settings = {"WB_RATE_LIMIT_EXEMPT_LOOPBACK": "true"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        wildebeest_server(Path(tmp), **settings) as (url, _),
        hello_server() as (hello_url, _),
    ):
        answer = httpx.get(f"{url}/api/v2/instance", timeout=30)
        print(f"/api/v2/instance answers {answer.status_code}, {len(answer.content)} bytes")
        wrk(f"{url}/api/v2/instance", seconds=2, connections=args.connections)  # warm up
        wrk(f"{hello_url}/", seconds=2, connections=args.connections)
        for n in range(args.rounds):
            # Which side goes first alternates, so that a drift in the machine's load
            # does not favour either.
            runs = {}
            for side in ("hello", "ours") if n % 2 == 0 else ("ours", "hello"):
                target = f"{hello_url}/" if side == "hello" else f"{url}/api/v2/instance"
                runs[side] = wrk(target, seconds=args.seconds, connections=args.connections)
            h, o = runs["hello"], runs["ours"]
            base.append(h)
            ours.append(o)
            pair = o.ok_per_second / h.ok_per_second if h.ok_per_second else 0.0
            print(_round("hello", h) + " | " + _round("/api/v2/instance", o) + f" | {pair:.2f}")
    # Only answers that succeeded count as throughput, on both sides.
    ours_rps = statistics.median(r.ok_per_second for r in ours)
    base_rps = statistics.median(r.ok_per_second for r in base)
    print(f"median 2xx: /api/v2/instance {ours_rps:.0f} req/s, hello {base_rps:.0f} req/s")
    ratio("instance_vs_hello", ours_rps / base_rps if base_rps else 0.0)


if __name__ == "__main__":
    main()
