"""Follow, Accept, Reject and Block from remote actors."""

from __future__ import annotations

from typing import Any

from ...ids import now_ms
from ...services.follows import request_accepted
from ...services.notifications import Notifier
from ...store import Connection, Row, outbox
from ...store import follows as follow_rows
from ...store import inbox as inbox_rows
from ...store import lists as list_rows
from ..as2 import first, link
from . import Context


async def _local_target(conn: Connection, uri: str | None) -> Row | None:
    """A local, unsuspended account by actor URI."""
    if uri is None:
        return None
    target = await inbox_rows.account_by_uri(conn, uri)
    if target is None or target["domain"] is not None or target["suspended_at"] is not None:
        return None
    return target


async def on_follow(ctx: Context) -> None:
    """A remote account follows a local one: accepted at once, or a request when locked.

    The Accept (or Reject) goes back through the outbox events fedout's consumer turns
    into activities: `follow_request.authorized` / `follow_request.rejected` with the
    Follow's id.
    """
    rt, follower = ctx.rt, ctx.actor
    follow_uri = ctx.activity_id

    notifier = Notifier(rt)

    async def unit(conn: Connection) -> None:
        target = await _local_target(conn, link(ctx.activity.get("object")))
        if target is None:
            return
        answer = {"requester_id": follower["id"], "uri": follow_uri}
        if (
            target["actor_type"] == "Application"
            or target["moved_to_account_id"] is not None
            or await follow_rows.blocked_either_way(conn, follower["id"], target["id"])
        ):
            await outbox.record(conn, rt.ids, "follow_request.rejected", target["id"], None, answer)
            return
        existing = await follow_rows.follow_row(conn, follower["id"], target["id"])
        if existing is not None:
            # A repeated Follow is accepted again, with its new id (as Mastodon).
            if follow_uri:
                await inbox_rows.set_follow_uri(conn, "follows", existing["id"], follow_uri)
            await outbox.record(
                conn, rt.ids, "follow_request.authorized", target["id"], existing["id"], answer
            )
            return
        pending = await follow_rows.request_row(conn, follower["id"], target["id"])
        if pending is not None:
            if follow_uri:
                await inbox_rows.set_follow_uri(conn, "follow_requests", pending["id"], follow_uri)
            return
        row: dict[str, Any] = {
            "id": rt.ids.next_id(),
            "account_id": follower["id"],
            "target_account_id": target["id"],
            "uri": follow_uri,
            "show_reblogs": True,
            "notify": False,
            "languages": None,
            "created_at": now_ms(),
        }
        if target["locked"]:
            await follow_rows.insert_request(conn, row)
            await notifier.notify(
                conn,
                account_id=target["id"],
                type="follow_request",
                from_account_id=follower["id"],
            )
            return
        await follow_rows.insert_follow(conn, row)
        await outbox.record(
            conn, rt.ids, "follow_request.authorized", target["id"], row["id"], answer
        )
        await notifier.notify(
            conn, account_id=target["id"], type="follow", from_account_id=follower["id"]
        )

    await rt.store.write(unit)


async def _our_follow(conn: Connection, ctx: Context, table: str) -> Row | None:
    """The local account's follow (request) that an Accept/Reject from the actor answers:
    by the Follow's id, else by an embedded Follow of the actor by a local account."""
    obj = first(ctx.activity.get("object"))
    uri = link(obj)
    row = await inbox_rows.follow_by_uri(conn, table, uri) if uri else None
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


async def on_accept(ctx: Context) -> None:
    """A remote account accepted a local account's follow request."""
    rt = ctx.rt

    async def unit(conn: Connection) -> None:
        request = await _our_follow(conn, ctx, "follow_requests")
        if request is None:
            return
        await request_accepted(conn, rt.ids, request)

    await rt.store.write(unit)


async def on_reject(ctx: Context) -> None:
    """A remote account rejected a local account's follow (request), or removed a follower."""
    rt = ctx.rt

    async def unit(conn: Connection) -> None:
        request = await _our_follow(conn, ctx, "follow_requests")
        if request is not None:
            await follow_rows.delete_request(
                conn, request["account_id"], request["target_account_id"]
            )
        follow = await _our_follow(conn, ctx, "follows")
        if follow is not None:
            await follow_rows.delete_follow(conn, follow["account_id"], follow["target_account_id"])
            await list_rows.leave_lists_of(conn, follow["account_id"], follow["target_account_id"])

    await rt.store.write(unit)


async def on_block(ctx: Context) -> None:
    """A remote account blocks a local one: follows both ways end, the block is kept."""
    rt, actor = ctx.rt, ctx.actor

    async def unit(conn: Connection) -> None:
        target = await _local_target(conn, link(ctx.activity.get("object")))
        if target is None:
            return
        for source, dest in ((actor["id"], target["id"]), (target["id"], actor["id"])):
            await follow_rows.delete_follow(conn, source, dest)
            await follow_rows.delete_request(conn, source, dest)
            await list_rows.leave_lists_of(conn, source, dest)
        await follow_rows.insert_block(conn, rt.ids.next_id(), actor["id"], target["id"], now_ms())

    await rt.store.write(unit)
