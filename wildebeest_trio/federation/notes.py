"""Remote Notes and Questions read as statuses: sanitized, bounded, threaded and addressed.

`parse_note` reads an object (any JSON-LD compaction Mastodon and others send) into a
`ParsedNote` without touching the database; `new_status` and `revision` resolve the
accounts and the parent it names into the neutral drafts the status domain writes
(`services.statuses.create` and `revise`), as it writes a local status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .. import quote_policy
from ..drafts import NewStatus, PollState, QuoteDraft, Version
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
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
# Where a quoted post may be named, FEP-044f's first (Mastodon's order).
QUOTE_KEYS = ("quote", "_misskey_quote", "quoteUrl", "quoteUri")
MAX_POLICY_ADDRESSEES = 64


@dataclass(frozen=True)
class QuoteRef:
    """The post a note quotes, as it names it."""

    uri: str
    approval_uri: str | None  # its `quoteAuthorization` stamp
    legacy: bool  # named by an older property only (no FEP-044f `quote`)


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
    poll: PollState | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    quote: QuoteRef | None = None
    # `interactionPolicy.canQuote`: who may quote at once, and who may ask.
    can_quote: tuple[list[str], list[str]] = ([], [])


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


def poll_of(obj: dict[str, Any]) -> PollState | None:
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
    return PollState(
        options=options,
        tallies=tallies,
        multiple=multiple,
        expires_at=parse_time(obj.get("endTime")) or parse_time(obj.get("closed")),
        voters_count=voters if isinstance(voters, int) and voters >= 0 else None,
    )


def _quote(obj: dict[str, Any]) -> QuoteRef | None:
    """The post a note quotes: FEP-044f's `quote` (with its `quoteAuthorization`), else
    Misskey's `_misskey_quote` and `quoteUrl` or Fedibird's `quoteUri`, as Mastodon reads
    them."""
    for key in QUOTE_KEYS:
        uri = link(obj.get(key))
        if uri is not None and len(uri) <= 2048:
            approval = link(obj.get("quoteAuthorization"))
            return QuoteRef(
                uri=uri,
                approval_uri=approval if approval and len(approval) <= 2048 else None,
                legacy="quote" not in obj,
            )
    return None


def _can_quote(obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The addressees of `interactionPolicy.canQuote`'s automatic and manual approval."""
    policy = obj.get("interactionPolicy")
    can_quote = first(policy.get("canQuote")) if isinstance(policy, dict) else None
    if not isinstance(can_quote, dict):
        return [], []

    def addressees(value: Any) -> list[str]:
        found = [address_of(v) for v in as_list(value)[:MAX_POLICY_ADDRESSEES]]
        return [a for a in found if a]

    return addressees(can_quote.get("automaticApproval")), addressees(
        can_quote.get("manualApproval")
    )


def quote_policy_of(note: ParsedNote, author: RowView) -> int:
    """The stored policy `canQuote` describes (Mastodon's `quote_policy`): Public, the
    author's followers and following collections, the author alone; any other addressee
    makes it `unsupported_policy`. No policy: only the author may quote."""

    def flags(addressees: list[str]) -> int:
        found = 0
        for addressee in addressees:
            if addressee in PUBLIC:
                found |= quote_policy.PUBLIC
            elif addressee == author.get("followers_url"):
                found |= quote_policy.FOLLOWERS
            elif addressee == author.get("following_url"):
                found |= quote_policy.FOLLOWING
            elif addressee != author["uri"]:
                found |= quote_policy.UNSUPPORTED
        return found

    automatic, manual = note.can_quote
    return quote_policy.combine(flags(automatic), flags(manual))


@dataclass
class NoteTags:
    """What a note's `tag` array names: mentions (`href` and `name`), hashtags, emoji."""

    mentions: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    emojis: list[dict[str, str]] = field(default_factory=list)


