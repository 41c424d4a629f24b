"""Undo of a remote actor's Follow, Like, Announce or Block."""

from __future__ import annotations

from ..federation.as2 import first, link
from ..ids import now_ms
from ..services import follows, interactions
from ..store import Connection
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import inbox as inbox_rows
from ..store import statuses as status_rows
from ..store.rows import AccountRow, FavouriteRow
from . import Context


async def _unfollow(
    conn: Connection, ctx: Context, target_uri: str | None, uri: str | None
) -> bool:
    """End the actor's follow (or request) by target or by Follow id; whether it did."""
    target: AccountRow | None = None
    if target_uri is not None:
        target = await inbox_rows.account_by_uri(conn, target_uri)
    elif uri is not None:
        for table in ("follows", "follow_requests"):
            row = await follow_rows.follow_by_uri(conn, table, uri)
            if row is not None and row["account_id"] == ctx.actor["id"]:
                target = await account_rows.account_by_id(conn, row["target_account_id"])
                break
    if target is None:
        return False
    return await follows.unfollow_in(conn, ctx.rt, ctx.actor, target, by=None) is not None


async def _unlike(conn: Connection, ctx: Context, status_uri: str | None, uri: str | None) -> bool:
    """Remove the actor's favourite by status or by Like id; whether it did."""
    actor = ctx.actor
    favourite: FavouriteRow | None = None
    if status_uri is not None:
        status = await inbox_rows.status_by_uri(conn, status_uri)
        if status is not None:
            favourite = await inbox_rows.favourite_of(conn, actor["id"], status["id"])
    if favourite is None and uri is not None:
        favourite = await inbox_rows.favourite_by_uri(conn, actor["id"], uri)
    if favourite is None:
        return False
    status = await status_rows.status_by_id(conn, favourite["status_id"])
    return status is not None and await interactions.unfavourite(conn, ctx.rt, actor, status)


async def _unannounce(conn: Connection, ctx: Context, boost_uri: str) -> bool:
    """Remove the actor's boost by its Announce id; whether there was one."""
    boost = await inbox_rows.status_by_uri(conn, boost_uri)
    if boost is None or boost["account_id"] != ctx.actor["id"]:
        return False
    if boost["reblog_of_id"] is not None:
        await interactions.unboost(conn, ctx.rt, boost, now_ms())
    return True


async def on_undo(ctx: Context) -> None:
    """Undo by embedded object (its type says what), or by id alone (Mastodon guesses
    Announce, then Follow, then Like)."""
    rt, actor = ctx.rt, ctx.actor
    obj = first(ctx.activity.get("object"))
    object_type = first(obj.get("type")) if isinstance(obj, dict) else None
    object_id = link(obj)
    inner = link(obj.get("object")) if isinstance(obj, dict) else None

    async def unit(conn: Connection) -> None:
        if object_id is not None and object_type in (None, "Announce"):
            if await _unannounce(conn, ctx, object_id) or object_type == "Announce":
                return
        if object_type == "Follow":
            await _unfollow(conn, ctx, inner, object_id)
        elif object_type == "Like":
            await _unlike(conn, ctx, inner, object_id)
        elif object_type == "Block":
            target = await inbox_rows.account_by_uri(conn, inner) if inner else None
            if target is not None:
                await follows.unblock_in(conn, rt, actor, target, federate=False)
        elif object_type is None and object_id is not None:
            if not await _unfollow(conn, ctx, None, object_id):
                await _unlike(conn, ctx, None, object_id)

    await rt.store.write(unit)
