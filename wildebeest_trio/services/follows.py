"""Following accounts: follows, follow requests for locked accounts, relationships."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..ids import IdGenerator, now_ms
from ..runtime import Runtime
from ..store import Connection, IntegrityError, Row, account_domain_blocks, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import lists as list_rows
from ..store.paging import Page
from . import notifications


class AccountNotFound(LookupError):
    """No such account (or a suspended one)."""


class CannotFollow(PermissionError):
    """Following this account is not possible (oneself)."""


@dataclass(frozen=True)
class FollowOptions:
    """`reblogs`, `notify` and `languages` of a follow; None leaves a setting as it is."""

    reblogs: bool | None = None
    notify: bool | None = None
    languages: list[str] | None = None


@dataclass(frozen=True)
class Relationship:
    """What lies between the viewer and one account."""

    account_id: int
    following: Row | None
    followed_by: bool
    requested: Row | None
    requested_by: bool
    blocking: bool = False
    blocked_by: bool = False
    muting: Row | None = None
    note: str = ""
    endorsed: bool = False
    domain_blocking: bool = False


async def _target(conn: Connection, account_id: int) -> Row:
    row = await account_rows.account_by_id(conn, account_id)
    if row is None or row["suspended_at"] is not None:
        raise AccountNotFound()
    return row


async def _facts(conn: Connection, viewer_id: int, target_ids: list[int]) -> dict:
    facts = await follow_rows.relationship_facts(conn, viewer_id, target_ids)
    facts.update(await follow_rows.block_and_mute_facts(conn, viewer_id, target_ids, now_ms()))
    facts["notes"] = await follow_rows.notes_on(conn, viewer_id, target_ids)
    facts["endorsed"] = {i: {} for i in await follow_rows.endorsed_ids(conn, viewer_id, target_ids)}
    facts["domain_blocking"] = {
        i: {} for i in await account_domain_blocks.domain_blocked_ids(conn, viewer_id, target_ids)
    }
    return facts


async def _relationship(conn: Connection, viewer_id: int, target_id: int) -> Relationship:
    return _from_facts(await _facts(conn, viewer_id, [target_id]), target_id)


def _from_facts(facts: dict[str, dict[int, Row]], target_id: int) -> Relationship:
    return Relationship(
        account_id=target_id,
        following=facts["following"].get(target_id),
        followed_by=target_id in facts["followed_by"],
        requested=facts["requested"].get(target_id),
        requested_by=target_id in facts["requested_by"],
        blocking=target_id in facts["blocking"],
        blocked_by=target_id in facts["blocked_by"],
        muting=facts["muting"].get(target_id),
        note=facts["notes"].get(target_id, ""),
        endorsed=target_id in facts["endorsed"],
        domain_blocking=target_id in facts["domain_blocking"],
    )


async def follow(
    rt: Runtime, account_id: int, target_id: int, options: FollowOptions
) -> Relationship:
    """Follow an account: at once, or as a request when it is locked. Following again
    changes the options."""
    notifier = notifications.Notifier(rt)

    async def unit(conn: Connection) -> Relationship:
        target = await _target(conn, target_id)
        if target_id == account_id or await follow_rows.blocked_either_way(
            conn, account_id, target_id
        ):
            raise CannotFollow("This action is not allowed")
        languages = json.dumps(options.languages) if options.languages else None
        existing = await follow_rows.follow_row(conn, account_id, target_id)
        if existing is not None:
            await follow_rows.update_follow_options(
                conn,
                existing["id"],
                bool(existing["show_reblogs"]) if options.reblogs is None else options.reblogs,
                bool(existing["notify"]) if options.notify is None else options.notify,
                languages if options.languages is not None else existing["languages"],
            )
            return await _relationship(conn, account_id, target_id)
        if await follow_rows.request_row(conn, account_id, target_id) is not None:
            return await _relationship(conn, account_id, target_id)
        row = {
            "id": rt.ids.next_id(),
            "account_id": account_id,
            "target_account_id": target_id,
            "show_reblogs": True if options.reblogs is None else options.reblogs,
            "notify": bool(options.notify),
            "languages": languages,
            "created_at": now_ms(),
        }
        # A remote follow waits for the other server's Accept (as on Mastodon).
        if target["locked"] or target["domain"] is not None:
            await follow_rows.insert_request(conn, row)
            await outbox.record(
                conn,
                rt.ids,
                "follow.requested",
                account_id,
                row["id"],
                {"target_account_id": target_id},
            )
        else:
            await follow_rows.insert_follow(conn, row)
            await outbox.record(
                conn,
                rt.ids,
                "follow.created",
                account_id,
                row["id"],
                {"target_account_id": target_id},
            )
        if target["domain"] is None:
            await notifications.followed(
                conn, notifier, account_id, target_id, requested=target["locked"]
            )
        return await _relationship(conn, account_id, target_id)

    try:
        relationship = await rt.store.write(unit)
    except IntegrityError:
        # A concurrent request followed first: this one now finds the follow and updates it.
        relationship = await rt.store.write(unit)
    return relationship


async def request_accepted(conn: Connection, ids: IdGenerator, request: Row) -> None:
    """Inside a unit: the other server accepted our follow request; it becomes a follow
    (keeping the Follow's id, which a later Undo names)."""
    await follow_rows.delete_request(conn, request["account_id"], request["target_account_id"])
    if await follow_rows.follow_row(conn, request["account_id"], request["target_account_id"]):
        return
    await follow_rows.insert_follow(conn, {**request, "id": ids.next_id(), "created_at": now_ms()})


async def unfollow(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Stop following (or withdraw a follow request)."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        removed = await follow_rows.delete_follow(conn, account_id, target_id)
        await list_rows.leave_lists_of(conn, account_id, target_id)  # lists hold follows only
        if removed is None:
            removed = await follow_rows.delete_request(conn, account_id, target_id)
        if removed is not None:
            await outbox.record(
                conn,
                rt.ids,
                "follow.deleted",
                account_id,
                removed["id"],
                {"target_account_id": target_id, "uri": removed["uri"]},
            )
            await notifications.unfollowed(conn, account_id, target_id)
        return await _relationship(conn, account_id, target_id)

    relationship = await rt.store.write(unit)
    return relationship


async def answer_request(
    rt: Runtime, account_id: int, requester_id: int, accept: bool
) -> Relationship:
    """Authorize or reject a request to follow the caller; the relationship to the
    requester."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, requester_id)
        request = await follow_rows.delete_request(conn, requester_id, account_id)
        if request is None:
            raise AccountNotFound()
        if accept:
            await follow_rows.insert_follow(
                conn,
                {**request, "id": rt.ids.next_id(), "created_at": now_ms()},
            )
        await outbox.record(
            conn,
            rt.ids,
            "follow_request.authorized" if accept else "follow_request.rejected",
            account_id,
            request["id"],
            {"requester_id": requester_id, "uri": request["uri"]},
        )
        await notifications.request_answered(conn, account_id, requester_id)
        return await _relationship(conn, account_id, requester_id)

    relationship = await rt.store.write(unit)
    return relationship


async def relationships(rt: Runtime, viewer_id: int, target_ids: list[int]) -> list[Relationship]:
    """The viewer's relationships to existing accounts among `target_ids`, in order."""

    async def unit(conn: Connection) -> list[Relationship]:
        existing = {r["id"] for r in await follow_rows.accounts_by_ids(conn, target_ids)}
        wanted = [i for i in dict.fromkeys(target_ids) if i in existing]
        facts = await _facts(conn, viewer_id, wanted)
        return [_from_facts(facts, i) for i in wanted]

    return await rt.store.read(unit)


async def network(
    rt: Runtime, account_id: int, viewer_id: int | None, direction: str, page: Page
) -> list[Row]:
    """Followers (`direction="followers"`) or followed accounts of an account; empty when
    the account hides its network from others."""

    async def unit(conn: Connection) -> list[Row]:
        target = await _target(conn, account_id)
        if target["hide_collections"] and viewer_id != account_id:
            return []
        if direction == "followers":
            return await follow_rows.followers_page(conn, account_id, page)
        return await follow_rows.following_page(conn, account_id, page)

    return await rt.store.read(unit)


async def follow_requests(rt: Runtime, account_id: int, page: Page) -> list[Row]:
    """Accounts asking to follow the caller."""
    return await rt.store.read(follow_rows.requests_page, account_id, page)


async def block(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Block an account: follows and follow requests both ways end, and neither sees the
    other's statuses any more."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        if target_id == account_id:
            raise CannotFollow("This action is not allowed")
        for source, target in ((account_id, target_id), (target_id, account_id)):
            removed = await follow_rows.delete_follow(conn, source, target)
            await follow_rows.delete_request(conn, source, target)
            await list_rows.leave_lists_of(conn, source, target)
            if removed is not None and source == account_id:
                await outbox.record(
                    conn,
                    rt.ids,
                    "follow.deleted",
                    account_id,
                    removed["id"],
                    {"target_account_id": target_id, "uri": removed["uri"]},
                )
        block_id = rt.ids.next_id()
        await notifications.blocked(conn, account_id, target_id)
        if await follow_rows.insert_block(conn, block_id, account_id, target_id, now_ms()):
            await outbox.record(
                conn,
                rt.ids,
                "block.created",
                account_id,
                block_id,
                {"target_account_id": target_id},
            )
        return await _relationship(conn, account_id, target_id)

    try:
        relationship = await rt.store.write(unit)
    except IntegrityError:
        relationship = await rt.store.write(unit)
    return relationship


async def unblock(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Lift a block; the relationship after it."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        removed = await follow_rows.delete_block(conn, account_id, target_id)
        if removed is not None:
            await outbox.record(
                conn,
                rt.ids,
                "block.deleted",
                account_id,
                removed["id"],
                {"target_account_id": target_id},
            )
        return await _relationship(conn, account_id, target_id)

    relationship = await rt.store.write(unit)
    return relationship


# A timed mute lasts at most ten years (as a filter's `expires_in`); 0 is until unmuted.
MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


async def mute(
    rt: Runtime, account_id: int, target_id: int, notifications: bool, duration: int
) -> Relationship:
    """Mute an account (hiding its notifications too unless told not to), for `duration`
    seconds, or until unmuted when 0. Private: nothing is federated."""
    if not 0 <= duration <= MAX_MUTE_SECONDS:
        raise ValueError(f"duration must be within 0..{MAX_MUTE_SECONDS} seconds")

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        if target_id == account_id:
            raise CannotFollow("This action is not allowed")
        now = now_ms()
        expires = now + duration * 1000 if duration else None
        await follow_rows.upsert_mute(
            conn, rt.ids.next_id(), account_id, target_id, notifications, expires, now
        )
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def unmute(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Unmute an account; the relationship after it."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        await follow_rows.delete_mute(conn, account_id, target_id)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def blocked_accounts(rt: Runtime, account_id: int, page: Page) -> list[Row]:
    """The accounts the caller blocks, newest first."""
    return await rt.store.read(follow_rows.blocks_page, account_id, page)


async def muted_accounts(rt: Runtime, account_id: int, page: Page) -> list[Row]:
    """The accounts the caller mutes (live mutes), newest first."""
    return await rt.store.read(follow_rows.mutes_page, account_id, page, now_ms())


MAX_NOTE = 2000


async def set_note(rt: Runtime, account_id: int, target_id: int, comment: str) -> Relationship:
    """Write the caller's private note on an account (empty erases it)."""
    if len(comment) > MAX_NOTE:
        raise ValueError(f"comment is too long (maximum is {MAX_NOTE} characters)")

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        await follow_rows.set_note(conn, account_id, target_id, comment.strip(), now_ms())
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def familiar_followers(
    rt: Runtime, viewer_id: int, target_ids: list[int]
) -> list[tuple[int, list[Row]]]:
    """For each existing target: the accounts the viewer follows that follow it."""

    async def unit(conn: Connection) -> list[tuple[int, list[Row]]]:
        existing = {r["id"] for r in await follow_rows.accounts_by_ids(conn, target_ids)}
        return [
            (target, await follow_rows.familiar_followers(conn, viewer_id, target))
            for target in dict.fromkeys(target_ids)
            if target in existing
        ]

    return await rt.store.read(unit)


async def endorse(rt: Runtime, account_id: int, target_id: int, on: bool) -> Relationship:
    """Feature (or stop featuring) a followed account on the caller's profile."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        if on:
            if await follow_rows.follow_row(conn, account_id, target_id) is None:
                raise CannotFollow("This action is not allowed")  # only followed accounts
            await follow_rows.endorse(conn, rt.ids.next_id(), account_id, target_id, now_ms())
        else:
            await follow_rows.unendorse(conn, account_id, target_id)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def endorsements(rt: Runtime, account_id: int, page: Page) -> list[Row]:
    """The accounts an account features, newest first."""

    async def unit(conn: Connection) -> list[Row]:
        await _target(conn, account_id)
        return await follow_rows.endorsements_page(conn, account_id, page)

    return await rt.store.read(unit)
