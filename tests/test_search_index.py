"""The status search index follows every write to `statuses` (triggers), on both backends:
inserts by any writer, edits, soft deletes, hard deletes (also by cascade), boosts."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
import trio

from tests.conftest import _pg_admin, _with_database
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store import search as search_rows
from wildebeest_trio.store.migrate import _apply_one, discover, migrate
from wildebeest_trio.store.search import StatusCriteria, search_text


def test_search_text_drops_markup_and_decodes_entities() -> None:
    html = (
        '<p>Hello <span class="h-card"><a href="https://x.example/@a" class="u-url mention">'
        "@<span>a</span></a></span> &amp; friends</p><p>line&#39;s two</p>"
    )
    assert search_text("cw", html) == "cw Hello @ a & friends line's two"
    assert search_text(None, None) == ""


async def _insert(rt: Runtime, conn: Connection, account_id: int, text: str, **extra: Any) -> int:
    status_id = rt.ids.next_id()
    now = now_ms()
    row = {
        "id": status_id,
        "uri": f"https://remote.example/notes/{status_id}",
        "account_id": account_id,
        "local": True,
        "content": f"<p>{text}</p>",
        "visibility": "public",
        "created_at": now,
        "updated_at": now,
        **extra,
    }
    names = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO statuses ({names}) VALUES ({marks})", *row.values())
    return int(row["id"])


async def _found(rt: Runtime, viewer: int, *words: str) -> list[int]:
    async def unit(conn: Connection) -> list[int]:
        rows = await search_rows.search_statuses(
            conn, StatusCriteria(words=list(words)), viewer, now_ms(), 40, 0
        )
        return [r["id"] for r in rows]

    return await rt.store.read(unit)


async def test_index_follows_inserts_edits_and_deletes(rt: Runtime) -> None:
    author = (await create_local_account(rt, "author", "author@example.org")).account_id
    other = (await create_local_account(rt, "other", "other@example.org")).account_id

    async def seed(conn: Connection) -> tuple[int, int, int]:
        a = await _insert(rt, conn, author, "kudu antelope")
        b = await _insert(rt, conn, author, "kudu eland")
        boost = await _insert(rt, conn, author, "kudu boosted", reblog_of_id=a)
        return a, b, boost

    a, b, boost = await rt.store.write(seed)
    assert await _found(rt, other, "kudu") == [b, a]  # the boost is not indexed

    async def edit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE statuses SET content = '<p>oryx eland</p>', spoiler_text = 'cw' WHERE id = $1",
            a,
        )
        await conn.execute("UPDATE statuses SET replies_count = 3 WHERE id = $1", b)

    await rt.store.write(edit)
    assert await _found(rt, other, "kudu") == [b]
    assert await _found(rt, other, "oryx") == [a]
    assert await _found(rt, other, "eland") == [b, a]
    assert await _found(rt, other, "cw") == [a]

    async def soft_delete(conn: Connection) -> None:
        await conn.execute("UPDATE statuses SET deleted_at = $1 WHERE id = $2", now_ms(), b)

    await rt.store.write(soft_delete)
    assert await _found(rt, other, "eland") == [a]

    async def hard_delete(conn: Connection) -> None:
        await conn.execute("DELETE FROM statuses WHERE id = $1", boost)
        await conn.execute("DELETE FROM statuses WHERE id = $1", b)  # already soft-deleted
        await conn.execute("DELETE FROM accounts WHERE id = $1", author)  # cascades

    await rt.store.write(hard_delete)
    assert await _found(rt, other, "eland") == []
    assert await _found(rt, other, "oryx") == []

    async def indexed(conn: Connection) -> int:
        if conn.dialect == "postgres":
            return int(await conn.fetchval("SELECT COUNT(*) FROM status_search"))
        await conn.execute("INSERT INTO status_search (status_search) VALUES ('integrity-check')")
        found = await conn.fetchval(
            "SELECT COUNT(*) FROM status_search WHERE status_search MATCH 'oryx OR eland OR kudu'"
        )
        return int(found)

    assert await rt.store.write(indexed) == 0


class _Counting:
    """A connection that counts the statements a unit runs."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self.dialect, self.effects = conn, conn.dialect, conn.effects
        self.statements = 0

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        self.statements += 1
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        self.statements += 1
        return await self.conn.fetchrow(sql, *args)


