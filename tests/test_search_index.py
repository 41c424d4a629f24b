"""The status search index follows every write to `statuses` (triggers), on both backends:
inserts by any writer, edits, soft deletes, hard deletes (also by cascade), boosts."""

from __future__ import annotations

from typing import Any

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import search as search_rows
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
    return status_id


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


async def test_postgres_searches_newest_slices_first_without_changing_results(
    rt: Runtime, monkeypatch: Any
) -> None:
    """Slices of the index (tiny here) give the same pages as one search would."""
    monkeypatch.setattr(search_rows, "WINDOWS", (3, 6))
    author = (await create_local_account(rt, "author", "author@example.org")).account_id
    viewer = (await create_local_account(rt, "viewer", "viewer@example.org")).account_id

    async def seed(conn: Connection) -> list[int]:
        ids = []
        for i in range(14):
            # Every third one is private: the viewer does not follow the author.
            visibility = "private" if i % 3 == 0 else "public"
            word = "kudu" if i % 2 == 0 else "eland"
            ids.append(await _insert(rt, conn, author, f"{word} {i}", visibility=visibility))
        if conn.dialect == "postgres":
            await conn.execute("ANALYZE status_search")
        return ids

    ids = await rt.store.write(seed)
    expected = [ids[i] for i in reversed(range(14)) if i % 2 == 0 and i % 3 != 0]
    assert len(expected) == 4

    async def page(limit: int, offset: int) -> list[int]:
        async def unit(conn: Connection) -> list[int]:
            rows = await search_rows.search_statuses(
                conn, StatusCriteria(words=["kudu"]), viewer, now_ms(), limit, offset
            )
            return [r["id"] for r in rows]

        return await rt.store.read(unit)

    if rt.store.dialect == "postgres":
        windows = await rt.store.read(search_rows._pg_windows)
        assert len(windows) == 3 and windows[-1] is None
    assert await page(20, 0) == expected
    assert await page(1, 0) == expected[:1]
    assert await page(2, 1) == expected[1:3]
    assert await page(3, 3) == expected[3:]
    assert await page(5, 10) == []
