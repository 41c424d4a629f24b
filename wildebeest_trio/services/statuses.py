"""Statuses: the one path that writes them, local or remote, and what clients read of them.

A status is written by `create` (a new one), `revise` (an edit) and `remove` (a
deletion), whoever wrote it: the API (which the web client uses) and scheduled publishing
call them through `post`, `edit` and `delete`; the inbox handlers call them with what a
remote Note says (the neutral `NewStatus` and `Version`, which `federation.notes` makes
of it). Each runs inside its caller's unit of work, so the status, its counters,
mentions, conversations, notifications, stream events, its place in home feeds and (for
a local status) its outbox event commit together. The API functions return a
`StatusBundle` loaded in the same unit, so what a client just wrote is what it reads
back. Favourites, boosts, bookmarks, pins and conversation mutes are written by
`interactions`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import quote_policy
from ..drafts import NewStatus, QuoteDraft, Version
from ..federation import lookup
from ..formatting import URL_RE, MentionTarget, plain_mentions, render_text
from ..ids import now_ms, parse_id
from ..runtime import Runtime
from ..store import Connection, RowView, outbox
from ..store import accounts as account_rows
from ..store import custom_emojis as emoji_rows
from ..store import inbox as inbox_rows
from ..store import media as media_rows
from ..store import notifications as notification_rows
from ..store import quotes as quote_rows
from ..store import scheduled as scheduled_rows
from ..store import statuses as status_rows
from ..store import users as user_rows
from ..store.effects import WebhookEvent
from ..store.entities import EntityCache
from ..store.paging import Page
from ..store.rows import AccountPageRow, AccountRow, StatusRow
from ..store.statuses import StatusBundle, StatusKeyRow, ThreadKeyRow
from ..urls import status_uri, status_url
from . import (
    conversations,
    fanout,
    home_feed,
    interactions,
    media,
    media_cache,
    notifications,
    polls,
    preview_cards,
    quotes,
)
from .refusals import InvalidStatus, NotAllowed, StatusNotFound

MAX_CHARACTERS = 500
CHARACTERS_PER_URL = 23
VISIBILITIES = ("public", "unlisted", "private", "direct")
# Visibilities that reach public places (Mastodon's `distributable?`).
DISTRIBUTABLE = ("public", "unlisted")
IDEMPOTENCY_MS = 3600 * 1000
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
REMOTE_MENTION_RE = re.compile(
    r"(?<![\w/@.])(@[a-z0-9_]+(?:[a-z0-9_.-]*[a-z0-9_])?)@[a-z0-9.-]+", re.I
)


class _KeyTaken(Exception):
    """Another request committed a status under the same Idempotency-Key meanwhile."""


def count_characters(text: str) -> int:
    """Length as Mastodon counts it: each URL 23 characters, remote mentions without the
    domain."""
    counted = URL_RE.sub("x" * CHARACTERS_PER_URL, text)
    counted = REMOTE_MENTION_RE.sub(lambda m: m.group(1), counted)
    return len(counted)


@dataclass
class Draft:
    """What a client asks to post or to change a status into."""

    text: str
    spoiler_text: str = ""
    sensitive: bool | None = None
    visibility: str | None = None
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: list[str] = field(default_factory=list)
    poll: polls.PollDraft | None = None
    scheduled_at: str | None = None
    quoted_status_id: int | None = None
    # Who may quote it (`quote_policy`); None: the author's default (or, editing, as it is).
    quote_approval_policy: int | None = None


MAX_MEDIA = 4


def parse_media_ids(values: list[str]) -> list[int]:
    """A draft's `media_ids`, each once, in order; InvalidStatus for one that is no id."""
    ids = [parse_id(value) for value in values]
    if None in ids:
        raise InvalidStatus("Validation failed: Media attachment not found")
    return list(dict.fromkeys(i for i in ids if i is not None))


