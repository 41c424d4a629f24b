"""CPU time of one PostgreSQL store crossing: `store.read` of a `SELECT 1` unit, and an
empty call through the asyncio bridge (the two thread hand-offs alone).

One task, calls one after another; the figure is `time.process_time()` per call (both
threads of the process; PostgreSQL's own CPU not counted), best of the rounds, so a
loaded machine disturbs it less than a rate. The context switches per call (every
thread of the process, from /proc) are printed beside it.

    WB_TEST_DATABASE_URL=... .venv/bin/python bench/pg_crossing.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres
from wildebeest_trio.store import Connection, open_store
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
    store = await open_store(url, pg_pool_size=20)
    assert isinstance(store, PostgresStore)
    try:
        await _best(lambda: store.read(_select_one), 200, 1)
        read = await _best(lambda: store.read(_select_one), calls, rounds)
        empty = await _best(lambda: store._bridge.call(_nothing), calls, rounds)
    finally:
        await store.aclose()
    print(f"store.read(SELECT 1): {read[0] * 1e6:.0f} µs CPU, {read[1]:.1f} switches per call")
    print(f"empty bridge call: {empty[0] * 1e6:.0f} µs CPU, {empty[1]:.1f} switches per call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with postgres() as url:
        trio.run(run, url, args.calls, args.rounds)


if __name__ == "__main__":
    main()
