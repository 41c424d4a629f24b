"""Collections from other servers (Mastodon 4.6, FEP-7aa9): a remote account's `Add`,
`Update` and `Remove` of its FeaturedCollections, and the answers (`Accept`, `Reject`) to
the FeatureRequests we sent when a local account featured a remote one. Anything else of
those types is handed to the handler that had it before."""

from __future__ import annotations

from typing import Any

from ..federation.as2 import first, link
from ..federation.fetch import DocumentRefused, DocumentUnavailable, fetch_document, same_origin
from ..services import collections
from . import Context, featured, notes, quotes


def _collection_object(ctx: Context) -> dict[str, Any] | None:
    obj = first(ctx.activity.get("object"))
    if isinstance(obj, dict) and first(obj.get("type")) == "FeaturedCollection":
        return obj
    return None


def _to_featured_collections(ctx: Context) -> bool:
    """Whether the activity targets its actor's collections (`featuredCollections`)."""
    target = link(ctx.activity.get("target"))
    return (
        target is not None
        and target.rstrip("/").endswith("/featured_collections")
        and (target.startswith(ctx.actor["uri"]) or first(ctx.activity.get("object")) is not None)
    )


async def on_add(ctx: Context) -> None:
    """`Add` of a FeaturedCollection: kept here; any other Add is a pinned post's."""
    document = _collection_object(ctx)
    if document is None:
        await featured.on_add(ctx)
        return
    await collections.store_remote(ctx.rt, ctx.actor, document)


async def on_update(ctx: Context) -> None:
    """`Update` of a FeaturedCollection: its new state; any other Update is a post's or an
    actor's."""
    document = _collection_object(ctx)
    if document is None:
        await notes.on_update(ctx)
        return
    await collections.store_remote(ctx.rt, ctx.actor, document)


async def on_remove(ctx: Context) -> None:
    """`Remove` of one of the actor's collections kept here, or of an item from one; any
    other Remove is a pinned post's."""
    object_id = link(ctx.activity.get("object"))
    target = link(ctx.activity.get("target"))
    if object_id is not None and (
        await collections.remove_remote(ctx.rt, ctx.actor, object_id)
        or await collections.remote_item_removed(ctx.rt, ctx.actor, target, object_id)
    ):
        return
    await featured.on_remove(ctx)


async def _answer(ctx: Context, accepted: bool) -> bool:
    request = link(ctx.activity.get("object"))
    if request is None or "/feature_requests/" not in request:
        return False
    result = link(ctx.activity.get("result")) if accepted else None
    return await collections.feature_answered(ctx.rt, ctx.actor, request, accepted, result)


async def on_accept(ctx: Context) -> None:
    """A featured account approved its place (`result`: its FeatureAuthorization stamp);
    any other Accept is a quote's or a follow's."""
    if not await _answer(ctx, True):
        await quotes.on_accept(ctx)


async def on_reject(ctx: Context) -> None:
    """A featured account refused its place; any other Reject is a quote's or a follow's."""
    if not await _answer(ctx, False):
        await quotes.on_reject(ctx)


async def on_feature_request(ctx: Context) -> None:
    """A remote account asks to feature a local one in its collection (`instrument`),
    fetched from the actor's server when it is not kept here yet."""
    request_id = ctx.activity_id
    member_uri = link(ctx.activity.get("object"))
    instrument = first(ctx.activity.get("instrument"))
    collection_uri = link(instrument)
    if request_id is None or member_uri is None or collection_uri is None:
        return
    if not same_origin(collection_uri, ctx.actor["uri"]):
        return
    document = instrument if isinstance(instrument, dict) else None
    if document is None:
        try:
            document = await fetch_document(ctx.rt, collection_uri)
        except (DocumentRefused, DocumentUnavailable):
            document = None
    if document is not None:
        await collections.store_remote(ctx.rt, ctx.actor, document)
    await collections.feature_requested(ctx.rt, ctx.actor, request_id, member_uri, collection_uri)