async def _attach_media(conn: Connection, account_id: int, status_id: int, ids: list[int]) -> None:
    """Give the author's finished, unattached uploads to a new status (Mastodon's checks)."""
    for attachment_id in ids:
        row = await media_rows.attachment(conn, attachment_id)
        if row is None or row["account_id"] != account_id or row["status_id"] is not None:
            raise InvalidStatus("Validation failed: Media attachment not found")
        if row["processing"] != "complete":
            raise InvalidStatus(
                "Cannot attach files that have not finished processing. Try again in a moment!"
            )
    await media_rows.attach(conn, ids, status_id)


def validate(draft: Draft, *, editing: bool = False) -> None:
    """Refuse what Mastodon refuses, with its messages."""
    if len(draft.media_ids) > MAX_MEDIA:
        raise InvalidStatus(f"Validation failed: Cannot attach more than {MAX_MEDIA} files")
    if draft.poll is not None:
        if draft.media_ids:
            raise InvalidStatus("Validation failed: A post cannot have both media and a poll")
        polls.validate(draft.poll)
    if not draft.text.strip() and not draft.media_ids:
        raise InvalidStatus("Validation failed: Text can't be blank")
    if count_characters(draft.text) + len(draft.spoiler_text) > MAX_CHARACTERS:
        raise InvalidStatus(f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded")
    if not editing and draft.visibility is not None and draft.visibility not in VISIBILITIES:
        raise InvalidStatus("Validation failed: Visibility is not included in the list")
    if (
        draft.language is not None
        and draft.language != ""
        and not LANGUAGE_RE.match(draft.language)
    ):
        raise InvalidStatus("Validation failed: Language is not a valid language code")


async def _preferences(conn: Connection, account_id: int) -> dict[str, Any]:
    user = await user_rows.user_by_account(conn, account_id)
    settings = json.loads(user["settings"] or "{}") if user else {}
    prefs: dict[str, Any] = settings.get("preferences", {})
    return prefs


async def _render(
    conn: Connection, rt: Runtime, text: str
) -> tuple[str, list[MentionTarget], list[str]]:
    """HTML, mentioned accounts (known ones only) and hashtags of a text."""
    domain = rt.config.domain
    pairs = [(u, None if d is None or d.lower() == domain else d) for u, d in plain_mentions(text)]
    targets: dict[tuple[str, str | None], MentionTarget] = {}
    for row in await account_rows.accounts_by_acct(conn, pairs):
        key = (row["username"].lower(), row["domain"].lower() if row["domain"] else None)
        targets[key] = MentionTarget(
            row["username"], row["domain"], row["url"] or row["uri"], row["id"]
        )

    def resolve(username: str, found_domain: str | None) -> MentionTarget | None:
        if found_domain is not None and found_domain.lower() == domain:
            found_domain = None
        return targets.get((username.lower(), found_domain.lower() if found_domain else None))

    rendered = render_text(
        text,
        resolve_mention=resolve,
        tag_url=lambda t: f"{rt.config.base_url}/tags/{t.lower()}",
    )
    return rendered.html, rendered.mentions, rendered.tags


def _quote_inline(content: str, text: str, quoted: RowView | None) -> str:
    """Content that links the quoted post, for readers whose app shows no quotes: unless the
    text links it already, Mastodon's `<p class="quote-inline">RE: <a ...>` goes first (its
    web client hides that paragraph)."""
    if quoted is None:
        return content
    link = quoted["url"] or quoted["uri"]
    if link in text or quoted["uri"] in text:
        return content
    rendered = render_text(f"RE: {link}", resolve_mention=lambda u, d: None, tag_url=str)
    return rendered.html.replace("<p>", '<p class="quote-inline">', 1) + content


async def _written(
    conn: Connection, rt: Runtime, draft: Draft, quoted: RowView | None = None, **fields: Any
) -> Version:
    """The version a client's text makes, rendered (linking the post it quotes), with the
    other `fields`."""
    content, mentions, tags = await _render(conn, rt, draft.text)
    content = _quote_inline(content, draft.text, quoted)
    return Version(
        text=draft.text,
        content=content,
        spoiler_text=draft.spoiler_text,
        mentions=[m.account_id for m in mentions],
        tags=tags,
        **fields,
    )


async def _write_refs(
    conn: Connection, rt: Runtime, status_id: int, author: RowView, version: Version
) -> None:
    """Replace a status's mentions and hashtags; record a remote server's emoji it uses."""
    now = now_ms()
    people = list(dict.fromkeys([*version.mentions, *version.silent_mentions]))
    await status_rows.replace_mentions(
        conn, status_id, [(rt.ids.next_id(), p) for p in people], now
    )
    await status_rows.replace_tags(
        conn, status_id, [(rt.ids.next_id(), t) for t in version.tags], now
    )
    if author["domain"] is None:
        return  # local custom emoji are the instance's own
    for emoji in version.emojis:
        await emoji_rows.upsert_remote(
            conn,
            {
                "id": rt.ids.next_id(),
                "shortcode": emoji["shortcode"],
                "domain": author["domain"],
                "uri": emoji["uri"] or None,
                "image_remote_url": emoji["url"],
                "now": now,
            },
        )


async def _one(conn: Connection, status_id: int, viewer_id: int | None) -> StatusBundle:
    row = await status_rows.status_by_id(conn, status_id)
    assert row is not None
    return await status_rows.hydrate(conn, [row], viewer_id)


# Posting -------------------------------------------------------------------------------------


async def create(
    conn: Connection, rt: Runtime, author: RowView, new: NewStatus
) -> StatusRow | None:
    """Write a new status, local or remote, inside the caller's unit: the row, its
    mentions, hashtags, emoji, attachments and poll, the conversation of a direct one,
    the counters, the notifications, the live fan-out, the job fetching its link's preview
    card, and a local one's outbox event.
    The status row; None for a remote one already taken or deleted here (a remote id is
    taken once, and a deleted one never comes back)."""
    now = now_ms()
    local = author["domain"] is None
    version = new.version
    if new.uri is not None and (
        await inbox_rows.any_status_by_uri(conn, new.uri) is not None
        or await inbox_rows.is_tombstoned(conn, new.uri)
    ):
        return None
    parent = new.parent
    # An imported old post takes its place in the author's history by its date.
    status_id = rt.ids.next_id(version.at if new.history else None)
    conversation_id = (parent["conversation_id"] or parent["id"]) if parent else status_id
    uri = new.uri or status_uri(rt.config, author["username"], status_id)
    await status_rows.insert_status(
        conn,
        {
            "id": status_id,
            "uri": uri,
            "url": new.url
            or (status_url(rt.config, author["username"], status_id) if local else uri),
            "account_id": author["id"],
            "local": local,
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account_id"] if parent else None,
            "reblog_of_id": None,
            "text": version.text,
            "content": version.content,
            "spoiler_text": version.spoiler_text,
            "sensitive": version.sensitive or bool(version.spoiler_text),
            "visibility": new.visibility,
            "language": version.language,
            "application_id": new.application_id,
            "conversation_id": conversation_id,
            # A remote server's date, unless it is in the future.
            "created_at": now if version.at is None else min(version.at, now),
            "updated_at": now,
            "quote_approval_policy": new.quote_approval_policy,
        },
    )
    await _write_refs(conn, rt, status_id, author, version)
    if new.uploads:
        await _attach_media(conn, author["id"], status_id, new.uploads)
    for attachment in new.remote_media:
        await media_cache.add_remote_attachment(
            conn, rt, account_id=author["id"], status_id=status_id, **attachment
        )
    if new.poll is not None:
        await polls.create(
            conn,
            rt,
            status_id=status_id,
            account_id=author["id"],
            poll=new.poll,
            # An archived poll is closed: no end to wait for, no one to tell.
            local=local and not new.history,
            now=now,
        )
    if new.visibility == "direct":
        here = set(await notification_rows.mentioned_local(conn, status_id))
        people = dict.fromkeys([*version.mentions, *version.silent_mentions])
        await conversations.record_direct(
            conn,
            rt,
            status_id=status_id,
            conversation_id=conversation_id,
            author_id=author["id"],
            participants=[(author["id"], local)] + [(p, p in here) for p in people],
        )
    # Mastodon's counter caches: direct statuses count nowhere; only public and
    # unlisted replies count as replies.
    if new.visibility != "direct":
        await account_rows.add_to_statuses_count(conn, author["id"], 1, now)
        if parent is not None and new.visibility in DISTRIBUTABLE:
            await status_rows.add_to_count(conn, parent["id"], "replies_count", 1)
    if local and not new.history:
        await outbox.record(
            conn, rt.ids, "status.created", author["id"], status_id, {"visibility": new.visibility}
        )
    row = await status_rows.status_by_id(conn, status_id)
    assert row is not None
    if new.history:
        return row
    if new.quote is not None:
        await quotes.attach(conn, rt, row, author, new.quote)
    await home_feed.status_added(conn, row)
    await notifications.status_posted(conn, notifications.Notifier(rt), row, version.mentions)
    await preview_cards.queue(conn, rt, row, has_media=bool(new.uploads or new.remote_media))
    conn.effects.add(fanout.StatusPublished(status_id))
    if local:
        conn.effects.add(WebhookEvent("status.created", status_id))
    return row


async def post(
    rt: Runtime,
    account_id: int,
    draft: Draft,
    *,
    application_id: int | None = None,
    idempotency_key: str | None = None,
    scheduled_status_id: int | None = None,
) -> StatusBundle:
    """Post a client's status (or return the one an Idempotency-Key already created); when
    publishing a scheduled status, its row goes in the same unit (StatusNotFound if it
    already went)."""
    validate(draft)

    async def unit(conn: Connection) -> StatusBundle:
        now = now_ms()
        if scheduled_status_id is not None:
            if not await scheduled_rows.delete(conn, scheduled_status_id):
                raise StatusNotFound("The scheduled post was already published or deleted")
        if idempotency_key:
            done = await status_rows.idempotent_status_id(
                conn, account_id, idempotency_key, now - IDEMPOTENCY_MS
            )
            if done is not None and await status_rows.status_by_id(conn, done) is not None:
                return await _one(conn, done, account_id)
        author = await account_rows.account_by_id(conn, account_id)
        assert author is not None
        parent: StatusRow | None = None
        if draft.in_reply_to_id is not None:
            parent = await status_rows.visible_status(conn, draft.in_reply_to_id, account_id)
            if parent is None or parent["reblog_of_id"] is not None:
                raise StatusNotFound(
                    "The post you are trying to reply to does not appear to exist."
                )
        prefs = await _preferences(conn, account_id)
        sensitive = draft.sensitive
        if sensitive is None:
            sensitive = bool(prefs.get("sensitive", False))
        visibility = draft.visibility or prefs.get("privacy") or "public"
        quoted: StatusRow | None = None
        if draft.quoted_status_id is not None:
            quoted = await quotes.quotable(conn, draft.quoted_status_id, author)
            visibility = quotes.visibility_of_quote(quoted, visibility)
        version = await _written(
            conn,
            rt,
            draft,
            quoted,
            sensitive=sensitive,
            language=draft.language or prefs.get("language") or None,
        )
        if quoted is not None:
            quotes.check_direct(quoted, account_id, visibility, version.mentions)
        policy = draft.quote_approval_policy
        if policy is None:
            policy = quote_policy.API_VALUES.get(
                prefs.get("quote_policy") or "public", quote_policy.API_VALUES["public"]
            )
        new = NewStatus(
            version=version,
            visibility=visibility,
            parent=parent,
            application_id=application_id,
            uploads=parse_media_ids(draft.media_ids),
            poll=None if draft.poll is None else polls.state_of(draft.poll, now),
            quote=None if quoted is None else QuoteDraft(quoted, quoted["uri"]),
            quote_approval_policy=quote_policy.for_visibility(policy, visibility),
        )
        row = await create(conn, rt, author, new)
        assert row is not None
        if idempotency_key and not await status_rows.remember_idempotency_key(
            conn, account_id, idempotency_key, row["id"], now, now - IDEMPOTENCY_MS
        ):
            raise _KeyTaken()  # roll this status back; the winner's is the answer
        return await _one(conn, row["id"], account_id)

    try:
        return await rt.store.write(unit)
    except _KeyTaken:
        # A concurrent request with the same key committed first: answer with its status.
        return await rt.store.write(unit)


# Reading ---------------------------------------------------------------------------------------


async def show(rt: Runtime, status_id: int, viewer_id: int | None) -> StatusBundle:
    """One status the viewer may see."""
    return await rt.store.read(show_in, rt.entities, status_id, viewer_id)


async def show_in(
    conn: Connection, entities: EntityCache, status_id: int, viewer_id: int | None
) -> StatusBundle:
    """`show`'s read, for a unit that reads more beside it (a web page's)."""
    row = await _visible(conn, status_id, viewer_id)
    return await status_rows.hydrate(conn, [row], viewer_id, entities)


async def _visible(conn: Connection, status_id: int, viewer_id: int | None) -> StatusRow:
    """The status if the viewer may see it; StatusNotFound otherwise."""
    row = await status_rows.visible_status(conn, status_id, viewer_id)
    if row is None:
        raise StatusNotFound()
    return row


async def embeddable(rt: Runtime, url: str) -> StatusBundle:
    """The local public or unlisted status a URL of this server names, as anyone sees it
    (what `GET /api/oembed` embeds); StatusNotFound otherwise."""
    found = await lookup.local_resource(rt, url) if len(url) <= 2000 else None
    if not isinstance(found, lookup.FoundStatus):
        raise StatusNotFound()
    bundle = await show(rt, found.status_id, None)
    row = bundle.statuses[bundle.order[0]]
    if not row["local"] or row["reblog_of_id"] is not None:
        raise StatusNotFound()
    return bundle


async def show_many(rt: Runtime, status_ids: list[int], viewer_id: int | None) -> StatusBundle:
    """Several statuses in the order asked, the missing and hidden ones left out."""

    async def unit(conn: Connection) -> StatusBundle:
        found = {
            r["id"]: r for r in await status_rows.visible_statuses(conn, status_ids, viewer_id)
        }
        return await status_rows.hydrate(
            conn,
            [found[i] for i in dict.fromkeys(status_ids) if i in found],
            viewer_id,
            rt.entities,
        )

    return await rt.store.read(unit)


@dataclass
class Context:
    """A status's thread as the viewer may see it."""

    ancestors: StatusBundle
    descendants: StatusBundle


def depth_first(root_id: int, rows: Sequence[ThreadKeyRow]) -> list[ThreadKeyRow]:
    """Replies in thread order: each reply followed by its own replies, oldest first."""
    children: dict[int | None, list[ThreadKeyRow]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        children.setdefault(row["in_reply_to_id"], []).append(row)
    ordered: list[ThreadKeyRow] = []
    stack = list(reversed(children.get(root_id, [])))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children.get(row["id"], [])))
    return ordered


