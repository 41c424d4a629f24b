"""What one request sees of follows while another commits an Accept between its reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import follows
from wildebeest_trio.store.sqlite import sqlite_path


def _accept(database_url: str, follower: int, target: int, follow_id: int) -> Callable[[], Any]:
    """Turn the request into a follow in one commit, on a connection of its own."""
    move = (
        "DELETE FROM follow_requests WHERE account_id = {f} AND target_account_id = {t}",
        "INSERT INTO follows (id, account_id, target_account_id, show_reblogs, notify, "
        "created_at) VALUES ({i}, {f}, {t}, TRUE, FALSE, {now})",
    )
    sql = [s.format(f=follower, t=target, i=follow_id, now=now_ms()) for s in move]
    if database_url.startswith("sqlite"):

        async def on_sqlite() -> None:
            # The unit runs on the store's thread: a second connection commits from there.
            other = sqlite3.connect(sqlite_path(database_url), isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                for statement in sql:
                    other.execute(statement.replace("TRUE", "1").replace("FALSE", "0"))
                other.execute("COMMIT")
            finally:
                other.close()

        return on_sqlite

    async def on_postgres() -> None:
        # The unit runs on the store's asyncio thread, where asyncpg may connect again.
        other = await asyncpg.connect(database_url)
        try:
            async with other.transaction():
                for statement in sql:
                    await other.execute(statement)
        finally:
            await other.close()

    return on_postgres


async def test_an_accept_between_the_reads_shows_as_a_follow(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read one statement at a time, the facts still show the request or the follow.

    An import read follows first and requests second; an Accept committing between the
    two hid both, and the list refused the member for good.
    """
    follower = (
        await create_local_account(rt, "amy", "amy@example.org", password="x" * 12)
    ).account_id
    target = (await create_local_account(rt, "bo", "bo@example.org", password="x" * 12)).account_id
    request = {
        "id": rt.ids.next_id(),
        "account_id": follower,
        "target_account_id": target,
        "show_reblogs": True,
        "notify": False,
        "created_at": now_ms(),
    }
    await rt.store.write(follows.insert_request, request)
    accept = _accept(rt.config.database_url, follower, target, rt.ids.next_id())
    real_fetch_as = follows.fetch_as
    reads = 0

    async def read_then_accept(conn: Any, row: Any, sql: str, *args: Any) -> Any:
        nonlocal reads
        found = await real_fetch_as(conn, row, sql, *args)
        reads += 1
        if reads == 1:
            await accept()
        return found

    monkeypatch.setattr(follows, "fetch_as", read_then_accept)
    facts = await rt.store.read(follows.relationship_facts, follower, [target])

    assert reads == 4
    assert target in facts["following"] or target in facts["requested"], facts
