"""Rows of preview cards: the cards, the linked URLs that led to them, and which status shows
which card (the statuses' bundles load their cards in `statuses.hydrate`)."""

from __future__ import annotations

from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .entities import status_changed
from .paging import Page, fetch_page, placeholders
from .rows import (
    LinkUseRow,
    PreviewCardLinkRow,
    PreviewCardRow,
    PreviewCardStatusRow,
    StatusRow,
)
from .statuses import LIVE, unhidden_sql

CARD_COLUMNS = (
    "url",
    "title",
    "description",
    "type",
    "link_type",
    "author_name",
    "author_url",
    "author_account_id",
    "provider_name",
    "provider_url",
    "html",
    "width",
    "height",
    "image_remote_url",
    "image_key",
    "image_description",
    "embed_url",
    "blurhash",
    "published_at",
    "language",
)


# Linked URLs ------------------------------------------------------------------------------------


async def link(conn: Connection, url: str) -> PreviewCardLinkRow | None:
    """What is known of a linked URL: its card (if any), last fetch and claim."""
    return await fetchrow_as(
        conn, PreviewCardLinkRow, "SELECT * FROM preview_card_links WHERE url = $1", url
    )


async def claim_link(conn: Connection, url: str, now: int, until: int) -> bool:
    """Take the fetch of `url` until `until`, unless another worker holds it; whether taken."""
    changed = await conn.execute(
        "INSERT INTO preview_card_links (url, claimed_until) VALUES ($1, $3) "
        "ON CONFLICT (url) DO UPDATE SET claimed_until = $3 "
        "WHERE preview_card_links.claimed_until IS NULL OR preview_card_links.claimed_until < $2",
        url,
        now,
        until,
    )
    return changed > 0


async def finish_link(conn: Connection, url: str, card_id: int | None, now: int) -> None:
    """A fetch of `url` ended, with a card or without one; its claim is released."""
    await conn.execute(
        "UPDATE preview_card_links SET preview_card_id = $2, fetched_at = $3, "
        "claimed_until = NULL WHERE url = $1",
        url,
        card_id,
        now,
    )


async def release_link(conn: Connection, url: str) -> None:
    """Give up a claim without a result (the fetch failed for a while: try again later)."""
    await conn.execute("UPDATE preview_card_links SET claimed_until = NULL WHERE url = $1", url)


async def has_media(conn: Connection, status_id: int) -> bool:
    """Whether a status has attachments (then it gets no card, as on Mastodon)."""
    found = await conn.fetchval(
        "SELECT 1 FROM media_attachments WHERE status_id = $1 LIMIT 1", status_id
    )
    return found is not None


async def mentioned_urls(conn: Connection, status_id: int) -> set[str]:
    """The profile URLs (and ids) of the accounts a status mentions: links to them are
    mentions, not links to preview."""
    rows = await conn.fetch(
        "SELECT a.url, a.uri FROM mentions m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.status_id = $1",
        status_id,
    )
    return {u for r in rows for u in (r["url"], r["uri"]) if u}


# Cards ------------------------------------------------------------------------------------------


async def card_by_url(conn: Connection, url: str) -> PreviewCardRow | None:
    return await fetchrow_as(
        conn, PreviewCardRow, "SELECT * FROM preview_cards WHERE url = $1", url
    )


async def save_card(conn: Connection, card_id: int, fields: dict[str, Any], now: int) -> int:
    """Insert the card of `fields["url"]`, or refresh the one kept for it; its id."""
    values = [fields[c] for c in CARD_COLUMNS]
    existing = await card_by_url(conn, fields["url"])
    if existing is not None:
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(CARD_COLUMNS, start=2))
        await conn.execute(
            f"UPDATE preview_cards SET {sets}, updated_at = ${len(values) + 2} WHERE id = $1",
            existing["id"],
            *values,
            now,
        )
        return int(existing["id"])
    columns = ", ".join(("id", *CARD_COLUMNS, "created_at", "updated_at"))
    await conn.execute(
        f"INSERT INTO preview_cards ({columns}) VALUES ({placeholders(1, len(values) + 3)})",
        card_id,
        *values,
        now,
        now,
    )
    return card_id


