"""Favourites, boosts, bookmarks, pins and conversation mutes: the one place they are written.

The Mastodon API and the inbox handlers (Like, Announce and their Undo) call the same
functions, inside their own unit of work, with the acting account's row: what a local
account does federates (an outbox event), what a remote one does does not. Counters,
notifications and their withdrawal, stream events and outbox events happen here only.

The `Runtime` functions at the end own a unit each and answer with the `StatusBundle` a
client reads back.
"""

from __future__ import annotations

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, IntegrityError, RowView, outbox
from ..store import accounts as account_rows
from ..store import statuses as status_rows
from ..store.effects import WebhookEvent
from ..store.rows import AccountRow, StatusRow
from ..store.statuses import StatusBundle
from ..urls import status_uri, status_url
from . import fanout, home_feed, notifications, profiles
from .refusals import InvalidStatus, NotAllowed, StatusNotFound

MAX_PINNED = 5
# What a boost may be seen as; one asked to be direct (a default privacy) is public.
BOOST_VISIBILITIES = ("public", "unlisted", "private")


def _federates(actor: RowView) -> bool:
    """Whether the actor's actions go out to other servers: those of local accounts."""
    return actor["domain"] is None


async def interaction_target(conn: Connection, status_id: int, account_id: int) -> StatusRow:
    """The status an interaction applies to, if the account may see it (a boost stands for
    the boosted status); StatusNotFound otherwise."""
    row = await status_rows.visible_status(conn, status_id, account_id)
    if row is not None and row["reblog_of_id"] is not None:
        row = await status_rows.visible_status(conn, row["reblog_of_id"], account_id)
    if row is None:
        raise StatusNotFound()
    return row


def may_boost(status: RowView, account_id: int) -> bool:
    """Mastodon's `reblog?`: never a direct post; a followers-only one only by its author."""
    if status["visibility"] == "private":
        return bool(status["account_id"] == account_id)
    return bool(status["visibility"] != "direct")


# Favourites ------------------------------------------------------------------------------------


async def favourite(
    conn: Connection, rt: Runtime, actor: RowView, status_id: int, *, uri: str | None = None
) -> StatusRow:
    """The actor favourites a status it may see (`uri`: the remote Like's id); the status
    favourited. A repeat changes nothing."""
    status = await interaction_target(conn, status_id, actor["id"])
    if await status_rows.insert_favourite(
        conn, rt.ids.next_id(), actor["id"], status["id"], now_ms(), uri
    ):
        await _favourite_changed(conn, rt, actor, status, True)
    return status


async def unfavourite(conn: Connection, rt: Runtime, actor: RowView, status: RowView) -> bool:
    """The actor takes back its favourite of a status; whether there was one."""
    if not await status_rows.delete_favourite(conn, actor["id"], status["id"]):
        return False
    await _favourite_changed(conn, rt, actor, status, False)
    return True


async def _favourite_changed(
    conn: Connection, rt: Runtime, actor: RowView, status: RowView, given: bool
) -> None:
    """What a favourite given or taken back changes: the count, the author's notification,
    and for a local account the Like or its Undo."""
    await status_rows.add_to_count(conn, status["id"], "favourites_count", 1 if given else -1)
    if _federates(actor):
        event = "favourite.created" if given else "favourite.deleted"
        await outbox.record(
            conn, rt.ids, event, actor["id"], status["id"], {"status_uri": status["uri"]}
        )
    await notifications.favourited(conn, notifications.Notifier(rt), actor["id"], status, given)


# Boosts ----------------------------------------------------------------------------------------


