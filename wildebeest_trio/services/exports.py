"""The CSV exports Mastodon offers, in its file names and column order, streamed a page of
rows at a time (no export is built whole in memory):

- `following_accounts.csv`: `Account address,Show boosts,Notify on new posts,Languages`;
- `lists.csv`: list title, account address (no header);
- `blocked_accounts.csv`: one account address a line (no header);
- `muted_accounts.csv`: `Account address,Hide notifications`;
- `blocked_domains.csv`: one domain a line (no header);
- `bookmarks.csv`: one status URI a line (no header).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import exports as export_rows

KINDS = ("follows", "lists", "blocks", "mutes", "domain_blocks", "bookmarks")
FILENAMES = {
    "follows": "following_accounts.csv",
    "lists": "lists.csv",
    "blocks": "blocked_accounts.csv",
    "mutes": "muted_accounts.csv",
    "domain_blocks": "blocked_domains.csv",
    "bookmarks": "bookmarks.csv",
}
HEADERS = {
    "follows": ["Account address", "Show boosts", "Notify on new posts", "Languages"],
    "mutes": ["Account address", "Hide notifications"],
}
#: Rows read from the store per crossing while streaming.
PAGE = 500

Reader = Callable[[Connection, int, int], Coroutine[Any, Any, Sequence[Any]]]


def acct(rt: Runtime, username: str, domain: str | None) -> str:
    """An account's address as exports write it: `user@domain`, this server's too."""
    return f"{username}@{domain or rt.config.domain}"


def _bool(value: object) -> str:
    return "true" if value else "false"


def _reader(kind: str, account_id: int) -> Reader:
    """Reads one page of the export: (conn, after, limit) -> rows with an `id`."""

    async def read(conn: Connection, after: int, limit: int) -> Sequence[Any]:
        if kind == "follows":
            return await export_rows.follows(conn, account_id, after, limit)
        if kind == "lists":
            return await export_rows.list_members(conn, account_id, after, limit)
        if kind == "blocks":
            return await export_rows.blocks(conn, account_id, after, limit)
        if kind == "mutes":
            return await export_rows.mutes(conn, account_id, now_ms(), after, limit)
        if kind == "domain_blocks":
            return await export_rows.domain_blocks(conn, account_id, after, limit)
        return await export_rows.bookmarks(conn, account_id, after, limit)

    return read


def _cells(rt: Runtime, kind: str, row: Any) -> list[str]:
    if kind == "follows":
        languages = json.loads(row["languages"]) if row["languages"] else []
        return [
            acct(rt, row["username"], row["domain"]),
            _bool(row["show_reblogs"]),
            _bool(row["notify"]),
            ", ".join(languages),
        ]
    if kind == "lists":
        return [row["title"], acct(rt, row["username"], row["domain"])]
    if kind == "blocks":
        return [acct(rt, row["username"], row["domain"])]
    if kind == "mutes":
        return [acct(rt, row["username"], row["domain"]), _bool(row["hide_notifications"])]
    if kind == "domain_blocks":
        return [row["domain"]]
    return [row["uri"]]


async def pages(rt: Runtime, read: Reader) -> AsyncIterator[Sequence[Any]]:
    """Every row of a reader paged by id, (conn, after, limit) -> rows, a page at a time."""
    after = 0
    while True:
        rows: Sequence[Any] = await rt.store.read(read, after, PAGE)
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["id"]


async def export_csv(rt: Runtime, account_id: int, kind: str) -> AsyncIterator[str]:
    """One of the CSV files for the account, a page of lines at a time."""
    if kind not in KINDS:
        raise ValueError(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if kind in HEADERS:
        writer.writerow(HEADERS[kind])
        yield out.getvalue()
    async for rows in pages(rt, _reader(kind, account_id)):
        out.seek(0)
        out.truncate()
        for row in rows:
            writer.writerow(_cells(rt, kind, row))
        yield out.getvalue()


async def export_text(rt: Runtime, account_id: int, kind: str) -> str:
    """A whole export as one string (the archive and the tests read small ones)."""
    return "".join([chunk async for chunk in export_csv(rt, account_id, kind)])
