"""Remote pinned posts: `Add` and `Remove` targeting an actor's featured collection, and
the job reading that collection when the actor is first stored, as Mastodon does.

Only the actor's own statuses are pinned for it, never a direct one; an `Add` of a status
not known here fetches it (an embedded copy is trusted from its author's server only). A
featured collection is read from the actor's own origin, its first `MAX_PINNED` items;
what it lists becomes what the account shows pinned. Featured hashtags are not followed.
"""

from __future__ import annotations

import logging
from typing import Any

from ..federation.actors import fetchable
from ..federation.as2 import first, link
from ..federation.featured import SYNC_FEATURED
from ..federation.fetch import (
    DocumentRefused,
    DocumentUnavailable,
    fetch_document,
    first_page_items,
    same_origin,
)
from ..federation.notes import NoteRefused
from ..jobs import JobRegistry
from ..runtime import Runtime
from ..services import interactions
from ..services.remote_statuses import store_fetched_note
from ..store import Connection, Row, RowView
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
from . import Context
from .interactions import status_of_object

log = logging.getLogger(__name__)


def _featured(ctx: Context) -> bool:
    """Whether the activity targets its actor's featured collection."""
    target = link(ctx.activity.get("target"))
    return target is not None and target == ctx.actor["featured_url"]


def _pinnable(status: RowView | None, account: RowView) -> bool:
    return (
        status is not None
        and status["account_id"] == account["id"]
        and status["visibility"] != "direct"
        and status["reblog_of_id"] is None
        and status["deleted_at"] is None
    )


async def on_add(ctx: Context) -> None:
    """`Add` of one of the actor's statuses to its featured collection: pinned here."""
    obj = first(ctx.activity.get("object"))
    object_id = link(obj)
    if not _featured(ctx) or object_id is None:
        return
    if isinstance(obj, dict) and first(obj.get("type")) == "Hashtag":
        return  # a featured hashtag
    status = await status_of_object(ctx, object_id)
    if not _pinnable(status, ctx.actor):
        return
    assert status is not None
    await ctx.rt.store.write(
        interactions.set_remote_pins, ctx.rt, ctx.actor["id"], [status["id"]], only=False
    )


async def on_remove(ctx: Context) -> None:
    """`Remove` from the actor's featured collection: unpinned here."""
    object_id = link(ctx.activity.get("object"))
    if not _featured(ctx) or object_id is None:
        return
    account_id = ctx.actor["id"]

    async def unit(conn: Connection) -> None:
        status = await inbox_rows.status_by_uri(conn, object_id)
        if status is not None and status["account_id"] == account_id:
            await interactions.unpin_remote(conn, account_id, status["id"])

    await ctx.rt.store.write(unit)


async def _item_status(rt: Runtime, account: RowView, item: Any) -> RowView | None:
    """A featured item as a status here: known, embedded by the actor's own server, or
    fetched from its origin; None when it is not one of the account's statuses."""
    uri = link(item)
    if uri is None or not same_origin(uri, account["uri"]):
        return None
    known = await rt.store.read(inbox_rows.status_by_uri, uri)
    if known is not None:
        return dict(known)
    try:
        if isinstance(item, dict) and link(item.get("attributedTo")) == account["uri"]:
            document = item
        elif await fetchable(rt, uri):
            document = await fetch_document(rt, uri)
        else:
            return None
        return await store_fetched_note(rt, document)
    except (DocumentRefused, DocumentUnavailable, NoteRefused) as exc:
        log.info("featured item %s of %s not taken: %s", uri, account["uri"], exc)
        return None


async def synchronize(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: read a remote account's featured collection; what it lists is what
    the account shows pinned."""
    found = await rt.store.read(account_rows.account_by_id, int(payload["account_id"]))
    account: Row = dict(found) if found is not None else {}
    url = account.get("featured_url")
    if not account or account["domain"] is None or not url:
        return
    if not same_origin(url, account["uri"]):
        return
    try:
        items = await first_page_items(rt, url)
    except (DocumentRefused, DocumentUnavailable) as exc:
        log.info("featured collection of %s not read: %s", account["uri"], exc)
        return
    pinned = []
    for item in items[: interactions.MAX_PINNED]:
        status = await _item_status(rt, account, item)
        if _pinnable(status, account):
            assert status is not None
            pinned.append(int(status["id"]))
    await rt.store.write(interactions.set_remote_pins, rt, account["id"], pinned, only=True)


def register(registry: JobRegistry) -> None:
    registry.register(SYNC_FEATURED, synchronize)


__all__ = ["on_add", "on_remove", "register", "synchronize"]
