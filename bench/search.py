"""Full-text status search at scale, against a lookup by primary key in the same run.

Seeds N statuses (1,000,000 by default) written by 10,000 accounts (a tenth of them
remote, half of those opted in to search), their words drawn from a Zipf-distributed
vocabulary of 30,000 made-up words (8 to 24 words a status), 80% public, 10% unlisted,
7% private, 3% direct; the viewer follows 50 accounts. Then, alternating rounds
through the store (`store.read(unit)`, as the API does):

- ours: the search query of `/api/v2/search?type=statuses` (store/search.search_statuses
  with the viewer's visibility, blocks, mutes and the remote-status rule; 20 results),
  for a mix of queries: one word (common, middling or rare), two words, a two-word phrase;
- baseline: `SELECT * FROM statuses WHERE id = $1` for a random id.

Prints per backend the throughput of each, p50/p99 of search, and
`ratio search_vs_pk_<backend>` (search/s over lookups/s; targets: 0.3 on SQLite, 0.2 on
PostgreSQL, at 200,000 statuses, with p99 about the same at 1,000,000).

Seeding: the schema up to migration SEED_MIGRATION, then the rows (executemany in one
transaction on SQLite, COPY on PostgreSQL), then the later migrations, which build the
search index over them as they would on an existing server's database (their time is
printed). Seeding 1,000,000 statuses takes several minutes, so `--keep DIR` keeps the
seeded databases (SQLite files in DIR, PostgreSQL databases named after the size) and
later runs reuse them, applying only the migrations they lack.

    .venv/bin/python bench/search.py [--statuses 1000000] [--rounds 5] [--backend both]
                                     [--keep /tmp/wb-search]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import bench_database, postgres, ratio, seeded_row
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store import search as search_rows
from wildebeest_trio.store.migrate import Migration, _apply_one, migrate, pending
from wildebeest_trio.store.search import StatusCriteria

ACCOUNTS = 10_000
VOCABULARY = 30_000
FOLLOWED = 50
VISIBILITIES = ["public"] * 80 + ["unlisted"] * 10 + ["private"] * 7 + ["direct"] * 3
START_MS = 1_700_000_000_000
LANGUAGES = ["en"] * 6 + ["de", "fr", "es", "ja"]
SEED = 7


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    words: set[str] = set()
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    weights = list(itertools.accumulate(1 / (rank**1.07) for rank in range(1, VOCABULARY + 1)))
    return ordered, weights


def _status_id(i: int) -> int:
    return (START_MS + i * 10) << 16


def _statuses(n: int) -> tuple[list[tuple[Any, ...]], list[str], list[float]]:
    """Rows `(id, uri, account_id, local, text, content, visibility, language, created_at)`."""
    rng = random.Random(SEED)
    vocab, cum = _vocabulary(rng)
    rows = []
    total = cum[-1]
    for i in range(n):
        count = rng.randint(8, 24)
        words = [vocab[bisect.bisect(cum, rng.random() * total)] for _ in range(count)]
        text = " ".join(words)
        account = 1 + rng.randrange(ACCOUNTS)
        created = START_MS + i * 10
        status_id = _status_id(i)
        rows.append(
            (
                status_id,
                f"https://bench.example/statuses/{status_id}",
                account,
                account <= ACCOUNTS * 9 // 10,
                text,
                f"<p>{text}</p>",
                rng.choice(VISIBILITIES),
                rng.choice(LANGUAGES),
                created,
            )
        )
    return rows, vocab, cum


def _accounts() -> list[tuple[Any, ...]]:
    rows = []
    for i in range(1, ACCOUNTS + 2):  # the last one is the viewer
        local = i <= ACCOUNTS * 9 // 10 or i == ACCOUNTS + 1
        domain = None if local else "remote.example"
        rows.append(
            (
                i,
                f"user{i}",
                domain,
                f"https://{domain or 'bench.example'}/users/user{i}",
                (not local) and i % 2 == 0,  # indexable
                START_MS,
                START_MS,
            )
        )
    return rows


def _queries(vocab: list[str], rng: random.Random, count: int) -> list[StatusCriteria]:
    """A mix of what people type: a common, middling or rare word, two words, a phrase."""
    queries = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            queries.append(StatusCriteria(words=[vocab[rng.randrange(0, 50)]]))
        elif kind == 1:
            queries.append(StatusCriteria(words=[vocab[rng.randrange(50, 2_000)]]))
        elif kind == 2:
            queries.append(StatusCriteria(words=[vocab[rng.randrange(2_000, VOCABULARY)]]))
        elif kind == 3:
            queries.append(
                StatusCriteria(words=[vocab[rng.randrange(0, 500)], vocab[rng.randrange(0, 2_000)]])
            )
        else:
            a, b = vocab[rng.randrange(0, 100)], vocab[rng.randrange(0, 100)]
            queries.append(StatusCriteria(phrases=[f"{a} {b}"]))
    return queries


ACCOUNT_SQL = (
    "INSERT INTO accounts (id, username, domain, uri, indexable, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
STATUS_COLUMNS = (
    "id, uri, account_id, local, text, content, visibility, language, created_at, updated_at"
)


SEED_MIGRATION = 13  # the schema the rows are copied into; later migrations index them


def seed_sqlite(path: str, statuses: list[tuple[Any, ...]]) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("BEGIN")
    raw.executemany(ACCOUNT_SQL.replace("$", "?"), _accounts())
    raw.executemany(
        "INSERT INTO follows (id, account_id, target_account_id, created_at) VALUES (?, ?, ?, ?)",
        [(i, ACCOUNTS + 1, i * 7, START_MS) for i in range(1, FOLLOWED + 1)],
    )
    raw.executemany(
        f"INSERT INTO statuses ({STATUS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((*row, row[-1]) for row in statuses),
    )
    raw.execute(SEEDED_TABLE)
    raw.execute("INSERT INTO bench_search_seed (statuses) VALUES (?)", (len(statuses),))
    raw.execute("COMMIT")
    raw.close()


async def seed_postgres(url: str, statuses: list[tuple[Any, ...]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(ACCOUNT_SQL, _accounts())
        await conn.executemany(
            "INSERT INTO follows (id, account_id, target_account_id, created_at) "
            "VALUES ($1, $2, $3, $4)",
            [(i, ACCOUNTS + 1, i * 7, START_MS) for i in range(1, FOLLOWED + 1)],
        )
        # The rows are known to be valid: skip the per-row foreign-key triggers while
        # copying (a superuser setting; the throwaway cluster's user is one).
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "statuses",
            records=[(*row, row[-1]) for row in statuses],
            columns=[c.strip() for c in STATUS_COLUMNS.split(",")],
        )
        await conn.execute("SET session_replication_role = origin")
        await conn.execute(SEEDED_TABLE)
        await conn.execute("INSERT INTO bench_search_seed (statuses) VALUES ($1)", len(statuses))
    finally:
        await conn.close()


SEEDED_TABLE = "CREATE TABLE bench_search_seed (statuses BIGINT NOT NULL)"


def _seeded(url: str) -> int | None:
    """How many statuses a kept database was seeded with (None: not a finished seed)."""
    row = seeded_row(url, "bench_search_seed")
    return None if row is None else row[0]


def prepare(
    url: str,
    count: int,
    reset: Callable[[], None],
    seed: Callable[[list[tuple[Any, ...]]], None],
) -> None:
    """A database holding `count` seeded statuses, indexed by the current migrations.

    A kept database seeded with as many is reused: only the migrations it lacks run.
    Otherwise it is emptied (`reset`), the schema goes up to SEED_MIGRATION, the rows are
    copied in, and the later migrations (the search index and whatever reshapes it) run
    over them, as they would on an existing server's database.
    """
    if _seeded(url) != count:
        reset()
        _migrate(url, until=SEED_MIGRATION)
        t = time.perf_counter()
        seed(_statuses(count)[0])
        print(f"  seeded {count:,} statuses in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    applied = _migrate(url)
    if applied:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        print(f"  migrations {names} in {time.perf_counter() - t:.0f} s", flush=True)


def measure(
    url: str, vocab: list[str], ids: list[int], rounds: int, per_round: int
) -> dict[str, Any]:
    viewer = ACCOUNTS + 1

    async def main() -> dict[str, Any]:
        store = await open_store(url, pg_pool_size=4)
        rng = random.Random(11)
        queries = _queries(vocab, rng, rounds * per_round)
        pk_times: list[float] = []
        search_times: list[float] = []
        found: list[int] = []

        async def pk(conn: Connection, status_id: int) -> Any:
            return await conn.fetchrow("SELECT * FROM statuses WHERE id = $1", status_id)

        async def run_search(conn: Connection, criteria: StatusCriteria) -> int:
            rows = await search_rows.search_statuses(conn, criteria, viewer, START_MS, 20, 0)
            return len(rows)

        try:
            for q in queries[:20]:  # warm the caches on both sides
                await store.read(run_search, q)
                await store.read(pk, rng.choice(ids))
            for r in range(rounds):
                for _ in range(per_round * 2):
                    start = time.perf_counter()
                    await store.read(pk, rng.choice(ids))
                    pk_times.append(time.perf_counter() - start)
                for q in queries[r * per_round : (r + 1) * per_round]:
                    start = time.perf_counter()
                    found.append(await store.read(run_search, q))
                    search_times.append(time.perf_counter() - start)
        finally:
            await store.aclose()
        search_times.sort()
        return {
            "pk_per_s": len(pk_times) / sum(pk_times),
            "search_per_s": len(search_times) / sum(search_times),
            "search_p50_ms": statistics.median(search_times) * 1000,
            "search_p99_ms": search_times[int(len(search_times) * 0.99) - 1] * 1000,
            "search_max_ms": search_times[-1] * 1000,
            "pk_p99_ms": sorted(pk_times)[int(len(pk_times) * 0.99) - 1] * 1000,
            "mean_results": statistics.mean(found),
        }

    return trio.run(main)


def _migrate(url: str, until: int | None = None) -> list[Migration]:
    """Apply the pending migrations (those up to `until` only, if given). Then, on
    PostgreSQL, ANALYZE, as autovacuum would; never on SQLite, whose servers never gather
    statistics (with them its planner scans the remote accounts for the viewer's domain
    blocks on every search, a plan no server runs)."""

    async def main() -> list[Migration]:
        store = await open_store(url, pg_pool_size=2)
        try:
            if until is None:
                done = await migrate(store)
            else:
                done = [m for m in await pending(store) if m.version <= until]
                for m in done:
                    await store.write(_apply_one, m)
            if done and store.dialect == "postgres":
                await store.write(lambda conn: conn.execute("ANALYZE"))
            return done
        finally:
            await store.aclose()

    return trio.run(main)


def report(backend: str, result: dict[str, Any]) -> None:
    print(
        f"{backend}: pk {result['pk_per_s']:,.0f}/s "
        f"(p99 {result['pk_p99_ms']:.2f} ms); search {result['search_per_s']:,.0f}/s "
        f"p50 {result['search_p50_ms']:.2f} ms p99 {result['search_p99_ms']:.1f} ms "
        f"max {result['search_max_ms']:.1f} ms; {result['mean_results']:.1f} results a query",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statuses", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the seeded databases and reuse them on the next run: SQLite files in DIR, "
        "PostgreSQL databases wb_bench_search_N on the server (dropped without this option)",
    )
    args = parser.parse_args()
    count = args.statuses
    vocab = _vocabulary(random.Random(SEED))[0]
    ids = [_status_id(i) for i in range(count)]
    ratios: dict[str, float] = {}

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="wb-bench-search.") as folder:
            path = f"{args.keep or folder}/search-{count}.db"
            url = f"sqlite:///{path}"
            prepare(
                url,
                count,
                lambda: Path(path).unlink(missing_ok=True),
                lambda rows: seed_sqlite(path, rows),
            )
            result = measure(url, vocab, ids, args.rounds, args.per_round)
            report("sqlite", result)
            ratios["sqlite"] = result["search_per_s"] / result["pk_per_s"]

    if args.backend in ("postgres", "both"):
        with postgres() as base:
            name = (
                f"wb_bench_search_{count}"
                if args.keep
                else f"wb_bench_search_{uuid.uuid4().hex[:8]}"
            )

            with bench_database(base, name, keep=bool(args.keep)) as (url, reset):
                prepare(url, count, reset, lambda rows: asyncio.run(seed_postgres(url, rows)))
                result = measure(url, vocab, ids, args.rounds, args.per_round)
                report("postgres", result)
                ratios["postgres"] = result["search_per_s"] / result["pk_per_s"]

    for backend, value in ratios.items():
        ratio(f"search_vs_pk_{backend}", value)


if __name__ == "__main__":
    main()
