"""The admin dashboard's numbers at scale, against one plain `SELECT count(*) FROM statuses`.

Seeds 100,000 accounts and 1,000,000 statuses (by default) spread over the last 60 days,
with what the writes keep as they happen: the daily counters (new users, interactions,
opened and resolved reports), who was active each day (2,000 accounts a day), deliveries to
200 domains a day, and a day of job queue samples. Then, alternating rounds through the
store (as the page does):

- dashboard: what `/admin` reads for 30 days (services.dashboard.overview: the five
  measures with their previous period, deliveries by domain, the queue's day, the sizes);
- baseline: `SELECT count(*) FROM statuses`, one scan of the table a naive dashboard
  would run for one of its numbers.

Prints each one's time and `ratio dashboard_vs_count_<backend>` (dashboards per second
over counts per second; target: at least 1.0 on both backends).

Seeding follows bench/search.py: the schema up to SEED_MIGRATION, the rows (executemany
on SQLite, COPY on PostgreSQL), then the later migrations over them. `--keep DIR` keeps
the seeded databases and later runs reuse them.

    .venv/bin/python bench/admin.py [--accounts 100000] [--statuses 1000000] [--rounds 20]
                                    [--backend both] [--keep /tmp/wb-admin]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The schema up to a migration, then the rest, as bench/search.py seeds.
from bench.search import _migrate
from bench.support import bench_database, postgres, ratio, seeded_row
from wildebeest_trio.services import dashboard
from wildebeest_trio.services.admin import Staff
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store.daily_counters import DAY_MS

SEED_MIGRATION = 13  # the schema the rows are copied into; later migrations index them
DAYS = 60
ACTIVE_A_DAY = 2_000
DOMAINS = 200
SEED = 5
NOW_MS = int(time.time() * 1000)
TODAY = NOW_MS // DAY_MS
FIRST_DAY = TODAY - DAYS + 1
ACCOUNT_SQL = (
    "INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)"
)
STATUS_COLUMNS = ["id", "uri", "account_id", "local", "text", "content", "visibility"]
STATUS_COLUMNS += ["created_at", "updated_at"]
MIGRATION = Path(__file__).resolve().parent.parent / "wildebeest_trio/migrations/0032_dashboard.sql"
# The migration's own backfill derives the activity gaps from the seeded activity.
_BACKFILL = MIGRATION.read_text().split("INSERT INTO activity_gaps")[1].split(";")[0]
GAPS_SQL = f"INSERT INTO activity_gaps{_BACKFILL}"
SEEDED_TABLE = "CREATE TABLE bench_admin_seed (accounts BIGINT NOT NULL, statuses BIGINT NOT NULL)"


def _accounts(n: int) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(1, n + 1):
        domain = None if i % 10 else f"remote{i % DOMAINS}.example"
        created = (FIRST_DAY + i * DAYS // n) * DAY_MS
        uri = f"https://{domain or 'b.example'}/u/{i}"
        rows.append((i, f"user{i}", domain, uri, created, created))
    return rows


def _statuses(n: int, accounts: int) -> list[tuple[Any, ...]]:
    rng = random.Random(SEED)
    step = DAYS * DAY_MS // n
    rows = []
    for i in range(n):
        created = FIRST_DAY * DAY_MS + i * step
        status_id = created << 16 | (i & 0xFFFF)
        account = 1 + rng.randrange(accounts)
        uri = f"https://b.example/s/{status_id}"
        rows.append(
            (status_id, uri, account, account % 10 != 0, "", "", "public", created, created)
        )
    return rows


def _counters(accounts: int, statuses: int) -> list[tuple[Any, ...]]:
    """The daily counters the writes would have kept for the seeded history."""
    rows = []
    for day in range(FIRST_DAY, TODAY + 1):
        rows.append(("new_users", day, accounts // DAYS // 10))
        rows.append(("interactions", day, statuses // DAYS // 2))
        rows.append(("opened_reports", day, 7))
        rows.append(("resolved_reports", day, 5))
    return rows


def _activity(accounts: int) -> list[tuple[int, int]]:
    rng = random.Random(SEED + 1)
    return [
        (day, account)
        for day in range(FIRST_DAY, TODAY + 1)
        for account in rng.sample(range(1, accounts + 1), ACTIVE_A_DAY)
    ]


def _deliveries() -> list[tuple[Any, ...]]:
    return [
        (day, f"remote{d}.example", 100 + d, d % 7)
        for day in range(FIRST_DAY, TODAY + 1)
        for d in range(DOMAINS)
    ]


def _samples() -> list[tuple[int, ...]]:
    return [(NOW_MS - i * 900_000, i % 50, i % 3, 2, 1) for i in range(96)]


COUNTER_SQL = "INSERT INTO daily_counters (key, day, value) VALUES ($1, $2, $3)"
ACTIVITY_SQL = "INSERT INTO daily_activity (day, account_id) VALUES ($1, $2)"
DELIVERY_SQL = (
    "INSERT INTO delivery_counts (day, domain, delivered, failed) VALUES ($1, $2, $3, $4)"
)
SAMPLE_SQL = (
    "INSERT INTO job_queue_samples (at, pending, retrying, running, parked) "
    "VALUES ($1, $2, $3, $4, $5)"
)


def _later_rows(accounts: int, statuses: int) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """What the writes keep, seeded once the schema has its tables."""
    return [
        (COUNTER_SQL, _counters(accounts, statuses)),
        (ACTIVITY_SQL, _activity(accounts)),
        (DELIVERY_SQL, _deliveries()),
        (SAMPLE_SQL, _samples()),
    ]


def seed_sqlite(path: str, accounts: int, statuses: int, *, later: bool) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("BEGIN")
    if later:
        for sql, rows in _later_rows(accounts, statuses):
            raw.executemany(_qmarks(sql), rows)
        raw.execute(GAPS_SQL)
        raw.execute(SEEDED_TABLE)
        raw.execute("INSERT INTO bench_admin_seed VALUES (?, ?)", (accounts, statuses))
    else:
        raw.executemany(_qmarks(ACCOUNT_SQL), _accounts(accounts))
        marks = ", ".join("?" for _ in STATUS_COLUMNS)
        raw.executemany(
            f"INSERT INTO statuses ({', '.join(STATUS_COLUMNS)}) VALUES ({marks})",
            _statuses(statuses, accounts),
        )
    raw.execute("COMMIT")
    raw.close()


def _qmarks(sql: str) -> str:
    for n in range(9, 0, -1):
        sql = sql.replace(f"${n}", "?")
    return sql


async def seed_postgres(url: str, accounts: int, statuses: int, *, later: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if later:
            for sql, rows in _later_rows(accounts, statuses):
                await conn.executemany(sql, rows)
            await conn.execute(GAPS_SQL)
            await conn.execute(SEEDED_TABLE)
            await conn.execute("INSERT INTO bench_admin_seed VALUES ($1, $2)", accounts, statuses)
            await conn.execute("ANALYZE")
            return
        await conn.executemany(ACCOUNT_SQL, _accounts(accounts))
        # Valid rows: skip the per-row foreign-key triggers while copying (the throwaway
        # cluster's user is a superuser).
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "statuses", records=_statuses(statuses, accounts), columns=STATUS_COLUMNS
        )
        await conn.execute("SET session_replication_role = origin")
    finally:
        await conn.close()


def _seeded(url: str) -> tuple[int, int] | None:
    """(accounts, statuses) a kept database was seeded with, None when not a finished seed."""
    row = seeded_row(url, "bench_admin_seed")
    return None if row is None else (row[0], row[1])


def prepare(url: str, accounts: int, statuses: int, reset: Any, seed: Any) -> None:
    """A database seeded with as many accounts and statuses (a kept one is reused)."""
    if _seeded(url) == (accounts, statuses):
        _migrate(url)
        return
    reset()
    _migrate(url, until=SEED_MIGRATION)
    t = time.perf_counter()
    seed(later=False)
    print(
        f"  seeded {accounts:,} accounts, {statuses:,} statuses in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    t = time.perf_counter()
    _migrate(url)
    seed(later=True)
    print(f"  migrations and counters in {time.perf_counter() - t:.0f} s", flush=True)


def measure(url: str, rounds: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        store = await open_store(url, pg_pool_size=4)
        rt: Any = types.SimpleNamespace(store=store)
        owner = Staff(1, "owner")
        when = dashboard.Period(TODAY - 29, TODAY)

        async def count(conn: Connection) -> int:
            return int(await conn.fetchval("SELECT count(*) FROM statuses"))

        async def page() -> dashboard.Overview:
            return await dashboard.overview(rt, owner, when, NOW_MS)

        counts: list[float] = []
        pages: list[float] = []
        try:
            await store.read(count)  # warm the caches on both sides
            facts = await page()
            for _ in range(rounds):
                start = time.perf_counter()
                await store.read(count)
                counts.append(time.perf_counter() - start)
                start = time.perf_counter()
                await page()
                pages.append(time.perf_counter() - start)
        finally:
            await store.aclose()
        totals = {m.key: m.total for m in facts.measures}
        assert totals["active_users"] > 0 and len(facts.deliveries) == 10, totals
        return {
            "count_ms": statistics.median(counts) * 1000,
            "dashboard_ms": statistics.median(pages) * 1000,
            "active_users": totals["active_users"],
        }

    return trio.run(main)


def report(backend: str, result: dict[str, float]) -> float:
    value = result["count_ms"] / result["dashboard_ms"]
    print(
        f"{backend}: count(*) {result['count_ms']:.1f} ms, "
        f"dashboard {result['dashboard_ms']:.1f} ms "
        f"(medians; {result['active_users']:,.0f} active in 30 days)",
        flush=True,
    )
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--statuses", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--keep", metavar="DIR", help="keep the seeded databases and reuse them")
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    accounts, statuses = args.accounts, args.statuses

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="wb-bench-admin.") as folder:
            path = f"{args.keep or folder}/admin-{accounts}-{statuses}.db"
            prepare(
                f"sqlite:///{path}",
                accounts,
                statuses,
                lambda: Path(path).unlink(missing_ok=True),
                lambda later: seed_sqlite(path, accounts, statuses, later=later),
            )
            ratios["sqlite"] = report("sqlite", measure(f"sqlite:///{path}", args.rounds))

    if args.backend in ("postgres", "both"):
        with postgres() as base:
            suffix = f"{accounts}_{statuses}" if args.keep else uuid.uuid4().hex[:8]
            name = f"wb_bench_admin_{suffix}"

            with bench_database(base, name, keep=bool(args.keep)) as (url, reset):
                prepare(
                    url,
                    accounts,
                    statuses,
                    reset,
                    lambda later: asyncio.run(seed_postgres(url, accounts, statuses, later=later)),
                )
                ratios["postgres"] = report("postgres", measure(url, args.rounds))

    for backend, value in ratios.items():
        ratio(f"dashboard_vs_count_{backend}", value)


if __name__ == "__main__":
    main()