async def test_newest_first_in_slices_finds_what_one_statement_finds(
    rt: Runtime, monkeypatch: Any
) -> None:
    """On PostgreSQL a text search looks for the newest matches in slices of the index
    (a walk over the newest entries, then slices of time further back); on a seeded set
    it finds what one statement does, page by page: matches older than the first slices,
    pages across slices, id bounds, phrases, excluded words, statuses the viewer may not
    find among the matches. A query that matches nothing ends after a few statements."""
    monkeypatch.setattr(search_rows, "WALK", 4)  # so that 150 statuses take many slices
    author = (await create_local_account(rt, "author", "author@example.org")).account_id
    blocker = (await create_local_account(rt, "blocker", "blocker@example.org")).account_id
    viewer = (await create_local_account(rt, "viewer", "viewer@example.org")).account_id
    now = now_ms()

    async def seed(conn: Connection) -> list[int]:
        ids = []
        for i in range(150):
            # Ids from now back to about 6 years ago, ever further apart, so that the
            # slices take buckets of many sizes.
            at = now - int(1.136**i * 1000) - i
            words = ["kudu" if i % 3 == 0 else "eland", "oryx" if i >= 140 else "impala"]
            if i % 5 == 0:
                words.reverse()
            if i % 4 == 0:
                words.append("gnu")
            extra: dict[str, Any] = {"id": rt.ids.next_id(at_ms=at), "created_at": at}
            if i % 7 == 0:
                extra["visibility"] = "private"  # the viewer does not follow the author
            who = blocker if i % 11 == 0 else author
            ids.append(await _insert(rt, conn, who, " ".join(words), **extra))
        await conn.execute(
            "INSERT INTO blocks (id, account_id, target_account_id, created_at) "
            "VALUES ($1, $2, $3, $4)",
            rt.ids.next_id(),
            blocker,
            viewer,
            now,
        )
        if conn.dialect == "postgres":
            await conn.execute("ANALYZE status_search")
        return ids

    ids = await rt.store.write(seed)
    newest, oldest = ids[0], ids[-1]
    criteria = [
        StatusCriteria(words=["kudu"]),
        StatusCriteria(words=["impala"]),
        StatusCriteria(words=["oryx"]),  # only the oldest statuses
        StatusCriteria(words=["kudu", "gnu"]),
        StatusCriteria(phrases=["kudu impala"]),
        StatusCriteria(phrases=["impala kudu"]),
        StatusCriteria(phrases=["gnu"]),  # a phrase of one word
        StatusCriteria(words=["eland"], excluded=["gnu"]),
        StatusCriteria(words=["impala"], max_id=ids[40]),
        StatusCriteria(words=["eland"], min_id=ids[100], max_id=ids[5]),
        StatusCriteria(words=["kudu"], min_id=oldest - 1, max_id=newest + 1),
        StatusCriteria(words=["zebra"]),
    ]
    pages = [(20, 0), (3, 0), (3, 3), (7, 11), (40, 0), (40, 40), (40, 80), (5, 140)]

    async def both(conn: Connection, c: StatusCriteria, limit: int, offset: int) -> Any:
        found = await search_rows.search_statuses(conn, c, viewer, now, limit, offset)
        one = await search_rows.in_one_statement(conn, c, viewer, now, limit, offset)
        return [r["id"] for r in found], [r["id"] for r in one]

    for c in criteria:
        for limit, offset in pages:
            found, one = await rt.store.read(both, c, limit, offset)
            assert found == one, (c, limit, offset)
    # The seeded set is what the checks above rest on.
    all_kudu, _ = await rt.store.read(both, StatusCriteria(words=["kudu"]), 40, 0)
    kudu = [ids[i] for i in range(150) if i % 3 == 0 and i % 7 and i % 11]
    assert all_kudu == kudu and len(kudu) == 38
    oryx, _ = await rt.store.read(both, StatusCriteria(words=["oryx"]), 40, 0)
    assert oryx == [ids[i] for i in range(140, 150) if i % 7 and i % 11]

    async def statements(conn: Connection, c: StatusCriteria) -> int:
        counting = _Counting(conn)
        assert await search_rows.search_statuses(counting, c, viewer, now, 20, 0) == []
        return counting.statements

    # Nothing matches: the walk, then slices at least twice as wide as everything searched
    # before them (64 times here), back to the oldest status: about 6 years in 150
    # statuses, from a walk of 4 covering seconds: a handful of statements.
    assert await rt.store.read(statements, StatusCriteria(words=["zebra"])) <= 8


