"""QuoteRequest, and the Accept, Reject and Delete that answer a quote or take its approval
back (FEP-044f, as Mastodon 4.5 sends them), translated into services/quotes.

An Accept or Reject that answers no QuoteRequest of ours is a follow's (handlers/follows);
a Delete of no QuoteAuthorization stamp we hold is a post's or an actor's (handlers/notes).
"""

from __future__ import annotations

import logging

from ..federation.as2 import first, link
from ..federation.fetch import DocumentRefused, DocumentUnavailable, fetch_document, same_origin
from ..federation.notes import NoteRefused
from ..services import quotes
from ..services.remote_statuses import store_fetched_note
from ..store import Connection
from ..store import inbox as inbox_rows
from ..store import quotes as quote_rows
from ..store import statuses as status_rows
from ..store.rows import QuoteRow, StatusRow
from . import Context, follows, notes

log = logging.getLogger(__name__)


async def _instrument(ctx: Context) -> StatusRow | None:
    """The quoting post a QuoteRequest is for, stored here: already known, embedded by its
    own server, or fetched from it; None when it cannot be had."""
    rt = ctx.rt
    instrument = first(ctx.activity.get("instrument"))
    uri = link(instrument)
    if uri is None or not same_origin(uri, ctx.actor["uri"]):
        return None
    known = await rt.store.read(inbox_rows.status_by_uri, uri)
    if known is not None:
        return known
    try:
        if isinstance(instrument, dict) and instrument.get("id") == uri:
            document = instrument  # from its author's own server, whose signature we checked
        else:
            document = await fetch_document(rt, uri)
        return await store_fetched_note(rt, document)
    except DocumentUnavailable:
        raise  # retried with the job
    except (DocumentRefused, NoteRefused) as exc:
        log.info("cannot take the quoting post %s: %s", uri, exc)
        return None


async def on_quote_request(ctx: Context) -> None:
    """A remote account asks to quote a local post: approved, left for its author, or
    refused, as the post's policy says (services/quotes)."""
    rt = ctx.rt
    request = ctx.activity_id
    quoted_uri = link(ctx.activity.get("object"))
    if request is None or not same_origin(request, ctx.actor["uri"]) or quoted_uri is None:
        return
    quoted = await rt.store.read(inbox_rows.status_by_uri, quoted_uri)
    if quoted is None or not quoted["local"]:
        return
    quoting = await _instrument(ctx)

    async def unit(conn: Connection) -> None:
        current = await status_rows.status_by_id(conn, quoted["id"])
        post = await status_rows.status_by_id(conn, quoting["id"]) if quoting else None
        if current is not None:
            await quotes.request_received(conn, rt, current, ctx.actor, post, request)

    await rt.store.write(unit)


async def _answered(conn: Connection, ctx: Context) -> QuoteRow | None:
    """A local account's pending or approved quote whose QuoteRequest this Accept or Reject
    answers, by the quoted post's author."""
    request = link(first(ctx.activity.get("object")))
    quote = await quote_rows.by_activity_uri(conn, request) if request else None
    if quote is None or quote["quoted_account_id"] != ctx.actor["id"]:
        return None
    status = await status_rows.status_by_id(conn, quote["status_id"])
    return quote if status is not None and status["local"] else None


async def on_accept(ctx: Context) -> None:
    """The quoted post's author approved a local account's quote, its stamp the `result`
    (on its own server); an Accept of anything else is a follow's."""
    rt = ctx.rt
    result = link(ctx.activity.get("result"))

    async def unit(conn: Connection) -> bool:
        quote = await _answered(conn, ctx)
        if quote is None:
            return False
        if result is not None and same_origin(result, ctx.actor["uri"]):
            await quotes.authorization_received(conn, rt, quote, result)
        return True

    if not await rt.store.write(unit):
        await follows.on_accept(ctx)


async def on_reject(ctx: Context) -> None:
    """The quoted post's author refused a local account's quote (or took it back); a
    Reject of anything else is a follow's."""
    rt = ctx.rt

    async def unit(conn: Connection) -> bool:
        quote = await _answered(conn, ctx)
        if quote is None:
            return False
        await quotes.refusal_received(conn, rt, quote)
        return True

    if not await rt.store.write(unit):
        await follows.on_reject(ctx)


async def on_delete(ctx: Context) -> None:
    """A Delete of a QuoteAuthorization stamp by its author revokes the quotes it approved;
    any other Delete is a post's or an actor's."""
    object_id = link(ctx.activity.get("object"))
    if (
        object_id is None
        or object_id == ctx.actor["uri"]
        or not await _stamp_deleted(ctx, object_id)
    ):
        await notes.on_delete(ctx)


async def _stamp_deleted(ctx: Context, uri: str) -> bool:
    """Revoke the quotes a deleted stamp approved; whether `uri` was such a stamp."""
    rt = ctx.rt

    async def unit(conn: Connection) -> bool:
        stamped = [
            q
            for q in await quote_rows.by_approval_uri(conn, uri)
            if q["quoted_account_id"] == ctx.actor["id"]
        ]
        for quote in stamped:
            await quotes.refusal_received(conn, rt, quote)
        return bool(stamped)

    return await rt.store.write(unit)
