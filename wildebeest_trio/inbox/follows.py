"""Follow, Accept, Reject and Block from remote actors, translated into services/follows."""

from __future__ import annotations

from ..federation.as2 import first, link
from ..services import follows, relays
from ..services.follows import FollowOptions
from ..store import Connection
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import inbox as inbox_rows
from ..store.rows import AccountRow, FollowRow
from . import Context


async def _local_target(conn: Connection, uri: str | None) -> AccountRow | None:
    """A local, unsuspended account by actor URI."""
    if uri is None:
        return None
    target = await inbox_rows.account_by_uri(conn, uri)
    if target is None or target["domain"] is not None or target["suspended_at"] is not None:
        return None
    return target


async def on_follow(ctx: Context) -> None:
    """A remote account follows a local one: accepted at once, a request when locked, or
    refused; the Accept or Reject goes back through the outbox (services/follows)."""
    rt = ctx.rt

    async def unit(conn: Connection) -> None:
        target = await _local_target(conn, link(ctx.activity.get("object")))
        if target is not None:
            await follows.follow_in(
                conn, rt, ctx.actor, target, FollowOptions(), uri=ctx.activity_id
            )

    await rt.store.write(unit)


async def _our_follow(conn: Connection, ctx: Context, table: str) -> FollowRow | None:
    """The local account's follow (request) that an Accept/Reject from the actor answers:
    by the Follow's id, else by an embedded Follow of the actor by a local account."""
    obj = first(ctx.activity.get("object"))
    uri = link(obj)
    row = await follow_rows.follow_by_uri(conn, table, uri) if uri else None
    if row is None and isinstance(obj, dict) and first(obj.get("type")) == "Follow":
        if link(obj.get("object")) != ctx.actor["uri"]:
            return None
        local = await _local_target(conn, link(obj.get("actor")))
        if local is None:
            return None
        if table == "follows":
            row = await follow_rows.follow_row(conn, local["id"], ctx.actor["id"])
        else:
            row = await follow_rows.request_row(conn, local["id"], ctx.actor["id"])
    if row is None or row["target_account_id"] != ctx.actor["id"]:
        return None
    return row


def _answered(ctx: Context) -> str | None:
    """The id of the activity an Accept or Reject answers (named or embedded)."""
    return link(first(ctx.activity.get("object")))


async def on_accept(ctx: Context) -> None:
    """A remote account accepted a local account's follow request."""

    async def unit(conn: Connection) -> None:
        if await relays.answered_in(conn, _answered(ctx), ctx.actor["uri"], accepted=True):
            return
        request = await _our_follow(conn, ctx, "follow_requests")
        if request is not None:
            await follows.accept_request_in(conn, ctx.rt, request, federate=False)

    await ctx.rt.store.write(unit)


async def on_reject(ctx: Context) -> None:
    """A remote account rejected a local account's follow (request), or removed a follower."""

    async def unit(conn: Connection) -> None:
        if await relays.answered_in(conn, _answered(ctx), ctx.actor["uri"], accepted=False):
            return
        for table in ("follow_requests", "follows"):
            ours = await _our_follow(conn, ctx, table)
            follower = await account_rows.account_by_id(conn, ours["account_id"]) if ours else None
            if follower is not None:
                await follows.unfollow_in(conn, ctx.rt, follower, ctx.actor, by=None)

    await ctx.rt.store.write(unit)


async def on_block(ctx: Context) -> None:
    """A remote account blocks a local one: follows both ways end, the block is kept."""

    async def unit(conn: Connection) -> None:
        target = await _local_target(conn, link(ctx.activity.get("object")))
        if target is not None:
            await follows.block_in(
                conn, ctx.rt, ctx.actor, target, federate=False, uri=ctx.activity_id
            )

    await ctx.rt.store.write(unit)