def test_slices_grow_to_cover_any_ids_in_a_bounded_number_of_steps() -> None:
    """However far apart the ids, slices each at least as wide as everything searched
    before them (what `_NewestFirst` asks for) reach the floor in at most 64 steps."""
    hi, floor, searched = 2**63 - 1, -(2**63), 1
    steps = 0
    while hi > floor + 1:
        low, buckets = search_rows.recency_slice(hi, searched, floor)
        assert floor < low < hi
        assert buckets is None or len(buckets) <= search_rows.MAX_BUCKETS
        searched += hi - low
        hi = low
        steps += 1
    assert steps <= 64


async def test_postgres_recency_buckets_are_the_index_s(rt: Runtime) -> None:
    """The buckets the slices ask for are those `wb_search_buckets` indexes, and a phrase
    of one word asks for the pairs mark every document has (PostgreSQL only)."""
    if rt.store.dialect != "postgres":
        return
    samples = [0, 1, -1, 2**63 - 1, -(2**63), rt.ids.next_id(), rt.ids.next_id(at_ms=1)]

    async def check(conn: Connection) -> None:
        for status_id in samples:
            indexed = await conn.fetchval("SELECT wb_search_buckets($1::bigint)", status_id)
            assert indexed == search_rows.recency_buckets(status_id), status_id
        assert await conn.fetchval("SELECT wb_search_phrase_pairs('gnu')") == [-1]
        pairs = await conn.fetchval("SELECT wb_search_phrase_pairs('kudu   eland!')")
        assert len(pairs) == 1 and pairs[0] >= 0
        document = await conn.fetchval(
            "SELECT wb_search_pairs(to_tsvector('simple', 'the kudu, eland and gnu'))"
        )
        assert -1 in document and pairs[0] in document

    await rt.store.read(check)


async def test_postgres_recency_index_is_built_on_an_existing_database() -> None:
    """Migration 0018 on a database that already holds statuses: every row stays, and
    the slices find them (PostgreSQL only: SQLite's index needs no change)."""
    base = os.environ.get("WB_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests need WB_TEST_DATABASE_URL")
    name = f"wbt_{uuid.uuid4().hex[:12]}"
    await trio.to_thread.run_sync(asyncio.run, _pg_admin(base, f"CREATE DATABASE {name}"))
    try:
        store = await open_store(_with_database(base, name), pg_pool_size=2)
        try:
            for migration in discover("postgres"):
                if migration.version < 18:
                    await store.write(_apply_one, migration)

            async def seed(conn: Connection) -> list[int]:
                await conn.execute(
                    "INSERT INTO accounts (id, username, uri, created_at, updated_at) "
                    "VALUES (1, 'old', 'https://example.org/users/old', 0, 0)"
                )
                ids = []
                for i in range(30):
                    status_id = (1_600_000_000_000 + i * 3_600_000) << 16
                    await conn.execute(
                        "INSERT INTO statuses (id, uri, account_id, local, content, "
                        "visibility, created_at, updated_at) "
                        "VALUES ($1, $2, 1, true, $3, 'public', 0, 0)",
                        status_id,
                        f"https://example.org/statuses/{i}",
                        f"<p>{'kudu' if i % 2 else 'eland'} number {i}</p>",
                    )
                    ids.append(status_id)
                return ids

            ids = await store.write(seed)

            async def counts(conn: Connection) -> tuple[int, int]:
                statuses = await conn.fetchval("SELECT count(*) FROM statuses")
                indexed = await conn.fetchval("SELECT count(*) FROM status_search")
                return statuses, indexed

            before = await store.read(counts)
            assert [m.version for m in await migrate(store, up_to=18)] == [18]
            assert await store.read(counts) == before == (30, 30)

            async def found(conn: Connection) -> list[int]:
                rows = await search_rows.search_statuses(
                    conn, StatusCriteria(phrases=["kudu number"]), 1, now_ms(), 40, 0
                )
                return [r["id"] for r in rows]

            assert await store.read(found) == [ids[i] for i in reversed(range(30)) if i % 2]
        finally:
            await store.aclose()
    finally:
        await trio.to_thread.run_sync(
            asyncio.run, _pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        )
