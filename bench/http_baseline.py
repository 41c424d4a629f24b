"""Requests/s of `GET /api/v2/instance` on the real server against a bare QuartTrio hello.

Both served the same way (Hypercorn's Trio worker, one process), loaded by wrk with
20 connections, alternating rounds so that machine noise hits both alike.

    .venv/bin/python bench/http_baseline.py [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import hello_server, ratio, wildebeest_server, wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    ours, base = [], []
    with (
        tempfile.TemporaryDirectory() as tmp,
        wildebeest_server(Path(tmp)) as (url, _),
        hello_server() as (hello_url, _),
    ):
        wrk(f"{url}/api/v2/instance", seconds=2, connections=args.connections)  # warm up
        wrk(f"{hello_url}/", seconds=2, connections=args.connections)
        for _ in range(args.rounds):
            h = wrk(f"{hello_url}/", seconds=args.seconds, connections=args.connections)
            o = wrk(f"{url}/api/v2/instance", seconds=args.seconds, connections=args.connections)
            assert o.non_2xx == 0 and h.non_2xx == 0
            base.append(h)
            ours.append(o)
            print(
                f"hello: {h.requests_per_second:8.0f} req/s  p50 {h.p50_ms:6.2f} ms  "
                f"p99 {h.p99_ms:6.2f} ms | /api/v2/instance: {o.requests_per_second:8.0f} "
                f"req/s  p50 {o.p50_ms:6.2f} ms  p99 {o.p99_ms:6.2f} ms"
            )
    ours_rps = statistics.median(r.requests_per_second for r in ours)
    base_rps = statistics.median(r.requests_per_second for r in base)
    print(f"median: /api/v2/instance {ours_rps:.0f} req/s, hello {base_rps:.0f} req/s")
    ratio("instance_vs_hello", ours_rps / base_rps)


if __name__ == "__main__":
    main()