async def boost(
    conn: Connection,
    rt: Runtime,
    actor: RowView,
    status_id: int,
    visibility: str,
    *,
    uri: str | None = None,
) -> StatusRow:
    """The actor boosts a status it may see, seen as `visibility` (a followers-only post's
    boost stays followers-only); the boost, or the one it had already. `uri`: the remote
    Announce's id. NotAllowed for what `may_boost` refuses."""
    original = await interaction_target(conn, status_id, actor["id"])
    if not may_boost(original, actor["id"]):
        raise NotAllowed()
    existing = await status_rows.live_reblog(conn, actor["id"], original["id"])
    if existing is not None:
        return existing
    if original["visibility"] == "private":
        visibility = "private"  # a boost never widens who sees a followers-only post
    now = now_ms()
    boost_id = rt.ids.next_id()
    if uri is None:
        url = status_url(rt.config, actor["username"], boost_id)
        uri = status_uri(rt.config, actor["username"], boost_id) + "/activity"
    else:
        url = uri
    row = {
        "id": boost_id,
        "uri": uri,
        "url": url,
        "account_id": actor["id"],
        "local": _federates(actor),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog_of_id": original["id"],
        "text": "",
        "content": "",
        "spoiler_text": "",
        "sensitive": False,
        "visibility": visibility,
        "language": None,
        "application_id": None,
        "conversation_id": None,
        "created_at": now,
        "updated_at": now,
    }
    await status_rows.insert_status(conn, row)
    await status_rows.add_to_count(conn, original["id"], "reblogs_count", 1)
    await account_rows.add_to_statuses_count(conn, actor["id"], 1, now)
    if _federates(actor):
        await outbox.record(
            conn,
            rt.ids,
            "reblog.created",
            actor["id"],
            boost_id,
            {
                "reblog_of_id": original["id"],
                "status_uri": original["uri"],
                "visibility": visibility,
            },
        )
    created = await status_rows.status_by_id(conn, boost_id)
    assert created is not None
    await home_feed.status_added(conn, created)
    await notifications.reblogged(conn, notifications.Notifier(rt), actor["id"], original)
    conn.effects.add(fanout.StatusPublished(boost_id))
    if actor["domain"] is None:
        conn.effects.add(WebhookEvent("status.created", boost_id))  # a local boost is a status
    return created


async def unboost(
    conn: Connection, rt: Runtime, boost: RowView, now: int, *, original_going: bool = False
) -> None:
    """A boost goes (undone, deleted, or with the status it boosted: `original_going`): the
    streams that showed it hear `delete`, home feeds drop it, its counters and `reblog`
    notification go, and a local booster's followers get an Undo."""
    await fanout.record_removal(conn, boost["id"])
    await status_rows.mark_deleted(conn, boost["id"], now)
    await home_feed.status_removed(conn, boost, original_going=original_going)
    if boost["visibility"] != "direct":
        await account_rows.add_to_statuses_count(conn, boost["account_id"], -1, None)
    await status_rows.add_to_count(conn, boost["reblog_of_id"], "reblogs_count", -1)
    await notifications.boost_removed(conn, boost)
    if boost["local"]:
        await outbox.record(
            conn,
            rt.ids,
            "reblog.deleted",
            boost["account_id"],
            boost["id"],
            {"uri": boost["uri"], "reblog_of_id": boost["reblog_of_id"]},
        )


async def remove_boosts_of(conn: Connection, rt: Runtime, status: RowView, now: int) -> None:
    """Inside the unit deleting a status: every live boost of it goes with it."""
    for row in await status_rows.live_reblogs_of(conn, status["id"]):
        await unboost(conn, rt, row, now, original_going=True)


# The Mastodon API ------------------------------------------------------------------------------


async def _actor(conn: Connection, account_id: int) -> AccountRow:
    row = await account_rows.account_by_id(conn, account_id)
    assert row is not None
    return row


async def _bundle(conn: Connection, status_id: int, viewer_id: int) -> StatusBundle:
    """A status as its viewer reads it back after the action."""
    row = await status_rows.status_by_id(conn, status_id)
    assert row is not None
    return await status_rows.hydrate(conn, [row], viewer_id)


async def set_favourite(rt: Runtime, account_id: int, status_id: int, on: bool) -> StatusBundle:
    """`POST /api/v1/statuses/:id/favourite` (`on`) or `/unfavourite`."""

    async def unit(conn: Connection) -> StatusBundle:
        actor = await _actor(conn, account_id)
        if on:
            status = await favourite(conn, rt, actor, status_id)
        else:
            status = await interaction_target(conn, status_id, account_id)
            await unfavourite(conn, rt, actor, status)
        return await _bundle(conn, status["id"], account_id)

    return await rt.store.write(unit)


async def reblog(
    rt: Runtime, account_id: int, status_id: int, visibility: str | None
) -> StatusBundle:
    """`POST /api/v1/statuses/:id/reblog`: the boost (an existing one is returned again)."""
    if visibility is not None and visibility not in BOOST_VISIBILITIES:
        raise InvalidStatus("Validation failed: Visibility is not included in the list")

    async def unit(conn: Connection) -> StatusBundle:
        actor = await _actor(conn, account_id)
        chosen = visibility or (await profiles.preferences(conn, account_id))["privacy"]
        if chosen not in BOOST_VISIBILITIES:
            chosen = "public"
        row = await boost(conn, rt, actor, status_id, chosen)
        return await _bundle(conn, row["id"], account_id)

    try:
        return await rt.store.write(unit)
    except IntegrityError:
        # A concurrent request boosted first (one live boost per account): return it.
        return await rt.store.write(unit)