def note_tags(obj: dict[str, Any]) -> NoteTags:
    """The mentions, hashtags and custom emoji a note tags (bounded)."""
    found = NoteTags()
    for tag in as_list(obj.get("tag")):
        if not isinstance(tag, dict):
            continue
        kind = first(tag.get("type"))
        if kind == "Mention" and len(found.mentions) < MAX_MENTIONS:
            href = link(tag.get("href"))
            if href:
                found.mentions.append((href, _text(tag.get("name"))[:512]))
        elif kind == "Hashtag" and len(found.tags) < MAX_TAGS:
            name = _text(tag.get("name")).lstrip("#")
            if name and len(name) <= 100 and all(c.isalnum() or c in "_·" for c in name):
                found.tags.append(name)
        elif kind == "Emoji":
            match = SHORTCODE_RE.match(_text(tag.get("name")))
            icon = link(tag.get("icon"))
            if match and icon:
                found.emojis.append(
                    {"shortcode": match.group(1), "url": icon[:2048], "uri": _text(tag.get("id"))}
                )
    return found


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
    tagged = note_tags(obj)
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
        mention_uris=list(dict.fromkeys(href for href, _ in tagged.mentions)),
        tags=list(dict.fromkeys(tagged.tags)),
        emojis=tagged.emojis[:MAX_TAGS],
        media=_media(obj),
        published=parse_time(obj.get("published")),
        updated=parse_time(obj.get("updated")),
        object_type=str(object_type),
        poll=poll_of(obj),
        quote=_quote(obj),
        can_quote=_can_quote(obj),
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

    mentioned: Sequence[RowView]
    local_addressed: Sequence[RowView]


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


def _version(note: ParsedNote, people: Audience, visibility: str, at: int | None) -> Version:
    """A version of a status as the note says it. It mentions those it tags; and for a
    followers-only or direct post, the local accounts it is addressed to without a tag
    (Mastodon's silent mentions, which give access but no notification)."""
    tagged = list(dict.fromkeys(a["id"] for a in people.mentioned))
    silent: list[int] = []
    if visibility in ("private", "direct"):
        silent = [a["id"] for a in people.local_addressed if a["id"] not in tagged]
    return Version(
        content=note.content,
        spoiler_text=note.spoiler_text,
        sensitive=note.sensitive,
        language=note.language,
        mentions=tagged,
        silent_mentions=list(dict.fromkeys(silent)),
        tags=note.tags,
        emojis=note.emojis,
        at=at,
    )


async def quote_draft(conn: Connection, note: ParsedNote, depth: int = 0) -> QuoteDraft | None:
    """The quote a note makes, the quoted post resolved when it is known here."""
    if note.quote is None:
        return None
    quoted = await inbox_rows.status_by_uri(conn, note.quote.uri)
    return QuoteDraft(
        quoted,
        note.quote.uri,
        approval_uri=note.quote.approval_uri,
        legacy=note.quote.legacy,
        depth=depth,
    )


async def new_status(
    conn: Connection, note: ParsedNote, author: RowView, people: Audience, *, depth: int = 0
) -> NewStatus:
    """The status a remote note makes: its audience, visibility, parent and quote resolved
    (`depth`: how many quotes deep it was fetched)."""
    parent = await inbox_rows.status_by_uri(conn, note.in_reply_to) if note.in_reply_to else None
    visibility = visibility_of(note.to, note.cc, author["followers_url"])
    return NewStatus(
        version=_version(note, people, visibility, note.published),
        visibility=visibility,
        parent=parent,
        uri=note.uri,
        url=note.url or note.uri,
        remote_media=note.media,
        poll=note.poll,
        quote=await quote_draft(conn, note, depth),
        quote_approval_policy=quote_policy_of(note, author),
    )


def revision(note: ParsedNote, row: RowView, people: Audience) -> Version | None:
    """The new version a remote Update brings to a status; None unless its `updated` is
    newer than the last edit (as Mastodon applies edits)."""
    if note.updated is None or note.updated <= (row["edited_at"] or row["created_at"]):
        return None
    return _version(note, people, row["visibility"], note.updated)
