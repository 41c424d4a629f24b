"""Undo of a remote actor's Follow, Like, Announce or Block."""

from __future__ import annotations

from ...services import notifications
from ...store import Connection, Row
from ...store import follows as follow_rows
from ...store import inbox as inbox_rows
from ...store import lists as list_rows
from ...store import statuses as status_rows
from ..as2 import first, link
from . import Context
from .notes import delete_status


async def _unfollow(
    conn: Connection, ctx: Context, target_uri: str | None, uri: str | None
) -> bool:
    """End the actor's follow (or request) by target or by Follow id; whether it did."""
    actor = ctx.actor
    row: Row | None = None
    if target_uri is not None:
        target = await inbox_rows.account_by_uri(conn, target_uri)
        if target is not None:
            row = await follow_rows.follow_row(conn, actor["id"], target["id"])
            if row is None:
                request = await follow_rows.delete_request(conn, actor["id"], target["id"])
                return request is not None
    elif uri is not None:
        row = await inbox_rows.follow_by_uri(conn, "follows", uri)
        if row is None:
            request = await inbox_rows.follow_by_uri(conn, "follow_requests", uri)
            if request is not None and request["account_id"] == actor["id"]:
                await follow_rows.delete_request(conn, actor["id"], request["target_account_id"])
                return True
    if row is None or row["account_id"] != actor["id"]:
        return False
    await follow_rows.delete_follow(conn, actor["id"], row["target_account_id"])
    await list_rows.leave_lists_of(conn, actor["id"], row["target_account_id"])
    await notifications.unfollowed(conn, actor["id"], row["target_account_id"])
    return True


async def _unlike(conn: Connection, ctx: Context, status_uri: str | None, uri: str | None) -> bool:
    """Remove the actor's favourite by status or by Like id; whether it did."""
    actor = ctx.actor
    favourite: Row | None = None
    if status_uri is not None:
        status = await inbox_rows.status_by_uri(conn, status_uri)
        if status is not None:
            favourite = await inbox_rows.favourite_of(conn, actor["id"], status["id"])
    if favourite is None and uri is not None:
        favourite = await inbox_rows.favourite_by_uri(conn, actor["id"], uri)
    if favourite is None:
        return False
    await inbox_rows.delete_favourite_row(conn, favourite["id"])
    await status_rows.add_to_count(conn, favourite["status_id"], "favourites_count", -1)
    status = await status_rows.status_by_id(conn, favourite["status_id"])
    if status is not None:
        await notifications.withdraw(
            conn,
            account_id=status["account_id"],
            from_account_id=actor["id"],
            type="favourite",
            status_id=status["id"],
        )
    return True


async def on_undo(ctx: Context) -> None:
    """Undo by embedded object (its type says what), or by id alone (Mastodon guesses
    Announce, then Follow, then Like)."""
    rt, actor = ctx.rt, ctx.actor
    obj = first(ctx.activity.get("object"))
    object_type = first(obj.get("type")) if isinstance(obj, dict) else None
    object_id = link(obj)
    inner = link(obj.get("object")) if isinstance(obj, dict) else None
    if object_id is not None and object_type in (None, "Announce"):
        boost = await rt.store.read(inbox_rows.status_by_uri, object_id)
        if boost is not None and boost["account_id"] == actor["id"]:
            if boost["reblog_of_id"] is not None:
                await delete_status(rt, boost)
            return
        if object_type == "Announce":
            return

    async def unit(conn: Connection) -> None:
        if object_type == "Follow":
            await _unfollow(conn, ctx, inner, object_id)
        elif object_type == "Like":
            await _unlike(conn, ctx, inner, object_id)
        elif object_type == "Block":
            target = await inbox_rows.account_by_uri(conn, inner) if inner else None
            if target is not None:
                await inbox_rows.delete_block(conn, actor["id"], target["id"])
        elif object_type is None and object_id is not None:
            if not await _unfollow(conn, ctx, None, object_id):
                await _unlike(conn, ctx, None, object_id)

    await rt.store.write(unit)