async def context(rt: Runtime, status_id: int, viewer_id: int | None) -> Context:
    """The thread around a status: ancestors oldest first, descendants in thread order,
    both limited to what the viewer may see."""
    return await rt.store.read(context_in, rt.entities, status_id, viewer_id)


async def context_in(
    conn: Connection, entities: EntityCache, status_id: int, viewer_id: int | None
) -> Context:
    """`context`'s read, for a unit that reads more beside it."""
    _, up, down = await _thread_keys(conn, status_id, viewer_id)
    bundle = await status_rows.hydrate(conn, [*up, *down], viewer_id, entities)
    return Context(_part(bundle, up), _part(bundle, down))


async def page_in(
    conn: Connection, entities: EntityCache, status_id: int, viewer_id: int | None
) -> tuple[StatusBundle, Context]:
    """`show_in` and `context_in` together (a status page's read): the keys of the status
    and of its thread in one statement, then one hydration of them all (from the entity
    cache, for kept posts)."""
    main, up, down = await _thread_keys(conn, status_id, viewer_id)
    bundle = await status_rows.hydrate(conn, [*main, *up, *down], viewer_id, entities)
    if status_id not in bundle.statuses:
        raise StatusNotFound()  # deleted since the statement (PostgreSQL reads afresh)
    return _part(bundle, main), Context(_part(bundle, up), _part(bundle, down))


