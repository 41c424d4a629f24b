"""Resident memory of `serve` on SQLite, idle and after 1,000 API requests, against bare QuartTrio.

.venv/bin/python bench/memory.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import hello_server, ratio, rss_mib, wildebeest_server

PATHS = [
    "/api/v2/instance",
    "/api/v1/instance",
    "/.well-known/nodeinfo",
    "/nodeinfo/2.0",
    "/.well-known/host-meta",
    "/api/v1/instance/rules",
    "/api/v1/nope",
    "/health",
]


def load(base: str, paths: list[str], count: int) -> None:
    with httpx.Client(base_url=base) as client:
        for i in range(count):
            client.get(paths[i % len(paths)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, wildebeest_server(Path(tmp)) as (url, proc):
        time.sleep(1)
        ours_idle = rss_mib(proc.pid)
        load(url, PATHS, args.requests)
        ours_busy = rss_mib(proc.pid)
    with hello_server() as (hello_url, hproc):
        time.sleep(1)
        bare_idle = rss_mib(hproc.pid)
        load(hello_url, ["/"], args.requests)
        bare_busy = rss_mib(hproc.pid)
    print(
        f"wildebeest-trio serve: {ours_idle:.1f} MiB idle, {ours_busy:.1f} MiB after "
        f"{args.requests} requests"
    )
    print(
        f"bare QuartTrio:        {bare_idle:.1f} MiB idle, {bare_busy:.1f} MiB after "
        f"{args.requests} requests"
    )
    ratio("idle_rss_vs_bare", bare_idle / ours_idle)
    ratio("busy_rss_vs_bare", bare_busy / ours_busy)


if __name__ == "__main__":
    main()
