"""After one interrupted inline SQLite read, whether a statement of that unit costs more
on the Trio thread's connection: a diagnostic.

Seeds as `bench/timelines_cpu.py` (1,000 accounts, 20,000 statuses), reads the local
public timeline, times the page's viewer-bits statement on the inline reader
(`SqliteStore._inline_reader`), then lowers `INLINE_BUDGET` until one read is interrupted
(it then runs again on a reader thread, as under load), restores it and times the same
statement on the Trio thread's connection again, and once more on a reopened connection.
Observed on CPython 3.11.7 before the store renewed that connection after a failed inline
read: 59 to 89 µs before, 240 to 512 µs after one interruption (for the life of the
process), 61 to 118 µs on a reopened connection, the same number of SQLite VM steps in
each; since the store renews it (`SqliteStore._renew_inline_reader`): 62 to 67 µs after
every interruption.

    .venv/bin/python bench/inline_overrun.py
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import seed_config
from bench.timelines import seed
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.services import timelines
from wildebeest_trio.store import Connection
from wildebeest_trio.store import sqlite as sqlite_store
from wildebeest_trio.store.paging import Page

captured: dict[str, tuple[str, tuple[Any, ...]]] = {}
_fetch = sqlite_store.SqliteConnection.fetch


async def _capturing(self: Any, sql: str, *args: Any) -> Any:
    if "'favourited'" in sql:
        captured["viewer_bits"] = (sql, args)
    return await _fetch(self, sql, *args)


async def main(tmp: str) -> None:
    settings = {"WB_DATA_DIR": f"{tmp}/data", "WB_DATABASE_URL": f"sqlite:///{tmp}/data/bench.db"}
    config = dataclasses.replace(seed_config(settings), rate_limits=False)
    async with open_server_runtime(config) as rt:
        await seed(rt, accounts=1_000, statuses_count=20_000, follows=300)

        async def a_follower(conn: Connection) -> int:
            return int(await conn.fetchval("SELECT account_id FROM follows LIMIT 1"))

        viewer = await rt.store.read(a_follower)
        store: Any = rt.store
        sqlite_store.SqliteConnection.fetch = _capturing  # type: ignore[method-assign]
        for _ in range(3):
            await timelines.public(rt, viewer, Page(limit=40), local=True)
        sql, args = captured["viewer_bits"]
        statement = sqlite_store.translate(sql)

        def timed(label: str) -> float:
            raw = store._inline_reader
            started = time.thread_time()
            for _ in range(200):
                raw.execute(statement, args).fetchall()
            took = (time.thread_time() - started) / 200 * 1e6
            print(f"{label}: {took:.0f} µs a run", flush=True)
            return took

        timed("before")
        budget = sqlite_store.INLINE_BUDGET
        for micros in range(100, 1500, 20):
            sqlite_store.INLINE_BUDGET = micros / 1e6
            store._threaded.clear()
            await timelines.public(rt, viewer, Page(limit=40), local=True)
            sqlite_store.INLINE_BUDGET = budget
            if store._threaded:
                print(f"one read interrupted (budget {micros} µs), run again on a thread")
                if timed("after") > 150:
                    break
        store._threaded.clear()
        old = store._inline_reader
        store._inline_reader = sqlite_store._connect(store.path, busy_timeout_ms=0)
        old.close()
        timed("on a reopened connection")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(main, tmp)