async def _thread_keys(
    conn: Connection, status_id: int, viewer_id: int | None
) -> tuple[list[StatusKeyRow], list[StatusKeyRow], list[StatusKeyRow]]:
    """The keys of a status the viewer may see (StatusNotFound otherwise) and of the thread
    around it they may see: ancestors oldest first (up to the first deleted one: the
    thread is broken there, as after Mastodon's hard delete), descendants in thread order
    (below deleted and unseen ones too)."""
    rows = await status_rows.thread_keys(conn, status_id, viewer_id)
    main = [r for r in rows if r["wb_depth"] == 0 and r["wb_visible"]]
    if not main:
        raise StatusNotFound()
    up: list[ThreadKeyRow] = []
    for ancestor in sorted((r for r in rows if r["wb_depth"] > 0), key=lambda r: r["wb_depth"]):
        if ancestor["wb_deleted"]:
            break
        up.append(ancestor)
    down = depth_first(status_id, [r for r in rows if r["wb_depth"] < 0])
    hidden: set[int] = set()
    if viewer_id is not None:
        hidden = await status_rows.hidden_account_ids(conn, viewer_id, now_ms())

    def keys(rows: list[ThreadKeyRow], hidden: set[int]) -> list[StatusKeyRow]:
        # A ThreadKeyRow is a StatusKeyRow with where it hangs: `hydrate` takes it as it is.
        return [r for r in rows if r["wb_visible"] and r["account_id"] not in hidden]

    # The status itself shows whoever wrote it (a muted author's, by its link).
    return keys(main, set()), keys(up[::-1], hidden), keys(down, hidden)


