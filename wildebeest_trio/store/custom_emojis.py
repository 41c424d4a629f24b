"""Custom emoji: the local ones the admins add, and remote ones federation caches.

Local emoji have `domain` NULL; a remote status or account uses the emoji of its own
domain, so lookups are keyed by (domain, shortcode).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..formatting import emoji_shortcodes
from .base import Connection, fetch_as, fetchrow_as
from .rows import AccountRow, CustomEmojiRow, StatusRow


async def insert_local(conn: Connection, emoji: Mapping[str, Any]) -> CustomEmojiRow:
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


async def local_by_shortcode(conn: Connection, shortcode: str) -> CustomEmojiRow | None:
    """The local emoji with this shortcode (enabled or not)."""
    return await fetchrow_as(
        conn,
        CustomEmojiRow,
        "SELECT * FROM custom_emojis WHERE domain IS NULL AND shortcode = $1",
        shortcode,
    )


async def delete_local(conn: Connection, shortcode: str) -> CustomEmojiRow | None:
    """Remove a local emoji; the removed row."""
    row = await local_by_shortcode(conn, shortcode)
    if row is not None:
        await conn.execute("DELETE FROM custom_emojis WHERE id = $1", row["id"])
    return row


async def upsert_remote(conn: Connection, emoji: Mapping[str, Any]) -> None:
    """Record a remote custom emoji (by shortcode and domain), refreshing its image."""
    await conn.execute(
        "INSERT INTO custom_emojis (id, shortcode, domain, uri, image_remote_url, "
        "visible_in_picker, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) "
        "ON CONFLICT (shortcode, domain) WHERE domain IS NOT NULL DO UPDATE SET "
        "uri = excluded.uri, image_remote_url = excluded.image_remote_url, "
        "updated_at = excluded.updated_at",
        emoji["id"],
        emoji["shortcode"],
        emoji["domain"],
        emoji["uri"],
        emoji["image_remote_url"],
        emoji["now"],
    )


async def set_image_copy(
    conn: Connection, emoji_id: int, which: str, key: str | None, url: str | None, now: int | None
) -> None:
    """Record the copy cached here of a remote emoji's `image` (its key, the URL it was
    taken from, when), or forget it (all None)."""
    if which != "image":
        raise ValueError(which)
    await conn.execute(
        "UPDATE custom_emojis SET image_key = $2, image_cached_url = $3, image_cached_at = $4 "
        "WHERE id = $1",
        emoji_id,
        key,
        url,
        now,
    )


async def local_emojis(conn: Connection, *, enabled_only: bool) -> list[CustomEmojiRow]:
    """Local emoji by category then shortcode."""
    where = "domain IS NULL" + (" AND NOT disabled" if enabled_only else "")
    return await fetch_as(
        conn,
        CustomEmojiRow,
        f"SELECT * FROM custom_emojis WHERE {where} ORDER BY COALESCE(category, ''), shortcode",
    )


async def set_emoji_disabled(conn: Connection, emoji_id: int, disabled: bool, now: int) -> bool:
    """Disable or enable a local emoji; whether it exists."""
    changed = await conn.execute(
        "UPDATE custom_emojis SET disabled = $1, updated_at = $2 WHERE id = $3 AND domain IS NULL",
        disabled,
        now,
        emoji_id,
    )
    return bool(changed)


async def enabled_for(
    conn: Connection, wanted: dict[str | None, set[str]]
) -> dict[tuple[str | None, str], CustomEmojiRow]:
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
    rows = await fetch_as(
        conn,
        CustomEmojiRow,
        f"SELECT * FROM custom_emojis WHERE NOT disabled AND ({' OR '.join(clauses)})",
        *args,
    )
    return {(r["domain"], r["shortcode"]): r for r in rows}


def account_texts(account: AccountRow) -> Iterable[str | None]:
    """The texts of an account that may use custom emoji."""
    return (account.get("display_name"), account.get("note"), account.get("fields"))


async def attach_to_accounts(conn: Connection, accounts: Iterable[AccountRow]) -> None:
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
    conn: Connection, statuses: dict[int, StatusRow], accounts: dict[int, AccountRow]
) -> dict[int, list[CustomEmojiRow]]:
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
    result: dict[int, list[CustomEmojiRow]] = {}
    for status_id, found in codes.items():
        author = accounts.get(statuses[status_id]["account_id"])
        domain = author["domain"] if author is not None else None
        emojis = [rows[(domain, c)] for c in found if (domain, c) in rows]
        if emojis:
            result[status_id] = emojis
    return result