async def unreblog(rt: Runtime, account_id: int, status_id: int) -> StatusBundle:
    """`POST /api/v1/statuses/:id/unreblog`: the boosted status."""

    async def unit(conn: Connection) -> StatusBundle:
        status = await interaction_target(conn, status_id, account_id)
        existing = await status_rows.live_reblog(conn, account_id, status["id"])
        if existing is not None:
            await unboost(conn, rt, existing, now_ms())
        return await _bundle(conn, status["id"], account_id)

    return await rt.store.write(unit)


async def set_bookmark(rt: Runtime, account_id: int, status_id: int, on: bool) -> StatusBundle:
    """Bookmark or unbookmark (private to the caller: nothing to federate)."""

    async def unit(conn: Connection) -> StatusBundle:
        status = await interaction_target(conn, status_id, account_id)
        if on:
            await status_rows.insert_bookmark(
                conn, rt.ids.next_id(), account_id, status["id"], now_ms()
            )
        else:
            await status_rows.delete_bookmark(conn, account_id, status["id"])
        return await _bundle(conn, status["id"], account_id)

    return await rt.store.write(unit)


async def set_pin(rt: Runtime, account_id: int, status_id: int, on: bool) -> StatusBundle:
    """Pin or unpin one of the caller's own statuses on their profile (its followers hear
    that the featured collection changed)."""

    async def unit(conn: Connection) -> StatusBundle:
        row = await status_rows.visible_status(conn, status_id, account_id)
        if row is None:
            raise StatusNotFound()
        if row["account_id"] != account_id:
            raise NotAllowed()
        if on:
            if row["reblog_of_id"] is not None or row["visibility"] == "direct":
                raise InvalidStatus("Validation failed: This post cannot be pinned")
            if await status_rows.pin_count(conn, account_id) >= MAX_PINNED:
                raise InvalidStatus(
                    f"Validation failed: You cannot pin more than {MAX_PINNED} posts"
                )
            if await status_rows.insert_pin(
                conn, rt.ids.next_id(), account_id, row["id"], now_ms()
            ):
                await outbox.record(conn, rt.ids, "pin.created", account_id, row["id"])
        elif await status_rows.delete_pin(conn, account_id, row["id"]):
            await outbox.record(conn, rt.ids, "pin.deleted", account_id, row["id"])
        return await _bundle(conn, row["id"], account_id)

    return await rt.store.write(unit)


async def set_remote_pins(
    conn: Connection, rt: Runtime, account_id: int, status_ids: list[int], *, only: bool
) -> None:
    """Inside a unit: what a remote account shows pinned (its featured collection): pin
    `status_ids` (its own statuses, not direct; at most `MAX_PINNED` kept), and with
    `only` unpin the others. Its server told us; nothing is sent."""
    if only:
        for row in await status_rows.pinned_of(conn, account_id):
            if row not in status_ids:
                await status_rows.delete_pin(conn, account_id, row)
    for status_id in status_ids[:MAX_PINNED]:
        await status_rows.insert_pin(conn, rt.ids.next_id(), account_id, status_id, now_ms())


async def unpin_remote(conn: Connection, account_id: int, status_id: int) -> None:
    """Inside a unit: a remote account took a status off its featured collection."""
    await status_rows.delete_pin(conn, account_id, status_id)


async def set_conversation_mute(
    rt: Runtime, account_id: int, status_id: int, on: bool
) -> StatusBundle:
    """Mute or unmute the conversation a visible status belongs to."""

    async def unit(conn: Connection) -> StatusBundle:
        status = await interaction_target(conn, status_id, account_id)
        conversation = status["conversation_id"] or status["id"]
        if on:
            await status_rows.mute_conversation(
                conn, rt.ids.next_id(), account_id, conversation, now_ms()
            )
        else:
            await status_rows.unmute_conversation(conn, account_id, conversation)
        return await _bundle(conn, status["id"], account_id)

    return await rt.store.write(unit)
