"""PostgreSQL round trips per second from Trio through the store, against plain asyncio.

Ours: `store.read(unit)` with a unit running `SELECT 1` (acquire, query, release: one
crossing to the asyncpg pool's asyncio thread). Baseline, in the same run: plain asyncio
asyncpg with the same pool size, `async with pool.acquire(): fetchval("SELECT 1")`, its
reset query skipped as ours is. 1 and 20 concurrent tasks each. Each line gives the
process's CPU per round trip too (both threads for ours; PostgreSQL's own CPU is not
counted on either side), which a loaded machine disturbs less than the rates.

    .venv/bin/python bench/db_roundtrip.py [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres, ratio
from wildebeest_trio.store import Connection, open_store


class _NoReset(asyncpg.Connection):  # type: ignore[misc]
    def get_reset_query(self) -> str:
        return ""


async def _select_one(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT 1"))


def ours(url: str, tasks: int, seconds: float) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        store = await open_store(url, pg_pool_size=20)
        count = 0
        try:
            await store.read(_select_one)

            async def loop(deadline: float) -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    await store.read(_select_one)
                    count += 1

            start, cpu = time.perf_counter(), time.process_time()
            async with trio.open_nursery() as nursery:
                for _ in range(tasks):
                    nursery.start_soon(loop, start + seconds)
            return count / (time.perf_counter() - start), (time.process_time() - cpu) / count
        finally:
            await store.aclose()

    return trio.run(main)


def baseline(url: str, tasks: int, seconds: float) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        pool = await asyncpg.create_pool(url, min_size=2, max_size=20, connection_class=_NoReset)
        count = 0
        try:

            async def loop(deadline: float) -> None:
                nonlocal count
                while time.perf_counter() < deadline:
                    async with pool.acquire() as conn:
                        await conn.fetchval("SELECT 1")
                    count += 1

            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(loop(start + seconds) for _ in range(tasks)))
            return count / (time.perf_counter() - start), (time.process_time() - cpu) / count
        finally:
            await pool.close()

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, int], list[float]] = {}
    cpus: dict[tuple[str, int], list[float]] = {}
    with postgres() as url:
        for _ in range(args.rounds):
            for tasks in (1, 20):
                for name, fn in (("asyncio", baseline), ("trio-store", ours)):
                    rate, cpu = fn(url, tasks, args.seconds)
                    results.setdefault((name, tasks), []).append(rate)
                    cpus.setdefault((name, tasks), []).append(cpu)
                    print(
                        f"{name:10s} {tasks:2d} tasks: {rate:8.0f} round trips/s, "
                        f"{cpu * 1e6:5.0f} us CPU each"
                    )
    med = {k: statistics.median(v) for k, v in results.items()}
    for tasks in (1, 20):
        print(
            f"median, {tasks} tasks: trio-store {med[('trio-store', tasks)]:.0f}/s, "
            f"asyncio {med[('asyncio', tasks)]:.0f}/s; CPU per round trip trio-store "
            f"{statistics.median(cpus[('trio-store', tasks)]) * 1e6:.0f} us, asyncio "
            f"{statistics.median(cpus[('asyncio', tasks)]) * 1e6:.0f} us"
        )
    ratio("db_trio_vs_asyncio_1_task", med[("trio-store", 1)] / med[("asyncio", 1)])
    ratio("db_trio_vs_asyncio", med[("trio-store", 20)] / med[("asyncio", 20)])


if __name__ == "__main__":
    main()
