"""Remote Notes and Questions as status rows: sanitized, bounded, threaded and addressed.

`parse_note` reads an object (any JSON-LD compaction Mastodon and others send) into a
`ParsedNote` without touching the database; `create_status` and `apply_edit` write it
inside the caller's unit of work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..ids import IdGenerator, now_ms
from ..runtime import Runtime
from ..services import conversations, fanout, media_cache
from ..store import Connection, Row
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
from ..store import polls as poll_rows
from ..store import statuses as status_rows
from .as2 import as_list, first, link
from .fetch import same_origin
from .sanitize import sanitize_html, strip_text

NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page", "Image", "Video", "Audio", "Event"})
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
MAX_CONTENT = 100 * 1024  # characters of HTML kept from a remote post
MAX_SPOILER = 1024
MAX_MEDIA = 4  # Mastodon keeps the first four attachments
MAX_TAGS = 64
MAX_MENTIONS = 128
MAX_ALT = 1500
MAX_POLL_OPTIONS = 20
MAX_OPTION = 200
SHORTCODE_RE = re.compile(r"^:?([a-zA-Z0-9_]{1,64}):?$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")


@dataclass
class ParsedNote:
    """What a status row needs from a remote Note, before ids and accounts are resolved."""

    uri: str
    attributed_to: str
    url: str | None
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    in_reply_to: str | None
    to: list[str]
    cc: list[str]
    mention_uris: list[str]
    tags: list[str]
    emojis: list[dict[str, str]]
    media: list[dict[str, Any]]
    published: int | None
    updated: int | None
    object_type: str
    poll: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class NoteRefused(ValueError):
    """An object that cannot become a status (wrong type, no author, foreign origin)."""


def parse_time(value: Any) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time, or None."""
    value = first(value)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def _text(value: Any) -> str:
    """A plain string value (the first of a list), or empty."""
    value = first(value)
    return value if isinstance(value, str) else ""


def _content(obj: dict[str, Any]) -> tuple[str, str | None]:
    """The HTML to keep and its language; other object types summarized as Mastodon does."""
    content = _text(obj.get("content"))
    language = None
    content_map = obj.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        language, mapped = next(iter(content_map.items()))
        if not content and isinstance(mapped, str):
            content = mapped
    if obj.get("type") in ("Article", "Page", "Image", "Video", "Audio", "Event"):
        # Mastodon's conversion of non-Note objects: a heading, the summary, a link.
        name = strip_text(_text(obj.get("name")))
        url = link(obj.get("url")) or obj.get("id")
        parts = [f"<h2>{_escape(name)}</h2>"] if name else []
        summary = _text(obj.get("summary"))
        if summary:
            parts.append(f"<p>{_escape(strip_text(summary))}</p>")
        if isinstance(url, str):
            parts.append(f'<p><a href="{_escape(url)}">{_escape(url)}</a></p>')
        content = "".join(parts) or content
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        language = None
    return content, language


def _escape(text: str) -> str:
    """Text made safe inside HTML and attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _media(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Up to four attachments as remote media rows (URL, type, alt text, focus, size)."""
    found: list[dict[str, Any]] = []
    for item in as_list(obj.get("attachment")):
        if len(found) >= MAX_MEDIA:
            break
        if not isinstance(item, dict) or first(item.get("type")) == "PropertyValue":
            continue
        url = link(item.get("url")) or link(item.get("href"))
        if url is None:
            continue
        media_type = _text(item.get("mediaType")).lower()[:255]
        if not media_type and first(item.get("type")) in ("Image", "Video", "Audio"):
            media_type = f"{str(first(item.get('type'))).lower()}/*"  # the kind, no subtype
        focus = item.get("focalPoint")
        point: tuple[float, float] | None = None
        if isinstance(focus, list) and len(focus) == 2:
            try:
                fx, fy = (max(-1.0, min(1.0, float(v))) for v in focus)
                point = (fx, fy)
            except (TypeError, ValueError):
                point = None
        width, height = item.get("width"), item.get("height")
        sized = isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0
        blurhash = _text(item.get("blurhash"))
        found.append(
            {
                "remote_url": url[:2048],
                "preview_remote_url": (link(item.get("icon")) or "")[:2048] or None,
                "media_type": media_type or None,
                "description": strip_text(_text(item.get("name")))[:MAX_ALT] or None,
                "focus": point,
                "width": width if sized else None,
                "height": height if sized else None,
                "blurhash": blurhash[:100] if blurhash else None,
            }
        )
    return found


