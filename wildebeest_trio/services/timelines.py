"""Timelines: home, public, a link's, an account's statuses, favourites and bookmarks.

Home is read from the viewer's home feed, which the write paths keep (`home_feed`); the
others are computed from the rows at read time. Each page is read in one unit with the
hydration of its statuses, so a status is in its author's and followers' timelines on
the very next request, from any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..ids import now_ms
from ..link_details import normalize_url
from ..runtime import Runtime
from ..store import Connection
from ..store import accounts as account_rows
from ..store import preview_cards as card_rows
from ..store import statuses as status_rows
from ..store.entities import EntityCache
from ..store.paging import Page
from ..store.statuses import StatusBundle
from . import home_feed
from .follows import AccountNotFound
from .trends import LinkNotFound, link_may_trend


async def home(rt: Runtime, viewer_id: int, page: Page) -> StatusBundle:
    """The viewer's home timeline (its feed, built by this read if it never was)."""
    now = now_ms()

    async def unit(conn: Connection) -> tuple[home_feed.Reading, StatusBundle | None]:
        reading = await home_feed.read(conn, viewer_id, page, now)
        if reading.rows is None:
            return reading, None
        return reading, await status_rows.hydrate(conn, reading.rows, viewer_id, rt.entities)

    async def build(conn: Connection) -> StatusBundle:
        rows = await home_feed.build(conn, viewer_id, page, now)
        return await status_rows.hydrate(conn, rows, viewer_id)

    reading, bundle = await rt.store.read(unit)
    if bundle is None:
        return await rt.store.write(build)
    await home_feed.after_read(rt, viewer_id, reading)
    return bundle


async def public(
    rt: Runtime,
    viewer_id: int | None,
    page: Page,
    *,
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
) -> StatusBundle:
    """The public timeline, all of it or only local or remote statuses."""

    async def unit(conn: Connection) -> StatusBundle:
        rows = await status_rows.public_page(
            conn,
            page,
            local=local,
            remote=remote,
            viewer_id=viewer_id,
            now=now_ms(),
            only_media=only_media,
        )
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


async def link(rt: Runtime, viewer_id: int | None, page: Page, url: str) -> StatusBundle:
    """Public statuses sharing a link that may trend (approved, or from an approved
    publisher: Mastodon 4.3's link timeline); LinkNotFound for any other URL."""
    wanted = normalize_url(url)

    async def unit(conn: Connection) -> StatusBundle:
        card = await card_rows.card_by_url(conn, wanted) if wanted else None
        if card is None or not await link_may_trend(conn, card):
            raise LinkNotFound()
        rows = await card_rows.link_page(conn, card["id"], page, viewer_id, now_ms())
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


@dataclass(frozen=True)
class AccountFilter:
    """The filters of `GET /api/v1/accounts/:id/statuses`."""

    exclude_replies: bool = False
    exclude_reblogs: bool = False
    pinned: bool = False
    only_media: bool = False
    exclude_direct: bool = False
    tagged: str | None = None


async def account(
    rt: Runtime, account_id: int, viewer_id: int | None, page: Page, filters: AccountFilter
) -> StatusBundle:
    """An account's statuses as the viewer may see them."""
    return await rt.store.read(account_in, rt.entities, account_id, viewer_id, page, filters)


async def account_in(
    conn: Connection,
    entities: EntityCache,
    account_id: int,
    viewer_id: int | None,
    page: Page,
    filters: AccountFilter,
) -> StatusBundle:
    """`account`'s read, for a unit that reads more beside it (a web page's)."""
    row = await account_rows.account_by_id(conn, account_id)
    if row is None or row["suspended_at"] is not None:
        raise AccountNotFound()
    rows = await status_rows.account_page(
        conn,
        account_id,
        viewer_id,
        page,
        exclude_replies=filters.exclude_replies,
        exclude_reblogs=filters.exclude_reblogs,
        pinned=filters.pinned,
        exclude_direct=filters.exclude_direct,
        tagged=filters.tagged.lstrip("#") if filters.tagged else None,
        only_media=filters.only_media,
    )
    return await status_rows.hydrate(conn, rows, viewer_id, entities)


async def favourites(rt: Runtime, viewer_id: int, page: Page) -> StatusBundle:
    """What the viewer favourited, newest first (paginated by the favourite)."""

    async def unit(conn: Connection) -> StatusBundle:
        rows = await status_rows.favourites_page(conn, viewer_id, page)
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


async def bookmarks(rt: Runtime, viewer_id: int, page: Page) -> StatusBundle:
    """What the viewer bookmarked, newest first (paginated by the bookmark)."""

    async def unit(conn: Connection) -> StatusBundle:
        rows = await status_rows.bookmarks_page(conn, viewer_id, page)
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


MAX_TAGS = 4


async def tag(
    rt: Runtime,
    viewer_id: int | None,
    page: Page,
    name: str,
    *,
    any_of: Sequence[str] = (),
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
) -> StatusBundle:
    """Public statuses tagged `name` (or any of `any_of`), with all of `all_of` and none of
    `none_of`; tag names are matched case-insensitively."""

    def clean(values: Sequence[str]) -> list[str]:
        return [v.strip().lstrip("#").lower() for v in values if v.strip().lstrip("#")][:MAX_TAGS]

    wanted = clean([name, *any_of])

    async def unit(conn: Connection) -> StatusBundle:
        rows = await status_rows.tag_page(
            conn,
            page,
            any_of=wanted,
            all_of=clean(all_of),
            none_of=clean(none_of),
            local=local,
            remote=remote,
            viewer_id=viewer_id,
            now=now_ms(),
            only_media=only_media,
        )
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)
