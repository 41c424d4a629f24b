"""Trends: the hashtags, statuses and links that drew the most people lately.

Computed from the rows on each request (a cache can come when the numbers call for one).
Links follow Mastodon's `Trends::Links`: only links an admin approved trend; a link's
score compares the distinct accounts sharing it today with yesterday's
(`(observed - expected)^2 / expected`, once at least five accounts shared it today and
more than yesterday), and the best score of the last two days decays with a half-life of
eight hours from when it was reached, so a link fades once people stop sharing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import roles
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import preview_card_providers as provider_rows
from ..store import preview_cards as card_rows
from ..store import statuses as status_rows
from ..store import tags as tag_rows
from ..store.rows import LinkUseRow, PreviewCardProviderRow
from ..store.statuses import StatusBundle
from ..views import DayUse
from .admin import NotFound, Staff, log
from .tags import DAY_MS, HISTORY_DAYS, TagView, history, view

TAG_WINDOW_MS = HISTORY_DAYS * DAY_MS
STATUS_WINDOW_MS = 2 * DAY_MS
# Mastodon's Trends::Links options.
LINK_THRESHOLD = 5  # distinct accounts in a day before a link can trend
LINK_HALF_LIFE_MS = 8 * 3600 * 1000
LINK_COOLDOWN_MS = 2 * DAY_MS
HOUR_MS = 3600 * 1000


async def tags(rt: Runtime, viewer_id: int | None, limit: int, offset: int) -> list[TagView]:
    """Tags used by the most accounts over the last week, with their history."""

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        rows = await tag_rows.trending_tags(conn, now - TAG_WINDOW_MS, limit, offset)
        return [await view(conn, row, viewer_id, now) for row in rows]

    return await rt.store.read(unit)


async def statuses(rt: Runtime, viewer_id: int | None, limit: int, offset: int) -> StatusBundle:
    """Public statuses of the last two days with the most favourites, boosts and replies."""

    async def unit(conn: Connection) -> StatusBundle:
        now = now_ms()
        rows = await status_rows.trending_page(
            conn, now - STATUS_WINDOW_MS, limit, offset, viewer_id, now
        )
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


@dataclass(frozen=True)
class TrendingLink:
    """A link's card, the account its page names as author, and its last week of use."""

    card: RowView
    author: RowView | None
    history: list[DayUse]
    score: float