async def set_trendable(conn: Connection, card_id: int, trendable: bool | None) -> bool:
    """Record an admin's review of a card for trends; whether the card exists."""
    changed = await conn.execute(
        "UPDATE preview_cards SET trendable = $2 WHERE id = $1", card_id, trendable
    )
    return changed > 0


# Which status shows which card ------------------------------------------------------------------


async def attached(conn: Connection, status_id: int) -> PreviewCardStatusRow | None:
    """The card a status shows (its `preview_cards_statuses` row)."""
    return await fetchrow_as(
        conn,
        PreviewCardStatusRow,
        "SELECT * FROM preview_cards_statuses WHERE status_id = $1",
        status_id,
    )


async def attach(conn: Connection, status_id: int, card_id: int, url: str, now: int) -> None:
    """Show `card_id` on a status (replacing the card it showed)."""
    status_changed(conn, status_id)
    await conn.execute(
        "INSERT INTO preview_cards_statuses (status_id, preview_card_id, url, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (status_id) DO UPDATE SET "
        "preview_card_id = $2, url = $3, created_at = $4",
        status_id,
        card_id,
        url,
        now,
    )


async def detach(conn: Connection, status_id: int) -> bool:
    """A status shows no card any more; whether it showed one."""
    status_changed(conn, status_id)
    removed = await conn.execute(
        "DELETE FROM preview_cards_statuses WHERE status_id = $1", status_id
    )
    return removed > 0


# Trends and the link timeline ---------------------------------------------------------------------

# The statuses that count towards a link's trend, as Mastodon's Trends::Links registers them:
# public, original (no boost), not a reply, not sensitive, by an account in good standing.
_TRENDING_STATUS = (
    f"{LIVE} AND s.visibility = 'public' AND s.reblog_of_id IS NULL "
    "AND s.in_reply_to_id IS NULL AND NOT s.sensitive"
)


async def link_uses(
    conn: Connection, since: int, *, trendable: bool | None = True, limit: int = 50_000
) -> list[LinkUseRow]:
    """Each counted status since `since` that shows a card: (card id, account, time).
    `trendable=True` keeps approved cards only; None keeps every card."""
    review = "" if trendable is None else "AND pc.trendable = $2 "
    args: list[Any] = [since] if trendable is None else [since, trendable]
    return await fetch_as(
        conn,
        LinkUseRow,
        "SELECT pcs.preview_card_id AS card_id, s.account_id, s.created_at "
        "FROM preview_cards_statuses pcs JOIN statuses s ON s.id = pcs.status_id "
        "JOIN preview_cards pc ON pc.id = pcs.preview_card_id "
        "JOIN accounts a ON a.id = s.account_id "
        f"WHERE s.created_at >= $1 {review}AND {_TRENDING_STATUS} "
        "AND a.suspended_at IS NULL AND a.silenced_at IS NULL "
        f"ORDER BY s.created_at DESC LIMIT {int(limit)}",
        *args,
    )


async def cards_by_ids(conn: Connection, card_ids: list[int]) -> list[PreviewCardRow]:
    if not card_ids:
        return []
    return await fetch_as(
        conn,
        PreviewCardRow,
        f"SELECT * FROM preview_cards WHERE id IN ({placeholders(1, len(card_ids))})",
        *card_ids,
    )


async def link_page(
    conn: Connection, card_id: int, page: Page, viewer_id: int | None, now: int
) -> list[StatusRow]:
    """Public statuses showing a card, newest first (Mastodon's link timeline), minus the
    accounts hidden from the viewer."""
    args: list[Any] = [card_id]
    sql = (
        f"SELECT s.* FROM statuses s WHERE {LIVE} AND s.visibility = 'public' "
        "AND s.reblog_of_id IS NULL AND s.id IN (SELECT pcs.status_id FROM "
        "preview_cards_statuses pcs WHERE pcs.preview_card_id = $1)"
    )
    if viewer_id is not None:
        args += [viewer_id, now]
        sql += f" AND {unhidden_sql('s', '$2', '$3')}"
    return await fetch_page(conn, StatusRow, sql, args, "s.id", page)
