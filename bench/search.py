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
`ratio search_vs_pk_<backend>` (search/s over lookups/s; target >= 0.2).

Seeding uses bulk inserts: executemany in one transaction on SQLite (the index triggers
run per row); COPY on PostgreSQL with the index trigger off, then the index filled by one
INSERT ... SELECT and the GIN index built (what the migration does for existing rows).

    .venv/bin/python bench/search.py [--statuses 1000000] [--rounds 5] [--backend both]
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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres, ratio
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store import search as search_rows
from wildebeest_trio.store.migrate import migrate
from wildebeest_trio.store.search import StatusCriteria, search_text

ACCOUNTS = 10_000
VOCABULARY = 30_000
FOLLOWED = 50
VISIBILITIES = ["public"] * 80 + ["unlisted"] * 10 + ["private"] * 7 + ["direct"] * 3
START_MS = 1_700_000_000_000
LANGUAGES = ["en"] * 6 + ["de", "fr", "es", "ja"]


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    words: set[str] = set()
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    weights = list(itertools.accumulate(1 / (rank**1.07) for rank in range(1, VOCABULARY + 1)))
    return ordered, weights


def _statuses(n: int, seed: int = 7) -> tuple[list[tuple[Any, ...]], list[str], list[float]]:
    """Rows `(id, uri, account_id, local, text, content, visibility, language, created_at)`."""
    rng = random.Random(seed)
    vocab, cum = _vocabulary(rng)
    rows = []
    total = cum[-1]
    for i in range(n):
        count = rng.randint(8, 24)
        words = [vocab[bisect.bisect(cum, rng.random() * total)] for _ in range(count)]
        text = " ".join(words)
        account = 1 + rng.randrange(ACCOUNTS)
        created = START_MS + i * 10
        status_id = created << 16
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


def seed_sqlite(path: str, statuses: list[tuple[Any, ...]]) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.create_function("wb_search_text", 2, search_text, deterministic=True)
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("PRAGMA cache_size = -262144")  # 256 MiB: the FTS5 merges re-read segments
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
    raw.execute("COMMIT")
    raw.execute("ANALYZE")
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
        await conn.execute("DROP INDEX status_search_document")
        # The rows are known to be valid: skip the per-row foreign-key and index triggers
        # while copying (a superuser setting; the throwaway cluster's user is one).
        await conn.execute("SET session_replication_role = replica")
        t = time.perf_counter()
        await conn.copy_records_to_table(
            "statuses",
            records=[(*row, row[-1]) for row in statuses],
            columns=[c.strip() for c in STATUS_COLUMNS.split(",")],
        )
        await conn.execute("SET session_replication_role = origin")
        print(f"  postgres: COPY {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        await conn.execute(
            "INSERT INTO status_search (status_id, document) "
            "SELECT id, wb_search_document(spoiler_text, content) FROM statuses"
        )
        print(f"  postgres: index rows {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute(
            "CREATE INDEX status_search_document ON status_search USING GIN (document)"
        )
        await conn.execute("VACUUM ANALYZE")
        print(f"  postgres: GIN index and analyze {time.perf_counter() - t:.0f} s", flush=True)
    finally:
        await conn.close()


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


def _migrate(url: str) -> None:
    async def main() -> None:
        store = await open_store(url, pg_pool_size=2)
        try:
            await migrate(store)
        finally:
            await store.aclose()

    trio.run(main)


def report(backend: str, result: dict[str, Any], seed_s: float) -> None:
    print(
        f"{backend}: seeded in {seed_s:.0f} s; pk {result['pk_per_s']:,.0f}/s "
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
    args = parser.parse_args()

    started = time.perf_counter()
    statuses, vocab, _ = _statuses(args.statuses)
    ids = [row[0] for row in statuses]
    print(f"generated {len(statuses):,} statuses in {time.perf_counter() - started:.0f} s")
    ratios: dict[str, float] = {}

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="wb-bench-search.") as folder:
            path = f"{folder}/search.db"
            url = f"sqlite:///{path}"
            _migrate(url)
            t = time.perf_counter()
            seed_sqlite(path, statuses)
            seeded = time.perf_counter() - t
            result = measure(url, vocab, ids, args.rounds, args.per_round)
            report("sqlite", result, seeded)
            ratios["sqlite"] = result["search_per_s"] / result["pk_per_s"]

    if args.backend in ("postgres", "both"):
        with postgres() as base:
            name = f"wb_bench_search_{uuid.uuid4().hex[:8]}"

            async def admin(sql: str) -> None:
                import asyncpg

                conn = await asyncpg.connect(base)
                try:
                    await conn.execute(sql)
                finally:
                    await conn.close()

            asyncio.run(admin(f"CREATE DATABASE {name}"))
            url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
            try:
                _migrate(url)
                t = time.perf_counter()
                asyncio.run(seed_postgres(url, statuses))
                seeded = time.perf_counter() - t
                result = measure(url, vocab, ids, args.rounds, args.per_round)
                report("postgres", result, seeded)
                ratios["postgres"] = result["search_per_s"] / result["pk_per_s"]
            finally:
                asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    for backend, value in ratios.items():
        ratio(f"search_vs_pk_{backend}", value)


if __name__ == "__main__":
    main()