def link_score(uses: Sequence[RowView], now: int) -> float:
    """Mastodon's trend score of a link from its uses (`account_id`, `created_at`): hour by
    hour over the last two days, today's distinct accounts against yesterday's; the best
    score, decayed from when it was first reached."""
    best, best_at = 0.0, now
    for hours_ago in range(LINK_COOLDOWN_MS // HOUR_MS, -1, -1):
        at = now - hours_ago * HOUR_MS
        day = at - at % DAY_MS
        observed = len({u["account_id"] for u in uses if day <= u["created_at"] <= at})
        expected = len({u["account_id"] for u in uses if day - DAY_MS <= u["created_at"] < day})
        expected = max(expected, 1)
        if observed < LINK_THRESHOLD or observed <= expected:
            continue
        score = (observed - expected) ** 2 / expected
        if score > best:
            best, best_at = score, at
    return float(best * 0.5 ** ((now - best_at) / LINK_HALF_LIFE_MS))


async def links(rt: Runtime, limit: int, offset: int) -> list[TrendingLink]:
    """Approved links (one by one, or by their publisher) by their trend score, with their
    history (`GET /api/v1/trends/links`)."""

    async def unit(conn: Connection) -> list[TrendingLink]:
        now = now_ms()
        per_card: dict[int, list[LinkUseRow]] = {}
        for use in await card_rows.link_uses(conn, now - HISTORY_DAYS * DAY_MS, trendable=None):
            per_card.setdefault(use["card_id"], []).append(use)
        found = {c["id"]: c for c in await card_rows.cards_by_ids(conn, list(per_card))}
        # Not reviewed one by one: it trends when its publisher was approved.
        approved = await provider_rows.approved_among(
            conn, (publisher_of(c["url"]) for c in found.values() if c["trendable"] is None)
        )
        allowed = {
            card_id
            for card_id, card in found.items()
            if card["trendable"]
            or (card["trendable"] is None and publisher_of(card["url"]) in approved)
        }
        scored = sorted(
            (
                (link_score(uses, now), card_id)
                for card_id, uses in per_card.items()
                if card_id in allowed
            ),
            key=lambda pair: (-pair[0], -pair[1]),
        )
        chosen = [(score, card_id) for score, card_id in scored if score > 0]
        chosen = chosen[offset : offset + limit]
        trending = []
        for score, card_id in chosen:
            card = found[card_id]
            author = None
            if card["author_account_id"] is not None:
                author = await account_rows.account_by_id(conn, card["author_account_id"])
            trending.append(TrendingLink(card, author, history(per_card[card_id], now), score))
        return trending

    return await rt.store.read(unit)


@dataclass(frozen=True)
class LinkReview:
    """A link shared lately, for an admin to approve for trends or reject."""

    card: RowView
    accounts: int
    uses: int
    score: float


async def links_to_review(rt: Runtime, limit: int = 100) -> list[LinkReview]:
    """Links shared in public posts this week, those shared by the most accounts first."""

    async def unit(conn: Connection) -> list[LinkReview]:
        now = now_ms()
        per_card: dict[int, list[LinkUseRow]] = {}
        for use in await card_rows.link_uses(conn, now - HISTORY_DAYS * DAY_MS, trendable=None):
            per_card.setdefault(use["card_id"], []).append(use)
        ranked = sorted(
            per_card.items(), key=lambda item: (-len({u["account_id"] for u in item[1]}), -item[0])
        )[:limit]
        found = {c["id"]: c for c in await card_rows.cards_by_ids(conn, [i for i, _ in ranked])}
        return [
            LinkReview(
                found[card_id],
                len({u["account_id"] for u in uses}),
                len(uses),
                link_score(uses, now),
            )
            for card_id, uses in ranked
        ]

    return await rt.store.read(unit)


class LinkNotFound(LookupError):
    """No link (preview card) with that id."""


async def review_link(rt: Runtime, staff: Staff, card_id: int, approved: bool) -> None:
    """An admin approves a link for trends (and its timeline), or rejects it."""
    staff.require(roles.MANAGE_TAXONOMIES)

    async def unit(conn: Connection) -> None:
        if not await card_rows.set_trendable(conn, card_id, approved):
            raise LinkNotFound()
        verb = "approve" if approved else "reject"
        await log(conn, rt, staff, verb, "PreviewCard", card_id, str(card_id))

    await rt.store.write(unit)


async def tags_to_review(rt: Runtime, staff: Staff, limit: int, offset: int) -> list[TagView]:
    """Tags used lately, rejected ones included, for the admins' review."""
    staff.require(roles.MANAGE_TAXONOMIES)

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        rows = await tag_rows.trending_tags(
            conn, now - TAG_WINDOW_MS, limit, offset, rejected_too=True
        )
        return [await view(conn, row, None, now) for row in rows]

    return await rt.store.read(unit)


async def statuses_to_review(rt: Runtime, staff: Staff, limit: int, offset: int) -> StatusBundle:
    """Statuses people interacted with lately, rejected ones included."""
    staff.require(roles.MANAGE_TAXONOMIES)

    async def unit(conn: Connection) -> StatusBundle:
        now = now_ms()
        rows = await status_rows.trending_page(
            conn, now - STATUS_WINDOW_MS, limit, offset, None, now, rejected_too=True
        )
        return await status_rows.hydrate(conn, rows, None)

    return await rt.store.read(unit)


async def review(rt: Runtime, staff: Staff, kind: str, item_id: int, approved: bool) -> None:
    """Approve or reject a trending `tag` or `status`."""
    staff.require(roles.MANAGE_TAXONOMIES)
    setter = tag_rows.set_trendable if kind == "tag" else status_rows.set_trendable

    async def unit(conn: Connection) -> None:
        if not await setter(conn, item_id, approved):
            raise NotFound()
        verb = "approve" if approved else "reject"
        await log(conn, rt, staff, verb, "Tag" if kind == "tag" else "Status", item_id, "")

    await rt.store.write(unit)


# Publishers -------------------------------------------------------------------------------------


def publisher_of(url: str) -> str:
    """The publisher of a link as Mastodon names it: the host, without `www.`."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")


async def link_may_trend(conn: Connection, card: RowView) -> bool:
    """Whether a link may trend (and has a timeline): approved one by one, or not reviewed
    and from an approved publisher."""
    if card["trendable"] is not None:
        return bool(card["trendable"])
    publisher = publisher_of(card["url"])
    return publisher in await provider_rows.approved_among(conn, [publisher])


async def publishers(
    rt: Runtime, staff: Staff, limit: int, offset: int
) -> list[PreviewCardProviderRow]:
    """The publishers of links, those waiting for review first (`GET .../links/publishers`);
    the publishers of this week's links join the list as they are first seen."""
    staff.require(roles.MANAGE_TAXONOMIES)

    async def unit(conn: Connection) -> list[PreviewCardProviderRow]:
        now = now_ms()
        uses = await card_rows.link_uses(conn, now - HISTORY_DAYS * DAY_MS, trendable=None)
        cards = await card_rows.cards_by_ids(conn, sorted({u["card_id"] for u in uses}))
        domains = sorted({publisher_of(c["url"]) for c in cards} - {""})
        await provider_rows.ensure(conn, (rt.ids.next_id() for _ in domains), domains, now)
        return await provider_rows.listing(conn, limit, offset)

    return await rt.store.write(unit)


async def review_publisher(
    rt: Runtime, staff: Staff, provider_id: int, approved: bool
) -> PreviewCardProviderRow:
    """Approve a publisher (its links trend without review) or reject it."""
    staff.require(roles.MANAGE_TAXONOMIES)

    async def unit(conn: Connection) -> PreviewCardProviderRow:
        row = await provider_rows.review(conn, provider_id, approved, now_ms())
        if row is None:
            raise NotFound()
        verb = "approve" if approved else "reject"
        await log(conn, rt, staff, verb, "PreviewCardProvider", provider_id, row["domain"])
        return row

    return await rt.store.write(unit)
