"""Like and Announce of statuses by remote actors."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from ..federation.actors import fetchable
from ..federation.as2 import as_list, first, link
from ..federation.fetch import DocumentRefused, fetch_document, same_origin
from ..federation.notes import address_of, parse_note, visibility_of
from ..services import interactions, relays
from ..services.refusals import NotAllowed, StatusNotFound
from ..services.remote_statuses import store_fetched_note
from ..store import Connection
from ..store import inbox as inbox_rows
from ..store.rows import StatusRow
from . import Context


async def on_like(ctx: Context) -> None:
    """A remote favourite of a local status it may see."""
    rt, actor = ctx.rt, ctx.actor
    object_id = link(ctx.activity.get("object"))
    if object_id is None:
        return

    async def unit(conn: Connection) -> None:
        status = await inbox_rows.status_by_uri(conn, object_id)
        if status is None or not status["local"] or status["reblog_of_id"] is not None:
            return  # Mastodon takes Likes of its own posts only
        uri = ctx.activity_id or f"{actor['uri']}#likes/{status['id']}"
        await interactions.favourite(conn, rt, actor, status["id"], uri=uri)

    with suppress(StatusNotFound):
        await rt.store.write(unit)


async def status_of_object(ctx: Context, object_id: str) -> StatusRow | None:
    """The status an activity names: known, or fetched from its origin (an embedded copy
    is trusted only when the activity's actor is its author, on its own server)."""
    rt = ctx.rt
    known = await rt.store.read(inbox_rows.status_by_uri, object_id)
    if known is not None:
        return known
    obj = first(ctx.activity.get("object"))
    document: dict[str, Any] | None = None
    if (
        isinstance(obj, dict)
        and link(obj.get("attributedTo")) == ctx.actor["uri"]
        and same_origin(object_id, ctx.actor["uri"])
    ):
        document = obj
    if document is None:
        if not await fetchable(rt, object_id):
            return None
        document = await fetch_document(rt, object_id)
    if parse_note(document).uri != object_id:
        raise DocumentRefused("the object's id changed")
    return await store_fetched_note(rt, document)


async def on_announce(ctx: Context) -> None:
    """A remote boost: of a local status (notified), or of anything a local account's
    followee boosts (fetched when needed)."""
    rt, actor = ctx.rt, ctx.actor
    object_id = link(ctx.activity.get("object"))
    boost_uri = ctx.activity_id
    if object_id is None or boost_uri is None or not same_origin(boost_uri, actor["uri"]):
        return
    if await relays.is_relay(rt, actor["uri"]):
        # A LitePub relay's Announce brings the post it names, not a boost by the relay.
        await status_of_object(ctx, object_id)
        return
    local_original = object_id.startswith(rt.config.base_url + "/")
    if not local_original and not await rt.store.read(inbox_rows.has_local_follower, actor["id"]):
        return  # Mastodon: a boost must reach a local follower or concern a local post
    original = await status_of_object(ctx, object_id)
    if original is None:
        return
    to = [u for u in (address_of(v) for v in as_list(ctx.activity.get("to"))) if u]
    cc = [u for u in (address_of(v) for v in as_list(ctx.activity.get("cc"))) if u]
    visibility = visibility_of(to, cc, actor["followers_url"])
    if visibility == "direct":
        visibility = "private"

    async def unit(conn: Connection) -> None:
        if await inbox_rows.any_status_by_uri(conn, boost_uri) is not None:
            return  # this Announce came before (its boost may since have been undone)
        await interactions.boost(conn, rt, actor, original["id"], visibility, uri=boost_uri)

    with suppress(StatusNotFound, NotAllowed):
        await rt.store.write(unit)
