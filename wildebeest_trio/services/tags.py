"""Hashtags: what a tag is, how much it was used lately, and following it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import tags as tag_rows
from ..store.paging import Page
from ..views import DayUse
from . import home_feed

# A hashtag as formatting.py finds them: word characters, at least one not a digit.
TAG_NAME_RE = re.compile(r"^\w*[^\W\d_]\w*$", re.UNICODE)
DAY_MS = 86_400_000
HISTORY_DAYS = 7


class TagNotFound(LookupError):
    """No such tag, or not a valid tag name."""

    def __init__(self, message: str = "Record not found") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class TagView:
    """A tag with its last week of use and whether the viewer follows it."""

    tag: RowView
    history: list[DayUse]
    following: bool | None  # None for anonymous viewers


def _clean(name: str) -> str:
    name = name.strip().lstrip("#")
    if not TAG_NAME_RE.match(name) or len(name) > 200:
        raise TagNotFound()
    return name


def history(uses: Sequence[RowView], now: int) -> list[DayUse]:
    """Uses per day for the last seven days, today first (Mastodon's tag history)."""
    today = now - now % DAY_MS
    days = [today - i * DAY_MS for i in range(HISTORY_DAYS)]
    per_day: dict[int, list[int]] = {d: [] for d in days}
    for use in uses:
        day = use["created_at"] - use["created_at"] % DAY_MS
        if day in per_day:
            per_day[day].append(use["account_id"])
    return [DayUse(d, len(per_day[d]), len(set(per_day[d]))) for d in days]


async def view(conn: Connection, tag: RowView, viewer_id: int | None, now: int) -> TagView:
    """A tag's history up to `now` and whether the viewer follows it (inside a unit)."""
    uses = await tag_rows.tag_uses(conn, tag["id"], now - HISTORY_DAYS * DAY_MS)
    following = None
    if viewer_id is not None:
        following = tag["id"] in await tag_rows.followed_tag_ids(conn, viewer_id, [tag["id"]])
    return TagView(tag, history(uses, now), following)


async def show(rt: Runtime, name: str, viewer_id: int | None) -> TagView:
    """A known tag."""
    clean = _clean(name)

    async def unit(conn: Connection) -> TagView:
        tag = await tag_rows.tag_by_name(conn, clean)
        if tag is None:
            raise TagNotFound()
        return await view(conn, tag, viewer_id, now_ms())

    return await rt.store.read(unit)


async def follow(rt: Runtime, account_id: int, name: str, on: bool) -> TagView:
    """Follow (making the tag if needed) or unfollow a tag."""
    clean = _clean(name)

    async def unit(conn: Connection) -> TagView:
        now = now_ms()
        if on:
            tag = await tag_rows.ensure_tag(conn, rt.ids.next_id(), clean, now)
            await tag_rows.follow_tag(conn, rt.ids.next_id(), account_id, tag["id"], now)
        else:
            found = await tag_rows.tag_by_name(conn, clean)
            if found is None:
                raise TagNotFound()
            tag = found
            await tag_rows.unfollow_tag(conn, account_id, tag["id"])
        # Its public statuses join or leave the follower's home.
        await home_feed.tag_follow_changed(conn, account_id, tag["id"], on)
        return await view(conn, tag, account_id, now)

    return await rt.store.write(unit)


async def followed(rt: Runtime, account_id: int, page: Page) -> list[TagView]:
    """The tags the caller follows, newest follow first."""

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        return [
            await view(conn, row, account_id, now)
            for row in await tag_rows.followed_tags_page(conn, account_id, page)
        ]

    return await rt.store.read(unit)