def _part(bundle: StatusBundle, rows: list[StatusKeyRow]) -> StatusBundle:
    """The bundle showing only `rows` (those it kept), in their order; the rest of it is
    shared (what an entity reads of it is found by the status's id)."""
    # A shallow copy: `dataclasses.replace` runs `__init__` and its defaults (5x the CPU).
    part = copy.copy(bundle)
    part.order = [r["id"] for r in rows if r["id"] in bundle.statuses]
    return part


async def _own(conn: Connection, status_id: int, account_id: int) -> StatusRow:
    """A status the caller wrote: 404 if unseen, 403 if someone else's."""
    row = await status_rows.visible_status(conn, status_id, account_id)
    if row is None:
        raise StatusNotFound()
    if row["account_id"] != account_id:
        raise NotAllowed()
    return row


async def source(rt: Runtime, status_id: int, account_id: int) -> StatusRow:
    """The text a status was written from (its author only)."""

    async def unit(conn: Connection) -> StatusRow:
        return await _own(conn, status_id, account_id)

    return await rt.store.read(unit)


async def history(
    rt: Runtime, status_id: int, viewer_id: int | None
) -> tuple[Sequence[RowView], AccountRow]:
    """A status's versions oldest first (just the current one if never edited), and its
    author."""

    async def unit(conn: Connection) -> tuple[Sequence[RowView], AccountRow]:
        row = await status_rows.visible_status(conn, status_id, viewer_id)
        if row is None:
            raise StatusNotFound()
        author = await account_rows.account_by_id(conn, row["account_id"])
        assert author is not None
        edits = await status_rows.edits_of(conn, status_id)
        return (edits or [row]), author

    return await rt.store.read(unit)


