"""CPU time of one store crossing: `store.read` of a `SELECT 1` unit, beside the bare
hand-off it pays: on SQLite a `trio.to_thread.run_sync` of nothing (the hop a read on a
reader thread pays), on PostgreSQL an empty call through the asyncio bridge (its two
thread hand-offs alone).

One task, calls one after another, the two measured in one Trio run; the figure is
`time.process_time()` per call (every thread of the process counted; PostgreSQL's own
CPU not), best of the rounds, so a loaded machine disturbs it less than a rate. The
context switches per call (every thread of the process, from /proc) are printed beside it.

    .venv/bin/python bench/store_crossing.py [--backend sqlite|postgres] [--calls 2000]
        [--rounds 5]        # postgres: WB_TEST_DATABASE_URL, or a throwaway cluster
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres
from wildebeest_trio.store import Connection, Store, open_store
from wildebeest_trio.store.postgres import PostgresStore


async def _select_one(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT 1"))


async def _nothing() -> None:
    return None


def _switches() -> int:
    total = 0
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/status") as status:
            for line in status:
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
    return total


async def _best(
    call: Callable[[], Awaitable[object]], calls: int, rounds: int
) -> tuple[float, float]:
    """The least CPU per call over the rounds, and the context switches per call then."""
    best, switches = float("inf"), 0.0
    for _ in range(rounds):
        started, switched = time.process_time(), _switches()
        for _ in range(calls):
            await call()
        cpu = (time.process_time() - started) / calls
        if cpu < best:
            best, switches = cpu, (_switches() - switched) / calls
    return best, switches


async def run(url: str, calls: int, rounds: int) -> None:
    store: Store = await open_store(url, pg_pool_size=20)
    try:
        if isinstance(store, PostgresStore):
            bridge = store._bridge
            name, hand_off = "empty bridge call", lambda: bridge.call(_nothing)
        else:
            name, hand_off = "trio.to_thread.run_sync(int)", lambda: trio.to_thread.run_sync(int)
        await _best(lambda: store.read(_select_one), 200, 1)  # connections, statements
        read = await _best(lambda: store.read(_select_one), calls, rounds)
        bare = await _best(hand_off, calls, rounds)
    finally:
        await store.aclose()
    for label, (cpu, switches) in (("store.read(SELECT 1)", read), (name, bare)):
        print(f"{label}: {cpu * 1e6:.0f} µs CPU, {switches:.1f} switches per call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.backend == "postgres":
        with postgres() as url:
            trio.run(run, url, args.calls, args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(run, f"sqlite:///{tmp}/crossing.db", args.calls, args.rounds)


if __name__ == "__main__":
    main()
