"""Quote rows: which status quotes which, in what state, and the facts showing one needs."""

from __future__ import annotations

from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .paging import placeholders
from .rows import QuoteRow, StatusRow

_COLUMNS = (
    "id",
    "status_id",
    "account_id",
    "quoted_status_id",
    "quoted_account_id",
    "quoted_uri",
    "state",
    "legacy",
    "activity_uri",
    "approval_uri",
    "created_at",
    "updated_at",
)


async def insert(conn: Connection, row: dict[str, Any]) -> None:
    """Add a quote (`row` holds the columns above)."""
    await conn.execute(
        f"INSERT INTO quotes ({', '.join(_COLUMNS)}) VALUES ({placeholders(1, len(_COLUMNS))})",
        *(row[c] for c in _COLUMNS),
    )


async def by_id(conn: Connection, quote_id: int) -> QuoteRow | None:
    return await fetchrow_as(conn, QuoteRow, "SELECT * FROM quotes WHERE id = $1", quote_id)


async def of_status(conn: Connection, status_id: int) -> QuoteRow | None:
    """The quote a status makes, if it makes one."""
    return await fetchrow_as(conn, QuoteRow, "SELECT * FROM quotes WHERE status_id = $1", status_id)


async def of_statuses(conn: Connection, status_ids: list[int]) -> list[QuoteRow]:
    """The quotes these statuses make."""
    if not status_ids:
        return []
    return await fetch_as(
        conn,
        QuoteRow,
        f"SELECT * FROM quotes WHERE status_id IN ({placeholders(1, len(status_ids))})",
        *status_ids,
    )


async def by_activity_uri(conn: Connection, uri: str) -> QuoteRow | None:
    """The quote a QuoteRequest asked for, by the request's id."""
    return await fetchrow_as(conn, QuoteRow, "SELECT * FROM quotes WHERE activity_uri = $1", uri)


async def by_approval_uri(conn: Connection, uri: str) -> list[QuoteRow]:
    """The quotes a remote QuoteAuthorization stamp approves."""
    return await fetch_as(conn, QuoteRow, "SELECT * FROM quotes WHERE approval_uri = $1", uri)


async def waiting_for(conn: Connection, uri: str) -> list[QuoteRow]:
    """Quotes naming a post not known here until now, by its id."""
    return await fetch_as(
        conn,
        QuoteRow,
        "SELECT * FROM quotes WHERE quoted_status_id IS NULL AND quoted_uri = $1",
        uri,
    )


async def set_state(
    conn: Connection, quote_id: int, state: str, now: int, *, approval_uri: str | None = None
) -> None:
    """Change a quote's state (and, when given, the stamp approving it)."""
    await conn.execute(
        "UPDATE quotes SET state = $1, approval_uri = COALESCE($2, approval_uri), "
        "updated_at = $3 WHERE id = $4",
        state,
        approval_uri,
        now,
        quote_id,
    )


async def set_request(conn: Connection, quote_id: int, activity_uri: str, now: int) -> None:
    """Remember the QuoteRequest that asked for a quote."""
    await conn.execute(
        "UPDATE quotes SET activity_uri = $1, updated_at = $2 WHERE id = $3",
        activity_uri,
        now,
        quote_id,
    )


async def set_approval_uri(conn: Connection, quote_id: int, uri: str | None, now: int) -> None:
    """The stamp a quoting post now names (an edit of the post)."""
    await conn.execute(
        "UPDATE quotes SET approval_uri = $1, updated_at = $2 WHERE id = $3", uri, now, quote_id
    )


async def set_quoted(
    conn: Connection, quote_id: int, quoted_status_id: int, quoted_account_id: int, now: int
) -> None:
    """The quoted post, now known here."""
    await conn.execute(
        "UPDATE quotes SET quoted_status_id = $1, quoted_account_id = $2, updated_at = $3 "
        "WHERE id = $4",
        quoted_status_id,
        quoted_account_id,
        now,
        quote_id,
    )


async def accepted_local_quoters(conn: Connection, quoted_status_id: int) -> list[int]:
    """Local accounts whose live statuses quote a status with its author's approval."""
    rows = await conn.fetch(
        "SELECT DISTINCT q.account_id FROM quotes q JOIN accounts a ON a.id = q.account_id "
        "JOIN statuses s ON s.id = q.status_id WHERE q.quoted_status_id = $1 "
        "AND q.state = 'accepted' AND a.domain IS NULL AND s.deleted_at IS NULL",
        quoted_status_id,
    )
    return [r["account_id"] for r in rows]


# What showing quotes needs ----------------------------------------------------------------


async def statuses_by_ids(conn: Connection, status_ids: list[int]) -> list[StatusRow]:
    """Statuses by id, deleted ones included (a quote of a deleted post says so)."""
    if not status_ids:
        return []
    return await fetch_as(
        conn,
        StatusRow,
        f"SELECT * FROM statuses WHERE id IN ({placeholders(1, len(status_ids))})",
        *status_ids,
    )


async def viewer_filters(
    conn: Connection, viewer_id: int, account_ids: list[int], now: int
) -> dict[int, str]:
    """Why the viewer would rather not see these accounts' posts inside a quote, as the
    Quote entity's state names it: `blocked_domain`, `blocked_account` or `muted_account`
    (the first that applies, in Mastodon's order)."""
    if not account_ids:
        return {}
    ids = placeholders(3, len(account_ids))
    rows = await conn.fetch(
        f"SELECT a.id, 1 AS rank FROM account_domain_blocks d JOIN accounts a "
        f"ON a.domain = d.domain WHERE d.account_id = $1 AND a.id IN ({ids}) "
        f"UNION ALL SELECT target_account_id, 2 FROM blocks WHERE account_id = $1 "
        f"AND target_account_id IN ({ids}) "
        f"UNION ALL SELECT target_account_id, 3 FROM mutes WHERE account_id = $1 "
        f"AND target_account_id IN ({ids}) AND (expires_at IS NULL OR expires_at > $2)",
        viewer_id,
        now,
        *account_ids,
    )
    names = {1: "blocked_domain", 2: "blocked_account", 3: "muted_account"}
    found: dict[int, int] = {}
    for r in rows:
        found[r["id"]] = min(found.get(r["id"], 9), r["rank"])
    return {account_id: names[rank] for account_id, rank in found.items()}


async def relations(
    conn: Connection, viewer_id: int, account_ids: list[int]
) -> tuple[set[int], set[int]]:
    """Among `account_ids`: those the viewer follows, and those following the viewer."""
    if not account_ids:
        return set(), set()
    ids = placeholders(2, len(account_ids))
    rows = await conn.fetch(
        f"SELECT 'following' AS kind, target_account_id AS id FROM follows "
        f"WHERE account_id = $1 AND target_account_id IN ({ids}) "
        f"UNION ALL SELECT 'followed_by', account_id FROM follows "
        f"WHERE target_account_id = $1 AND account_id IN ({ids})",
        viewer_id,
        *account_ids,
    )
    following = {r["id"] for r in rows if r["kind"] == "following"}
    return following, {r["id"] for r in rows if r["kind"] == "followed_by"}


async def follows_between(conn: Connection, follower_id: int, target_id: int) -> bool:
    """Whether one account follows another."""
    found = await conn.fetchval(
        "SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2",
        follower_id,
        target_id,
    )
    return found is not None