# Changing and deleting ---------------------------------------------------------------------------


async def revise(conn: Connection, rt: Runtime, row: RowView, version: Version) -> None:
    """Make `version` the current text of a status, local or remote, inside the caller's
    unit, keeping its history (the first edit keeps the original as version one). Those
    who boosted it hear of it (`update`), accounts it tags for the first time are told of
    the mention, those who see it live get it again, and a local one's Update federates."""
    now = now_ms()
    edited_at = now if version.at is None else min(version.at, now)
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
    sensitive = version.sensitive or bool(version.spoiler_text)
    mentioned_before = set(await notification_rows.mentioned_local(conn, row["id"]))
    await status_rows.update_content(
        conn,
        row["id"],
        text=version.text,
        content=version.content,
        spoiler_text=version.spoiler_text,
        sensitive=sensitive,
        language=version.language,
        now=edited_at,
    )
    author = await account_rows.account_by_id(conn, row["account_id"])
    assert author is not None
    await _write_refs(conn, rt, row["id"], author, version)
    await status_rows.insert_edit(
        conn,
        {
            "id": rt.ids.next_id(),
            "status_id": row["id"],
            "account_id": row["account_id"],
            "text": version.text,
            "content": version.content,
            "spoiler_text": version.spoiler_text,
            "sensitive": sensitive,
            "created_at": edited_at,
        },
    )
    if row["local"]:
        await outbox.record(conn, rt.ids, "status.updated", row["account_id"], row["id"])
        conn.effects.add(WebhookEvent("status.updated", row["id"]))
    edited = await status_rows.status_by_id(conn, row["id"])
    assert edited is not None
    newly = [m for m in version.mentions if m not in mentioned_before]
    await home_feed.status_changed(conn, edited)  # whom it mentions or what it is tagged
    await notifications.status_edited(conn, notifications.Notifier(rt), edited, newly)
    await preview_cards.queue(conn, rt, edited, previous=row)
    conn.effects.add(fanout.StatusPublished(row["id"], "status.update"))


