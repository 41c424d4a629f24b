"""Create, Update and Delete of remote notes (and of actors: Update and Delete Person).

The handlers read and check the activity, then call the status and poll domains
(`services.statuses`, `services.polls`) as the API does for local ones; they write no
rows themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from ..federation.activities import allowed_inboxes
from ..federation.actors import ACTOR_TYPES, ensure_account, fetchable, refresh_actor
from ..federation.as2 import first, link
from ..federation.delivery import enqueue_deliveries
from ..federation.fetch import DocumentRefused, fetch_document, same_origin
from ..federation.notes import (
    NOTE_TYPES,
    NoteRefused,
    audience,
    parse_note,
    quote_draft,
    quote_policy_of,
    revision,
)
from ..ids import now_ms
from ..runtime import Runtime
from ..services import home_feed, interactions, media, polls, quotes, relays, statuses
from ..services.refusals import InvalidStatus
from ..services.remote_statuses import store_note
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import activitypub as ap_rows
from ..store import follows as follow_rows
from ..store import inbox as inbox_rows
from ..store import notifications as notification_rows
from ..store import polls as poll_rows
from ..store import statuses as status_rows
from . import Context

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
ACCOUNT_DELETE_BATCH = 200


async def object_document(ctx: Context, *, trust_embedded: bool = True) -> dict[str, Any]:
    """The activity's object as a document: embedded and from the actor's own server
    (already checked at the inbox), or fetched by id from its origin."""
    obj = first(ctx.activity.get("object"))
    if isinstance(obj, dict) and trust_embedded:
        object_id = obj.get("id")
        if isinstance(object_id, str) and same_origin(object_id, ctx.actor["uri"]):
            return obj
    object_id = link(obj)
    if object_id is None:
        raise DocumentRefused("the activity has no object")
    if not same_origin(object_id, ctx.actor["uri"]):
        raise DocumentRefused("the object is not on the actor's server")
    return await fetch_document(ctx.rt, object_id)


async def on_create(ctx: Context) -> None:
    """A remote Note or Question: stored, threaded, mentions notified, streamed."""
    obj = first(ctx.activity.get("object"))
    if isinstance(obj, dict) and first(obj.get("type")) not in NOTE_TYPES:
        return
    document = await object_document(ctx)
    note = parse_note(document)
    if note.attributed_to != ctx.actor["uri"]:
        return  # Mastodon refuses a Create for someone else's note
    name = document.get("name")
    if note.in_reply_to and isinstance(name, str) and name:
        if await _vote(ctx, note.in_reply_to, name):
            return
    # A post a relay we follow forwards is wanted though nobody here follows its author.
    relayed = await relays.is_relay(ctx.rt, ctx.signer)
    created = await store_note(ctx.rt, note, ctx.actor, ctx.delivered_to, check=not relayed)
    if created is not None:
        row, _ = created
        if note.in_reply_to and row["in_reply_to_id"] is None:
            await _resolve_parent(ctx.rt, row, note.in_reply_to)
        elif row["in_reply_to_id"] is not None:
            await _forward_reply(ctx, row)


async def _forward_reply(ctx: Context, reply: RowView) -> None:
    """A public reply to a local status reaches the local author's followers, as Mastodon
    forwards it: the body as received (its LD signature lets their servers trust it),
    signed over HTTP by the local author. Without an LD signature nobody could check it,
    so nothing is forwarded."""
    if reply["visibility"] not in ("public", "unlisted") or "signature" not in ctx.activity:
        return
    rt = ctx.rt
    sender = {ctx.actor["inbox_url"], ctx.actor["shared_inbox_url"]}

    async def unit(conn: Connection) -> int:
        parent = await status_rows.status_by_id(conn, reply["in_reply_to_id"])
        if parent is None or not parent["local"] or parent["deleted_at"] is not None:
            return 0
        author = await account_rows.account_by_id(conn, parent["account_id"])
        if author is None:
            return 0
        inboxes = [r["inbox"] for r in await ap_rows.follower_inboxes(conn, author["id"])]
        return await enqueue_deliveries(
            conn,
            rt.ids,
            key_id=f"{author['uri']}#main-key",
            activity=ctx.activity,
            inboxes=await allowed_inboxes(conn, [i for i in inboxes if i not in sender]),
        )

    await rt.store.write(unit)


async def _vote(ctx: Context, status_uri: str, choice_name: str) -> bool:
    """A Note named after an option of a local poll, in reply to it, is a vote (as
    Mastodon reads it); whether it was one (counted or refused)."""
    rt, voter = ctx.rt, ctx.actor

    async def unit(conn: Connection) -> bool:
        status = await inbox_rows.status_by_uri(conn, status_uri)
        poll_id = status["poll_id"] if status is not None and status["local"] else None
        if poll_id is None:
            return False
        poll = await poll_rows.poll_by_id(conn, poll_id, for_update=True)
        if poll is None:
            return False
        now = now_ms()
        if polls.is_expired(poll, now):
            return True  # too late: not a post either
        if choice_name not in poll["options"]:
            return False
        try:
            await polls.cast(conn, rt, poll, voter, [poll["options"].index(choice_name)], now)
        except InvalidStatus as exc:
            log.info("vote by %s in %s refused: %s", voter["uri"], status_uri, exc)
        return True

    return await rt.store.write(unit)


async def _resolve_parent(rt: Runtime, reply: RowView, parent_uri: str) -> None:
    """Fetch the unknown post a stored reply answers (one level, as a thread resolver
    would), store it, and thread the reply under it."""
    if parent_uri.startswith(rt.config.base_url + "/"):
        return  # a local post we do not have: deleted
    if await rt.store.read(inbox_rows.is_tombstoned, parent_uri):
        return
    if not await fetchable(rt, parent_uri):
        return
    try:
        parent_note = parse_note(await fetch_document(rt, parent_uri))
    except (DocumentRefused, NoteRefused) as exc:
        log.info("cannot resolve the parent %s: %s", parent_uri, exc)
        return
    if parent_note.uri != parent_uri:
        return
    author = await ensure_account(rt, parent_note.attributed_to)
    if author is None or author["domain"] is None or author["suspended_at"] is not None:
        return
    await store_note(rt, parent_note, author, None, check=False)

    async def unit(conn: Connection) -> None:
        parent = await inbox_rows.status_by_uri(conn, parent_uri)
        current = await status_rows.status_by_id(conn, reply["id"])
        if parent is not None and current is not None:
            await statuses.thread(conn, current, parent)

    await rt.store.write(unit)


async def on_update(ctx: Context) -> None:
    """An edited remote note (kept with its history), or a changed profile."""
    rt = ctx.rt
    obj = first(ctx.activity.get("object"))
    object_type = first(obj.get("type")) if isinstance(obj, dict) else None
    if object_type in ACTOR_TYPES or link(obj) == ctx.actor["uri"]:
        if link(obj) != ctx.actor["uri"]:
            return  # an actor may only update itself
        # The document we store is the one fetched from its origin, not the embedded one.
        await refresh_actor(rt, ctx.actor["uri"])
        return
    if object_type is not None and object_type not in NOTE_TYPES:
        return
    document = await object_document(ctx)
    note = parse_note(document)
    if note.attributed_to != ctx.actor["uri"]:
        return
    existing = await rt.store.read(inbox_rows.status_by_uri, note.uri)
    if existing is None:
        # Mastodon creates an unknown note from a recent Update.
        if note.published is not None and note.published > now_ms() - DAY_MS:
            await store_note(rt, note, ctx.actor, ctx.delivered_to, check=True)
        return
    if existing["account_id"] != ctx.actor["id"] or existing["reblog_of_id"] is not None:
        return

    async def unit(conn: Connection) -> None:
        row = await status_rows.status_by_id(conn, existing["id"])
        if row is None:
            return
        # An Update without a newer `updated` may still bring a Question's new tallies.
        if note.poll is not None:
            await polls.refresh(conn, row, note.poll, now_ms())
        version = revision(note, row, await audience(conn, note, ctx.delivered_to))
        if version is not None:
            await statuses.revise(conn, rt, row, version)
        # Who may quote it, and the stamp its own quote names, change without an edit.
        await quotes.note_changed(
            conn, rt, row, await quote_draft(conn, note), quote_policy_of(note, ctx.actor)
        )

    await rt.store.write(unit)


async def delete_status(rt: Runtime, row: RowView) -> None:
    """Remove one remote status (or boost) as its author asked."""

    async def unit(conn: Connection) -> None:
        current = await status_rows.status_by_id(conn, row["id"])
        if current is not None:
            await statuses.remove(conn, rt, current, now_ms())

    await rt.store.write(unit)


async def _delete_account(rt: Runtime, account: RowView) -> None:
    """A remote actor deleted itself: its statuses, favourites and follows go; it is
    marked suspended so nothing more is taken from it."""
    while True:
        batch = await rt.store.read(
            inbox_rows.live_statuses_of, account["id"], ACCOUNT_DELETE_BATCH
        )
        for status in batch:
            await delete_status(rt, status)
        if len(batch) < ACCOUNT_DELETE_BATCH:
            break

    async def unit(conn: Connection) -> None:
        now = now_ms()
        for favourite in await inbox_rows.favourites_of(conn, account["id"]):
            status = await status_rows.status_by_id(conn, favourite["status_id"])
            if status is not None:
                await interactions.unfavourite(conn, rt, account, status)
        # Follows both ways and requests end (recounted); so do the notifications it caused.
        ended = await follow_rows.delete_all_of(conn, account["id"])
        await home_feed.follows_ended(conn, ended)
        await notification_rows.delete_sent_by(conn, account["id"])
        await account_rows.set_account_flag(conn, account["id"], "suspended_at", now, now)
        await media.account_removed(conn, rt, account["id"])

    await rt.store.write(unit)


async def on_delete(ctx: Context) -> None:
    """A deleted remote note (a tombstone keeps it from coming back), or actor."""
    rt = ctx.rt
    object_id = link(ctx.activity.get("object"))
    if object_id is None:
        return
    if object_id == ctx.actor["uri"]:
        await _delete_account(rt, ctx.actor)
        return
    if not same_origin(object_id, ctx.actor["uri"]):
        return
    row = await rt.store.read(inbox_rows.status_by_uri, object_id)
    if row is None:
        # Deleted before it reached us: remembered, so it is never taken later.
        await rt.store.write(statuses.remember_deleted, object_id, ctx.actor["id"])
        return
    if row["local"]:
        return
    if row["account_id"] != ctx.actor["id"]:
        return
    await delete_status(rt, row)
