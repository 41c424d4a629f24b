"""Home timeline requests/s with `serve --processes 2` against one process, same run, same data.

Seeds one database per backend (20,000 statuses from 200 local accounts, one of which
follows 100 others: `bench/timelines.py`'s seeding, smaller), then runs two servers on it
at once, `WB_WEB_PROCESSES=1` and `=2` on two ports (no delivery processes), and loads
`GET /api/v1/timelines/home?limit=40` on each with wrk in alternating rounds, so machine
noise hits both alike. The two-process server is loaded only once both of its processes
have answered (the `Wildebeest-Process` header).

    .venv/bin/python bench/scaleout.py [--seconds 8] [--rounds 3] [--backend both]

Ends with `ratio two_processes_vs_one_sqlite` and `ratio two_processes_vs_one_postgres`
(requests/s of two processes over one's; on two cores the target is 1.6, which wrk, on
the same cores, makes harder to reach). Reports; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import WrkResult, postgres, ratio, tree_cpu_seconds, wildebeest_server, wrk
from bench.timelines import CHEAP_HASHING, fresh_database, seed_database

SIZES = {"accounts": 200, "statuses_count": 20_000, "follows": 100}
WAIT = 120.0


def wait_for_processes(url: str, count: int) -> None:
    """Connect afresh until `count` processes have answered (the kernel picks one per
    connection)."""
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only processes {sorted(seen)} answered at {url}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                seen.add(response.headers.get("Wildebeest-Process", "0"))
        except OSError:
            time.sleep(0.2)


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:>6}: {r.requests_per_second:7.0f} req/s  p50 {r.p50_ms:7.2f} ms  "
        f"p99 {r.p99_ms:7.2f} ms"
    )


def run_backend(label: str, database_url: str | None, args: argparse.Namespace) -> float:
    """Seed once, serve with one and with two processes, load both; two over one."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = {
            "WB_DATA_DIR": str(Path(tmp) / "data"),
            "WB_DELIVERY_PROCESSES": "0",
            **CHEAP_HASHING,
        }
        settings["WB_DATABASE_URL"] = database_url or f"sqlite:///{tmp}/data/bench.db"
        started = time.monotonic()
        token = seed_database(settings, **SIZES)
        print(
            f"[{label}] seeded {SIZES['statuses_count']:,} statuses in "
            f"{time.monotonic() - started:.1f} s"
        )
        data_dir = Path(settings["WB_DATA_DIR"])
        path = f"/api/v1/timelines/home?limit=40&access_token={token}"
        results: dict[str, list[WrkResult]] = {"one": [], "two": []}
        cpu_ms: dict[str, list[float]] = {"one": [], "two": []}
        with (
            wildebeest_server(data_dir, **settings, WB_WEB_PROCESSES="1") as (one, one_proc),
            wildebeest_server(data_dir, **settings, WB_WEB_PROCESSES="2") as (two, two_proc),
        ):
            wait_for_processes(two, 2)
            targets = {"one": one + path, "two": two + path}
            pids = {"one": one_proc.pid, "two": two_proc.pid}
            for target in targets.values():  # warm up caches in every process
                wrk(target, seconds=2, connections=args.connections, threads=args.threads)
            for _ in range(args.rounds):
                for name, target in targets.items():
                    before = tree_cpu_seconds(pids[name])
                    result = wrk(
                        target,
                        seconds=args.seconds,
                        connections=args.connections,
                        threads=args.threads,
                    )
                    used = tree_cpu_seconds(pids[name]) - before
                    assert result.non_2xx == 0, f"{name}: {result.non_2xx} errors"
                    results[name].append(result)
                    # CPU per request: what the processes cost, whatever the machine's load.
                    cpu_ms[name].append(1000 * used / max(1, result.requests))
                    print(f"[{label}] {_line(name, result)}  cpu {cpu_ms[name][-1]:.1f} ms/req")
        medians = {
            name: statistics.median(r.requests_per_second for r in rs)
            for name, rs in results.items()
        }
        print(
            f"[{label}] median one {medians['one']:.0f} req/s "
            f"({statistics.median(cpu_ms['one']):.1f} ms CPU/req), "
            f"two {medians['two']:.0f} req/s ({statistics.median(cpu_ms['two']):.1f} ms CPU/req)"
        )
        return medians["two"] / medians["one"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    if args.backend in ("both", "sqlite"):
        ratios["two_processes_vs_one_sqlite"] = run_backend("sqlite", None, args)
    if args.backend in ("both", "postgres"):
        with postgres() as url:
            with fresh_database(url) as database:
                ratios["two_processes_vs_one_postgres"] = run_backend("postgres", database, args)
    for name, value in ratios.items():
        ratio(name, value)


if __name__ == "__main__":
    main()