async def edit(rt: Runtime, account_id: int, status_id: int, draft: Draft) -> StatusBundle:
    """Change the text, warning, sensitivity, language or poll of one of the caller's
    statuses (nothing happens when nothing changes)."""
    validate(draft, editing=True)

    async def unit(conn: Connection) -> StatusBundle:
        row = await _own(conn, status_id, account_id)
        if row["reblog_of_id"] is not None:
            raise NotAllowed()
        sensitive = row["sensitive"] if draft.sensitive is None else draft.sensitive
        sensitive = bool(sensitive) or bool(draft.spoiler_text)
        language = row["language"] if draft.language is None else (draft.language or None)
        poll_changed = await polls.apply_edit(conn, rt, row, draft.poll, now_ms())
        unchanged = (
            draft.text == row["text"]
            and draft.spoiler_text == row["spoiler_text"]
            and sensitive == bool(row["sensitive"])
            and language == row["language"]
            and not poll_changed
        )
        if draft.quote_approval_policy is not None:
            await _set_quote_policy(conn, rt, row, draft.quote_approval_policy, announce=unchanged)
        if not unchanged:
            quoted = await _quoted_by(conn, status_id)
            version = await _written(
                conn, rt, draft, quoted, sensitive=sensitive, language=language
            )
            await revise(conn, rt, row, version)
        return await _one(conn, status_id, account_id)

    return await rt.store.write(unit)


async def _quoted_by(conn: Connection, status_id: int) -> StatusRow | None:
    """The live post a status quotes, if it quotes one."""
    quote = await quote_rows.of_status(conn, status_id)
    if quote is None or quote["quoted_status_id"] is None:
        return None
    return await status_rows.status_by_id(conn, quote["quoted_status_id"])


async def _set_quote_policy(
    conn: Connection, rt: Runtime, row: RowView, policy: int, *, announce: bool
) -> None:
    """Change who may quote a local status (nobody else, unless it reaches public places);
    with `announce`, its Update federates and streams (an edit does so itself)."""
    policy = quote_policy.for_visibility(policy, row["visibility"])
    if policy == int(row["quote_approval_policy"] or 0):
        return
    await status_rows.set_quote_policy(conn, row["id"], policy, now_ms())
    if announce:
        await outbox.record(conn, rt.ids, "status.updated", row["account_id"], row["id"])
        conn.effects.add(fanout.StatusPublished(row["id"], "status.update"))
        conn.effects.add(WebhookEvent("status.updated", row["id"]))