def _poll(obj: dict[str, Any]) -> dict[str, Any] | None:
    """A Question's options and tallies (`oneOf`, or `anyOf` for multiple choice)."""
    if first(obj.get("type")) != "Question":
        return None
    multiple = obj.get("anyOf") is not None
    options: list[str] = []
    tallies: list[int] = []
    for item in as_list(obj.get("anyOf") if multiple else obj.get("oneOf")):
        if len(options) >= MAX_POLL_OPTIONS:
            break
        if not isinstance(item, dict):
            continue
        name = strip_text(_text(item.get("name")))[:MAX_OPTION]
        if not name:
            continue
        replies = item.get("replies")
        total = replies.get("totalItems") if isinstance(replies, dict) else 0
        options.append(name)
        tallies.append(total if isinstance(total, int) and total >= 0 else 0)
    if not options:
        return None
    voters = obj.get("votersCount")
    return {
        "options": options,
        "tallies": tallies,
        "multiple": multiple,
        "expires_at": parse_time(obj.get("endTime")) or parse_time(obj.get("closed")),
        "voters_count": voters if isinstance(voters, int) and voters >= 0 else None,
    }


def parse_note(obj: dict[str, Any]) -> ParsedNote:
    """The status fields of a Note-like object; NoteRefused if it cannot be one."""
    object_type = first(obj.get("type"))
    if object_type not in NOTE_TYPES:
        raise NoteRefused(f"{object_type!r} is not a note")
    uri = obj.get("id")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")) or len(uri) > 2048:
        raise NoteRefused("the object has no usable id")
    author = link(obj.get("attributedTo"))
    if author is None or not same_origin(author, uri):
        raise NoteRefused("the object's author is not on its server")
    content, language = _content(obj)
    spoiler = (
        strip_text(_text(obj.get("summary")))[:MAX_SPOILER]
        if object_type
        in (
            "Note",
            "Question",
        )
        else ""
    )
    mentions: list[str] = []
    tags: list[str] = []
    emojis: list[dict[str, str]] = []
    for tag in as_list(obj.get("tag")):
        if not isinstance(tag, dict):
            continue
        kind = first(tag.get("type"))
        if kind == "Mention" and len(mentions) < MAX_MENTIONS:
            href = link(tag.get("href"))
            if href:
                mentions.append(href)
        elif kind == "Hashtag" and len(tags) < MAX_TAGS:
            name = _text(tag.get("name")).lstrip("#")
            if name and len(name) <= 100 and all(c.isalnum() or c in "_·" for c in name):
                tags.append(name)
        elif kind == "Emoji":
            match = SHORTCODE_RE.match(_text(tag.get("name")))
            icon = link(tag.get("icon"))
            if match and icon:
                emojis.append(
                    {"shortcode": match.group(1), "url": icon[:2048], "uri": _text(tag.get("id"))}
                )
    url = link(obj.get("url"))
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        url = None
    return ParsedNote(
        uri=uri,
        attributed_to=author,
        url=url,
        # Bounded before sanitizing, so the stored HTML is always well-formed.
        content=sanitize_html(content[:MAX_CONTENT]),
        spoiler_text=spoiler,
        sensitive=bool(obj.get("sensitive") is True),
        language=language,
        in_reply_to=link(obj.get("inReplyTo")),
        to=[u for u in (address_of(v) for v in as_list(obj.get("to"))) if u],
        cc=[u for u in (address_of(v) for v in as_list(obj.get("cc"))) if u],
        mention_uris=list(dict.fromkeys(mentions)),
        tags=list(dict.fromkeys(tags)),
        emojis=emojis[:MAX_TAGS],
        media=_media(obj),
        published=parse_time(obj.get("published")),
        updated=parse_time(obj.get("updated")),
        object_type=str(object_type),
        poll=_poll(obj),
    )


def address_of(value: Any) -> str | None:
    """An addressee's id: a bare IRI or an embedded object's `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def visibility_of(to: list[str], cc: list[str], followers_url: str | None) -> str:
    """Mastodon's reading of the audience: Public in `to` → public, in `cc` → unlisted,
    the author's followers → private, else direct."""
    if any(a in PUBLIC for a in to):
        return "public"
    if any(a in PUBLIC for a in cc):
        return "unlisted"
    if followers_url and followers_url in (*to, *cc):
        return "private"
    return "direct"


