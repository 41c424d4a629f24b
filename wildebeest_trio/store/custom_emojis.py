"""Custom emoji: the local ones the admins add, and remote ones federation caches.

Local emoji have `domain` NULL; a remote status or account uses the emoji of its own
domain, so lookups are keyed by (domain, shortcode).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..formatting import emoji_shortcodes
from .base import Connection, Row


async def insert_local(conn: Connection, emoji: dict[str, Any]) -> Row:
    """Store a local emoji; the stored row."""
    await conn.execute(
        "INSERT INTO custom_emojis (id, shortcode, domain, image_key, static_image_key, "
        "content_type, category, visible_in_picker, disabled, created_at, updated_at) "
        "VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, FALSE, $8, $8)",
        emoji["id"],
        emoji["shortcode"],
        emoji["image_key"],
        emoji["static_image_key"],
        emoji["content_type"],
        emoji["category"],
        emoji["visible_in_picker"],
        emoji["now"],
    )
    row = await local_by_shortcode(conn, emoji["shortcode"])
    assert row is not None
    return row


async def local_by_shortcode(conn: Connection, shortcode: str) -> Row | None:
    """The local emoji with this shortcode (enabled or not)."""
    return await conn.fetchrow(
        "SELECT * FROM custom_emojis WHERE domain IS NULL AND shortcode = $1", shortcode
    )


async def delete_local(conn: Connection, shortcode: str) -> Row | None:
    """Remove a local emoji; the removed row."""
    row = await local_by_shortcode(conn, shortcode)
    if row is not None:
        await conn.execute("DELETE FROM custom_emojis WHERE id = $1", row["id"])
    return row


async def local_emojis(conn: Connection, *, enabled_only: bool) -> list[Row]:
    """Local emoji by category then shortcode."""
    where = "domain IS NULL" + (" AND NOT disabled" if enabled_only else "")
    return await conn.fetch(
        f"SELECT * FROM custom_emojis WHERE {where} ORDER BY COALESCE(category, ''), shortcode"
    )


async def enabled_for(
    conn: Connection, wanted: dict[str | None, set[str]]
) -> dict[tuple[str | None, str], Row]:
    """Enabled emoji by (domain, shortcode) for the shortcodes wanted per domain."""
    args: list[Any] = []
    clauses = []
    for domain, shortcodes in wanted.items():
        if not shortcodes:
            continue
        codes = sorted(shortcodes)[:200]
        marks = ", ".join(f"${len(args) + i + 1}" for i in range(len(codes)))
        args.extend(codes)
        if domain is None:
            clauses.append(f"(domain IS NULL AND shortcode IN ({marks}))")
        else:
            args.append(domain)
            clauses.append(f"(domain = ${len(args)} AND shortcode IN ({marks}))")
    if not clauses:
        return {}
    rows = await conn.fetch(
        f"SELECT * FROM custom_emojis WHERE NOT disabled AND ({' OR '.join(clauses)})", *args
    )
    return {(r["domain"], r["shortcode"]): r for r in rows}


def account_texts(account: Row) -> Iterable[str | None]:
    """The texts of an account that may use custom emoji."""
    return (account.get("display_name"), account.get("note"), account.get("fields"))


async def attach_to_accounts(conn: Connection, accounts: Iterable[Row]) -> None:
    """Set `emojis` on each account row: the enabled emoji of its domain it uses."""
    rows = [a for a in accounts]
    codes = {id(a): [c for t in account_texts(a) for c in emoji_shortcodes(t)] for a in rows}
    wanted: dict[str | None, set[str]] = {}
    for a in rows:
        wanted.setdefault(a["domain"], set()).update(codes[id(a)])
    found = await enabled_for(conn, wanted) if any(wanted.values()) else {}
    for a in rows:
        seen = dict.fromkeys(codes[id(a)])
        a["emojis"] = [found[(a["domain"], c)] for c in seen if (a["domain"], c) in found]


async def for_statuses(
    conn: Connection, statuses: dict[int, Row], accounts: dict[int, Row]
) -> dict[int, list[Row]]:
    """The enabled emoji each status uses (in its content or content warning), keyed by
    status id, and `emojis` set on every account row (display name, bio, fields)."""
    codes: dict[int, list[str]] = {}
    wanted: dict[str | None, set[str]] = {}
    for status_id, row in statuses.items():
        found = emoji_shortcodes(row.get("content")) + emoji_shortcodes(row.get("spoiler_text"))
        if found:
            author = accounts.get(row["account_id"])
            domain = author["domain"] if author is not None else None
            codes[status_id] = list(dict.fromkeys(found))
            wanted.setdefault(domain, set()).update(found)
    account_codes = {
        i: [c for t in account_texts(a) for c in emoji_shortcodes(t)] for i, a in accounts.items()
    }
    for i, found in account_codes.items():
        if found:
            wanted.setdefault(accounts[i]["domain"], set()).update(found)
    rows = await enabled_for(conn, wanted) if wanted else {}
    for i, a in accounts.items():
        a["emojis"] = [
            rows[(a["domain"], c)]
            for c in dict.fromkeys(account_codes[i])
            if (a["domain"], c) in rows
        ]
    result: dict[int, list[Row]] = {}
    for status_id, found in codes.items():
        author = accounts.get(statuses[status_id]["account_id"])
        domain = author["domain"] if author is not None else None
        emojis = [rows[(domain, c)] for c in found if (domain, c) in rows]
        if emojis:
            result[status_id] = emojis
    return result