async def set_quote_policy(
    rt: Runtime, account_id: int, status_id: int, policy: int
) -> StatusBundle:
    """`PUT /api/v1/statuses/:id/interaction_policy`: who may quote one of the caller's
    statuses from now on (quotes approved before stay)."""

    async def unit(conn: Connection) -> StatusBundle:
        row = await _own(conn, status_id, account_id)
        if row["reblog_of_id"] is not None:
            raise NotAllowed()
        await _set_quote_policy(conn, rt, row, policy, announce=True)
        return await _one(conn, status_id, account_id)

    return await rt.store.write(unit)


async def remove(
    conn: Connection, rt: Runtime, row: RowView, now: int, *, delete_media: bool = False
) -> None:
    """Delete a live status, local or remote, inside the caller's unit, with what hangs on
    it: its boosts, the counts it made, the notifications about it (Mastodon destroys
    them with it), its place in conversations, a `delete` for those who saw it live, and
    its attachments (kept a day for a redraft unless `delete_media`, see
    `media.statuses_deleted`). A local one's Delete federates; a remote one leaves a
    tombstone, so it is never taken again."""
    if row["reblog_of_id"] is not None:
        await interactions.unboost(conn, rt, row, now)
    else:
        await interactions.remove_boosts_of(conn, rt, row, now)
        await fanout.record_removal(conn, row["id"])
        await status_rows.mark_deleted(conn, row["id"], now)
        await home_feed.status_removed(conn, row)
        if row["visibility"] != "direct":
            await account_rows.add_to_statuses_count(conn, row["account_id"], -1, None)
        if row["in_reply_to_id"] is not None and row["visibility"] in DISTRIBUTABLE:
            await status_rows.add_to_count(conn, row["in_reply_to_id"], "replies_count", -1)
        if row["visibility"] == "direct":
            await conversations.forget_status(conn, row)
        await quotes.status_removed(conn, row)
        await notifications.status_removed(conn, row["id"])
        if row["local"]:
            await outbox.record(
                conn,
                rt.ids,
                "status.deleted",
                row["account_id"],
                row["id"],
                {"uri": row["uri"], "visibility": row["visibility"]},
            )
    if not row["local"]:
        await inbox_rows.add_tombstone(conn, row["uri"], row["account_id"], now)
    await media.statuses_deleted(conn, rt, [row["id"]], delete_media=delete_media)


async def delete(
    rt: Runtime, account_id: int, status_id: int, *, delete_media: bool = False
) -> StatusBundle:
    """Delete one of the caller's statuses; the status as it was, for redrafting."""

    async def unit(conn: Connection) -> StatusBundle:
        row = await _own(conn, status_id, account_id)
        bundle = await status_rows.hydrate(conn, [row], account_id)
        await remove(conn, rt, row, now_ms(), delete_media=delete_media)
        return bundle

    return await rt.store.write(unit)


async def remember_deleted(conn: Connection, uri: str, account_id: int) -> None:
    """A remote status deleted before it was taken here: its id is never taken later."""
    await inbox_rows.add_tombstone(conn, uri, account_id, now_ms())


async def thread(conn: Connection, reply: StatusRow, parent: StatusRow) -> None:
    """Put a stored reply under its parent, which arrived after it (inside the caller's
    unit), counted as `create` would have."""
    if parent["reblog_of_id"] is not None:
        return
    if await status_rows.link_reply(conn, reply, parent):
        await home_feed.status_changed(conn, reply)  # now a reply to someone
        if reply["visibility"] in DISTRIBUTABLE:
            await status_rows.add_to_count(conn, parent["id"], "replies_count", 1)


# Who interacted -----------------------------------------------------------------------------------


async def interacting_accounts(
    rt: Runtime, status_id: int, viewer_id: int | None, kind: str, page: Page
) -> list[AccountPageRow]:
    """Accounts that favourited (`kind="favourites"`) or boosted a status the viewer sees
    (boosts the viewer may see, only)."""

    async def unit(conn: Connection) -> list[AccountPageRow]:
        row = await status_rows.visible_status(conn, status_id, viewer_id)
        if row is None:
            raise StatusNotFound()
        if kind == "favourites":
            return await status_rows.favourited_by_page(conn, status_id, page)
        return await status_rows.reblogged_by_page(conn, status_id, viewer_id, page)

    return await rt.store.read(unit)