@dataclass
class Audience:
    """The accounts a note names: local and known remote mentions, local addressees."""

    mentioned: list[Row]
    local_addressed: list[Row]


async def audience(conn: Connection, note: ParsedNote, delivered_to: int | None) -> Audience:
    """Resolve the note's mentions and addressees to known accounts."""
    mentioned = await inbox_rows.accounts_by_uris(conn, note.mention_uris)
    addressed = await inbox_rows.accounts_by_uris(conn, [*note.to, *note.cc][:MAX_MENTIONS])
    local = [a for a in addressed if a["domain"] is None]
    if delivered_to is not None and all(a["id"] != delivered_to for a in local):
        # A delivery to a personal inbox addresses its owner (Mastodon's silent mention).
        owner = await account_rows.account_by_id(conn, delivered_to)
        if owner is not None:
            local.append(owner)
    return Audience(
        mentioned=[m for m in mentioned if m["suspended_at"] is None], local_addressed=local
    )


async def _emojis(conn: Connection, ids: IdGenerator, note: ParsedNote, domain: str) -> None:
    """Record the note's custom emoji for its domain."""
    now = now_ms()
    for emoji in note.emojis:
        await inbox_rows.upsert_remote_emoji(
            conn,
            {
                "id": ids.next_id(),
                "shortcode": emoji["shortcode"],
                "domain": domain,
                "uri": emoji["uri"] or None,
                "image_remote_url": emoji["url"],
                "now": now,
            },
        )


async def _refs(
    conn: Connection, ids: IdGenerator, status_id: int, note: ParsedNote, people: list[int]
) -> None:
    """Replace a status's mentions and hashtags."""
    now = now_ms()
    await status_rows.replace_mentions(conn, status_id, [(ids.next_id(), p) for p in people], now)
    await status_rows.replace_tags(conn, status_id, [(ids.next_id(), t) for t in note.tags], now)


def mentioned_ids(note_audience: Audience, visibility: str) -> list[int]:
    """The accounts a status mentions: those tagged, plus, for followers-only and direct
    posts, the local accounts it is addressed to (Mastodon's silent mentions, which give
    access but no notification)."""
    people = [a["id"] for a in note_audience.mentioned]
    if visibility in ("private", "direct"):
        people += [a["id"] for a in note_audience.local_addressed]
    return list(dict.fromkeys(people))


async def create_status(
    conn: Connection,
    rt: Runtime,
    note: ParsedNote,
    author: Row,
    note_audience: Audience,
) -> Row:
    """Insert a remote status with its mentions, tags, emoji and media; the status row."""
    now = now_ms()
    parent = await inbox_rows.status_by_uri(conn, note.in_reply_to) if note.in_reply_to else None
    visibility = visibility_of(note.to, note.cc, author["followers_url"])
    status_id = rt.ids.next_id()
    created = note.published if note.published and note.published <= now else now
    conversation_id = (parent["conversation_id"] or parent["id"]) if parent else status_id
    await status_rows.insert_status(
        conn,
        {
            "id": status_id,
            "uri": note.uri,
            "url": note.url or note.uri,
            "account_id": author["id"],
            "local": False,
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account_id"] if parent else None,
            "reblog_of_id": None,
            "text": "",
            "content": note.content,
            "spoiler_text": note.spoiler_text,
            "sensitive": note.sensitive or bool(note.spoiler_text),
            "visibility": visibility,
            "language": note.language,
            "application_id": None,
            "conversation_id": conversation_id,
            "created_at": created,
            "updated_at": now,
        },
    )
    people = mentioned_ids(note_audience, visibility)
    await _refs(conn, rt.ids, status_id, note, people)
    await _emojis(conn, rt.ids, note, author["domain"])
    for media in note.media:
        await media_cache.add_remote_attachment(
            conn, rt, account_id=author["id"], status_id=status_id, **media
        )
    if note.poll is not None:
        await poll_rows.insert_poll(
            conn,
            {
                "id": rt.ids.next_id(),
                "account_id": author["id"],
                "status_id": status_id,
                "options": note.poll["options"],
                "cached_tallies": note.poll["tallies"],
                "multiple": note.poll["multiple"],
                "hide_totals": False,
                "votes_count": sum(note.poll["tallies"]),
                "voters_count": note.poll["voters_count"],
                "expires_at": note.poll["expires_at"],
                "created_at": now,
            },
        )
    if visibility == "direct":
        participants = [(author["id"], False)]
        participants += [(a["id"], a["domain"] is None) for a in note_audience.mentioned]
        participants += [(a["id"], True) for a in note_audience.local_addressed]
        await conversations.record_direct(
            conn,
            rt,
            status_id=status_id,
            conversation_id=conversation_id,
            author_id=author["id"],
            participants=list(dict.fromkeys(participants)),
        )
    else:
        await status_rows.add_to_statuses_count(conn, author["id"], 1, now)
        if parent is not None and visibility in ("public", "unlisted"):
            await status_rows.add_to_count(conn, parent["id"], "replies_count", 1)
    row = await status_rows.status_by_id(conn, status_id)
    assert row is not None
    return row


