"""CPU time of one SQLite store crossing: `store.read` of a `SELECT 1` unit, beside a
bare `trio.to_thread.run_sync` of nothing (the hop a read on a reader thread pays).

Both run in one Trio run, rounds alternating; the figure is `time.process_time()` per
call (every thread of the process counted), best of the rounds, so a loaded machine
disturbs it less than a rate.

    .venv/bin/python bench/store_crossing.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wildebeest_trio.store import Connection
from wildebeest_trio.store.sqlite import SqliteStore


async def _select_one(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT 1"))


async def _best(call: Callable[[], Awaitable[object]], calls: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            await call()
        best = min(best, (time.process_time() - started) / calls)
    return best


async def run(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{tmp}/crossing.db")
        try:
            read = await _best(lambda: store.read(_select_one), calls, rounds)
            hop = await _best(lambda: trio.to_thread.run_sync(int), calls, rounds)
        finally:
            await store.aclose()
    print(f"store.read(SELECT 1): {read * 1e6:.0f} µs CPU per call")
    print(f"trio.to_thread.run_sync(int): {hop * 1e6:.0f} µs CPU per call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trio.run(run, args.calls, args.rounds)


if __name__ == "__main__":
    main()
