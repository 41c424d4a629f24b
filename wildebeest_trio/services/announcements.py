"""Announcements: published by the admins (the CLI), read, dismissed and reacted to by users.

Text is rendered as a status is (paragraphs, links, mentions, hashtags); the mentions,
hashtags, linked local statuses and custom emoji it refers to are worked out when it is
read, so they follow renamed or removed accounts and emoji. Changes are pushed to every
user stream through the broadcast channel (`announcement`, `announcement.reaction`,
`announcement.delete`, as Mastodon's streaming API names them). On SQLite the streams
live in the serving process, so what the CLI publishes reaches clients on their next
`GET /api/v1/announcements` rather than live; on PostgreSQL it goes out through NOTIFY.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..formatting import URL_RE, emoji_shortcodes
from ..ids import now_ms, parse_id
from ..runtime import Runtime
from ..serializers.announcements import announcement_entity
from ..store import Connection, RowView
from ..store import announcements as announcement_rows
from ..store import custom_emojis as emoji_rows
from ..store import statuses as status_rows
from ..store.rows import AnnouncementRow, StatusRow
from ..streaming.relay import StreamEvent
from ..views import AnnouncementView
from .statuses import _render as render_status_text

# Every user stream also listens here (http/streaming.py): events for everyone.
BROADCAST_CHANNEL = "timeline:broadcast"
MAX_TEXT = 10_000
MAX_REACTION_NAME = 64


class AnnouncementError(ValueError):
    """An announcement or reaction that cannot be stored (answered 422)."""


class AnnouncementNotFound(LookupError):
    """No such published announcement."""


def is_unicode_emoji(name: str) -> bool:
    """Whether `name` is one emoji as Unicode writes them: pictographs with their
    modifiers, joiners, variation selectors, flags and keycaps, and nothing else."""
    if not name or len(name) > 16:
        return False
    pictographs = 0
    for i, char in enumerate(name):
        code = ord(char)
        if code in (0x200D, 0xFE0F, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF:
            continue  # joiner, emoji presentation, keycap, skin tones
        if 0xE0020 <= code <= 0xE007F:
            continue  # tag characters of subdivision flags
        if char in "#*0123456789" and name[i + 1 : i + 3] in ("\ufe0f\u20e3", "\u20e3"):
            pictographs += 1
            continue
        if unicodedata.category(char) == "So":
            pictographs += 1
            continue
        return False
    return pictographs > 0


def _text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise AnnouncementError("The text of an announcement must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise AnnouncementError(f"The text is too long (at most {MAX_TEXT} characters)")
    return cleaned


async def publish(
    rt: Runtime,
    text: str,
    *,
    starts_at: int | None = None,
    ends_at: int | None = None,
    all_day: bool = False,
) -> AnnouncementRow:
    """Store and publish an announcement at once; the stored row."""
    cleaned = _text(text)
    if (starts_at is None) != (ends_at is None):
        raise AnnouncementError("Give both a start and an end, or neither")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise AnnouncementError("The end must come after the start")
    if all_day and starts_at is None:
        raise AnnouncementError("An all-day announcement needs a start and an end")

    async def unit(conn: Connection) -> AnnouncementRow:
        content, _, _ = await render_status_text(conn, rt, cleaned)
        now = now_ms()
        row = await announcement_rows.insert(
            conn,
            {
                "id": rt.ids.next_id(),
                "text": cleaned,
                "content": content,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "all_day": all_day,
                "published_at": now,
                "now": now,
            },
        )
        views = await _views(conn, rt, [row], None)
        payload = json.dumps(announcement_entity(rt.config, views[0]))
        conn.effects.add(StreamEvent.to(BROADCAST_CHANNEL, "announcement", payload))
        return row

    return await rt.store.write(unit)


async def remove(rt: Runtime, announcement_id: int) -> bool:
    """Delete an announcement; whether there was one."""

    async def unit(conn: Connection) -> bool:
        removed = await announcement_rows.delete(conn, announcement_id)
        if removed:
            event = StreamEvent.to(BROADCAST_CHANNEL, "announcement.delete", str(announcement_id))
            conn.effects.add(event)
        return removed

    return await rt.store.write(unit)


async def all_announcements(rt: Runtime) -> list[AnnouncementRow]:
    """Every announcement, oldest first (the CLI's list)."""
    return await rt.store.read(announcement_rows.all_announcements)


async def _linked_statuses(conn: Connection, rt: Runtime, text: str) -> list[StatusRow]:
    """Public or unlisted local statuses the text links to (`/@user/ID` or `/statuses/ID`)."""
    base = urlsplit(rt.config.base_url)
    ids = []
    for match in URL_RE.finditer(text):
        url = urlsplit(match.group(0).rstrip(".,;:!?)"))
        last = url.path.rstrip("/").rsplit("/", 1)[-1]
        status_id = parse_id(last)
        if url.netloc == base.netloc and status_id is not None:
            ids.append(status_id)
    if not ids:
        return []
    found = {r["id"]: r for r in await status_rows.visible_statuses(conn, ids, None)}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def _views(
    conn: Connection, rt: Runtime, rows: Sequence[RowView], viewer_id: int | None
) -> list[AnnouncementView]:
    ids = [r["id"] for r in rows]
    reactions = await announcement_rows.reactions(conn, ids, viewer_id)
    read = (
        await announcement_rows.dismissed_ids(conn, viewer_id, ids)
        if viewer_id is not None
        else set()
    )
    codes = {c for r in rows for c in emoji_shortcodes(r["text"])}
    emojis = await emoji_rows.enabled_for(conn, {None: codes}) if codes else {}
    views = []
    for row in rows:
        _, mentions, tags = await render_status_text(conn, rt, row["text"])
        views.append(
            AnnouncementView(
                row=row,
                mentions=mentions,
                tags=tags,
                statuses=await _linked_statuses(conn, rt, row["text"]),
                emojis=[
                    emojis[(None, c)] for c in emoji_shortcodes(row["text"]) if (None, c) in emojis
                ],
                reactions=reactions.get(row["id"], []),
                read=(row["id"] in read) if viewer_id is not None else None,
            )
        )
    return views


async def for_viewer(
    rt: Runtime, viewer_id: int, *, with_dismissed: bool = False
) -> list[AnnouncementView]:
    """The live announcements a user sees (without the dismissed ones unless asked)."""

    async def unit(conn: Connection) -> list[AnnouncementView]:
        rows = await announcement_rows.live(conn, now_ms())
        views = await _views(conn, rt, rows, viewer_id)
        return [v for v in views if with_dismissed or not v.read]

    return await rt.store.read(unit)


async def dismiss(rt: Runtime, viewer_id: int, announcement_id: int) -> None:
    """Mark a live announcement read by the user."""

    async def unit(conn: Connection) -> None:
        if await announcement_rows.live_by_id(conn, announcement_id, now_ms()) is None:
            raise AnnouncementNotFound()
        await announcement_rows.dismiss(conn, announcement_id, viewer_id)

    await rt.store.write(unit)


async def react(rt: Runtime, viewer_id: int, announcement_id: int, name: str, *, on: bool) -> None:
    """Add (`on`) or withdraw the user's reaction `name`: a Unicode emoji or the shortcode
    of an enabled local custom emoji."""
    unicode = is_unicode_emoji(name.strip())
    # Custom emoji are named by shortcode, with or without the colons.
    key = name.strip() if unicode else name.strip().strip(":")
    if not key or len(key) > MAX_REACTION_NAME:
        raise AnnouncementError("Validation failed: Name is not a recognized emoji")

    async def unit(conn: Connection) -> None:
        if await announcement_rows.live_by_id(conn, announcement_id, now_ms()) is None:
            raise AnnouncementNotFound()
        if not on:
            if not await announcement_rows.remove_reaction(conn, announcement_id, viewer_id, key):
                return
        else:
            custom_id = None
            if not unicode:
                emoji = await emoji_rows.local_by_shortcode(conn, key)
                if emoji is None or emoji["disabled"]:
                    raise AnnouncementError("Validation failed: Name is not a recognized emoji")
                custom_id = emoji["id"]
            if not await announcement_rows.add_reaction(
                conn, rt.ids.next_id(), announcement_id, viewer_id, key, custom_id, now_ms()
            ):
                return
        count = await announcement_rows.reaction_count(conn, announcement_id, key)
        payload = {"name": key, "count": count, "announcement_id": str(announcement_id)}
        event = StreamEvent.to(BROADCAST_CHANNEL, "announcement.reaction", json.dumps(payload))
        conn.effects.add(event)

    await rt.store.write(unit)