async def apply_edit(
    conn: Connection, rt: Runtime, row: Row, note: ParsedNote, note_audience: Audience
) -> bool:
    """Apply a newer version of a remote status, keeping its history; whether it changed.

    As Mastodon, an edit applies only when `updated` is newer than the last edit.
    """
    now = now_ms()
    updated = note.updated
    if updated is None:
        return False
    last = row["edited_at"] or row["created_at"]
    if updated <= last:
        return False
    sensitive = note.sensitive or bool(note.spoiler_text)
    if not await status_rows.edits_of(conn, row["id"]):
        await status_rows.insert_edit(
            conn,
            {
                "id": rt.ids.next_id(),
                "status_id": row["id"],
                "account_id": row["account_id"],
                "text": row["text"],
                "content": row["content"],
                "spoiler_text": row["spoiler_text"],
                "sensitive": bool(row["sensitive"]),
                "created_at": row["created_at"],
            },
        )
    edited_at = min(updated, now)
    await status_rows.update_content(
        conn,
        row["id"],
        text="",
        content=note.content,
        spoiler_text=note.spoiler_text,
        sensitive=sensitive,
        language=note.language,
        now=edited_at,
    )
    await _refs(conn, rt.ids, row["id"], note, mentioned_ids(note_audience, row["visibility"]))
    await status_rows.insert_edit(
        conn,
        {
            "id": rt.ids.next_id(),
            "status_id": row["id"],
            "account_id": row["account_id"],
            "text": "",
            "content": note.content,
            "spoiler_text": note.spoiler_text,
            "sensitive": sensitive,
            "created_at": edited_at,
        },
    )
    return True


async def refresh_poll(conn: Connection, row: Row, note: ParsedNote, now: int) -> bool:
    """Take a remote Question's current tallies (and options, if they changed); whether
    the poll changed."""
    if note.poll is None or not row.get("poll_id"):
        return False
    poll = await poll_rows.poll_by_id(conn, row["poll_id"])
    if poll is None:
        return False
    fresh = note.poll
    if fresh["options"] != poll["options"] or fresh["multiple"] != bool(poll["multiple"]):
        await poll_rows.update_poll(
            conn,
            poll["id"],
            options=fresh["options"],
            multiple=fresh["multiple"],
            hide_totals=False,
            expires_at=fresh["expires_at"],
            reset_votes=True,
            now=now,
        )
    elif fresh["tallies"] == poll["cached_tallies"] and (
        fresh["voters_count"] == poll["voters_count"]
    ):
        return False
    await poll_rows.set_tallies(
        conn, poll["id"], fresh["tallies"], sum(fresh["tallies"]), fresh["voters_count"], now
    )
    return True


async def remove_status(conn: Connection, row: Row, now: int) -> None:
    """Delete a remote status (or boost) and undo what it counted; no outbox event, since
    remote actions are not ours to federate."""
    await fanout.record_removal(conn, row["id"])
    await status_rows.mark_deleted(conn, row["id"], now)
    if row["visibility"] != "direct":
        await status_rows.add_to_statuses_count(conn, row["account_id"], -1, None)
    if row["reblog_of_id"] is not None:
        await status_rows.add_to_count(conn, row["reblog_of_id"], "reblogs_count", -1)
        return
    if row["in_reply_to_id"] is not None and row["visibility"] in ("public", "unlisted"):
        await status_rows.add_to_count(conn, row["in_reply_to_id"], "replies_count", -1)
    if row["visibility"] == "direct":
        await conversations.forget_status(conn, row)
