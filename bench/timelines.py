"""Home and local public timelines under load, on SQLite and PostgreSQL, against hello.

Seeds 100,000 statuses from 1,000 local accounts (bulk inserts), one of which follows
300 others; then, on the live server (`wildebeest-trio serve`, one process), loads
`GET /api/v1/timelines/home?limit=40` and `GET /api/v1/timelines/public?local=true&limit=40`
with that account's token, beside the bare QuartTrio hello route served the same way,
with wrk and 20 connections, in alternating rounds so machine noise hits all alike.

    .venv/bin/python bench/timelines.py [--seconds 8] [--rounds 2] [--backend both]

The token goes in the `access_token` query parameter (wrk sends no headers); rate limits
are exempted for loopback as in the tests. Ends with `ratio home_vs_hello_sqlite` and
`ratio home_vs_hello_postgres` (requests/s of home over hello's; above 0.3 is the target).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    WrkResult,
    bench_database,
    hello_server,
    named_cpu_seconds,
    postgres,
    ratio,
    seed_config,
    tree_cpu_seconds,
    wildebeest_server,
    wrk,
)
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.tokens import issue_cli_token
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import statuses as status_rows

ACCOUNTS = 1_000
STATUSES = 100_000
FOLLOWED = 300
BATCH = 5_000
CHEAP_HASHING = {
    "WB_ARGON2_TIME_COST": "1",
    "WB_ARGON2_MEMORY_KIB": "64",
    "WB_ARGON2_PARALLELISM": "1",
    "WB_RATE_LIMIT_EXEMPT_LOOPBACK": "true",
}

WORDS = (
    "the quick brown fox jumps over a lazy dog while trio serves timelines from sqlite "
    "and postgres with asyncpg and hypercorn to mastodon clients everywhere today"
).split()


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))


async def seed(
    rt: Runtime, accounts: int = ACCOUNTS, statuses_count: int = STATUSES, follows: int = FOLLOWED
) -> str:
    """Accounts, follows and statuses in bulk; the viewer's token."""
    viewer = await create_local_account(rt, "viewer", "viewer@example.org", password="x" * 12)
    base = rt.config.base_url
    now = int(time.time() * 1000)
    rng = random.Random(7)
    account_ids = [viewer.account_id]
    account_batch = []
    for i in range(1, accounts):
        account_id = rt.ids.next_id(now - 400 * 86_400_000 + i)
        account_ids.append(account_id)
        name = f"user{i}"
        account_batch.append(
            {
                "id": account_id,
                "username": name,
                "domain": None,
                "uri": f"{base}/users/{name}",
                "url": f"{base}/@{name}",
                "actor_type": "Person",
                "display_name": f"User {i}",
                "note": "<p>hello</p>",
                "locked": False,
                "bot": False,
                "discoverable": True,
                "inbox_url": f"{base}/users/{name}/inbox",
                "shared_inbox_url": f"{base}/inbox",
                "outbox_url": f"{base}/users/{name}/outbox",
                "followers_url": f"{base}/users/{name}/followers",
                "following_url": f"{base}/users/{name}/following",
                "featured_url": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    account_sql_columns = account_rows._ACCOUNT_COLUMNS.split(", ")
    status_columns = status_rows._STATUS_COLUMNS
    followed = rng.sample(account_ids[1:], follows)

    statuses = []
    # One status a minute back from now: ids ordered as their times, as the server makes them.
    for n in range(statuses_count):
        at = now - (statuses_count - n) * 60_000
        author = account_ids[rng.randrange(accounts)]
        status_id = rt.ids.next_id(at)
        visibility = "public" if rng.random() < 0.85 else rng.choice(("unlisted", "private"))
        text = _text(rng)
        statuses.append(
            {
                "id": status_id,
                "uri": f"{base}/users/x/statuses/{status_id}",
                "url": f"{base}/@x/{status_id}",
                "account_id": author,
                "local": True,
                "in_reply_to_id": None,
                "in_reply_to_account_id": None,
                "reblog_of_id": None,
                "text": text,
                "content": f"<p>{text}</p>",
                "spoiler_text": "",
                "sensitive": False,
                "visibility": visibility,
                "language": "en",
                "application_id": None,
                "conversation_id": status_id,
                "created_at": at,
                "updated_at": at,
            }
        )

    async def insert_accounts(conn: Connection) -> None:
        await conn.executemany(
            f"INSERT INTO accounts ({', '.join(account_sql_columns)}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(account_sql_columns)))})",
            [tuple(a[c] for c in account_sql_columns) for a in account_batch],
        )
        await conn.executemany(
            "INSERT INTO follows (id, account_id, target_account_id, show_reblogs, notify, "
            "created_at) VALUES ($1, $2, $3, TRUE, FALSE, $4)",
            [(rt.ids.next_id(), viewer.account_id, t, now) for t in followed],
        )

    async def insert_statuses(conn: Connection, rows: list[dict[str, Any]]) -> None:
        await conn.executemany(
            f"INSERT INTO statuses ({', '.join(status_columns)}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(status_columns)))})",
            # Columns a row may leave out take their defaults, as `insert_status` gives them.
            [tuple({**status_rows._STATUS_DEFAULTS, **r}[c] for c in status_columns) for r in rows],
        )

    async def recount(conn: Connection) -> None:
        await conn.execute(
            "UPDATE accounts SET statuses_count = (SELECT COUNT(*) FROM statuses s "
            "WHERE s.account_id = accounts.id), last_status_at = (SELECT MAX(s.created_at) "
            "FROM statuses s WHERE s.account_id = accounts.id), "
            "following_count = (SELECT COUNT(*) FROM follows f WHERE f.account_id = accounts.id), "
            "followers_count = (SELECT COUNT(*) FROM follows f "
            "WHERE f.target_account_id = accounts.id)"
        )

    await rt.store.write(insert_accounts)
    for start in range(0, statuses_count, BATCH):
        await rt.store.write(insert_statuses, statuses[start : start + BATCH])
    await rt.store.write(recount)
    return (await issue_cli_token(rt, "viewer", "read write follow")).token


def seed_database(settings: dict[str, str], **sizes: int) -> str:
    """Seed the database of `settings` (WB_DATA_DIR, WB_DATABASE_URL); the viewer's token."""
    config = seed_config(settings)

    async def run() -> str:
        async with open_server_runtime(config) as rt:
            return await seed(rt, **sizes)

    return trio.run(run)


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL server of `url`, dropped at the end."""
    with bench_database(url, f"bench_timelines_{uuid.uuid4().hex[:8]}", keep=False) as (
        database,
        _,
    ):
        yield database


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:>16}: {r.requests_per_second:7.0f} req/s  p50 {r.p50_ms:7.2f} ms  "
        f"p99 {r.p99_ms:7.2f} ms"
    )


def run_backend(
    label: str, database_url: str | None, args: argparse.Namespace
) -> tuple[float, float]:
    """Seed, serve and load one backend; (home over hello, public over hello)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"WB_DATA_DIR": str(Path(tmp) / "data"), **CHEAP_HASHING}
        settings["WB_DATABASE_URL"] = database_url or f"sqlite:///{tmp}/data/bench.db"
        started = time.monotonic()
        token = seed_database(settings)
        print(f"[{label}] seeded {STATUSES:,} statuses in {time.monotonic() - started:.1f} s")
        results: dict[str, list[WrkResult]] = {"hello": [], "home": [], "public": []}
        with (
            wildebeest_server(Path(settings["WB_DATA_DIR"]), **settings) as (url, server),
            hello_server() as (hello_url, hello),
        ):
            targets = {
                "hello": f"{hello_url}/",
                "home": f"{url}/api/v1/timelines/home?limit=40&access_token={token}",
                "public": (
                    f"{url}/api/v1/timelines/public?local=true&limit=40&access_token={token}"
                ),
            }
            for target in targets.values():  # warm up caches and the JIT-less interpreter
                wrk(target, seconds=2, connections=args.connections)
            for _ in range(args.rounds):
                for name, target in targets.items():
                    pid = hello.pid if name == "hello" else server.pid
                    cpu = tree_cpu_seconds(pid), named_cpu_seconds("postgres")
                    result = wrk(target, seconds=args.seconds, connections=args.connections)
                    assert result.non_2xx == 0, f"{name}: {result.non_2xx} errors"
                    results[name].append(result)
                    # Where the time goes: the server's processes, and (PostgreSQL) the
                    # database server sharing the same cores.
                    answered = result.requests_per_second * args.seconds / 1000
                    ours = (tree_cpu_seconds(pid) - cpu[0]) / answered
                    database = (named_cpu_seconds("postgres") - cpu[1]) / answered
                    print(
                        f"[{label}] {_line(name, result)}  CPU per request: server "
                        f"{ours:.2f} ms, PostgreSQL {database:.2f} ms"
                    )
        medians = {
            name: WrkResult(
                statistics.median(r.requests_per_second for r in rs),
                statistics.median(r.p50_ms for r in rs),
                statistics.median(r.p99_ms for r in rs),
                0,
            )
            for name, rs in results.items()
        }
        for name, r in medians.items():
            print(f"[{label}] median {_line(name, r)}")
        hello = medians["hello"].requests_per_second
        return (
            medians["home"].requests_per_second / hello,
            medians["public"].requests_per_second / hello,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    if args.backend in ("both", "sqlite"):
        ratios["home_vs_hello_sqlite"], ratios["public_vs_hello_sqlite"] = run_backend(
            "sqlite", None, args
        )
    if args.backend in ("both", "postgres"):
        with postgres() as url:
            with fresh_database(url) as database:
                ratios["home_vs_hello_postgres"], ratios["public_vs_hello_postgres"] = run_backend(
                    "postgres", database, args
                )
    for name in sorted(ratios, key=lambda n: n.startswith("home")):
        ratio(name, ratios[name])


if __name__ == "__main__":
    main()
