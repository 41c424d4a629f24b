"""Following, blocking and muting accounts: the one place these relationships change.

The Mastodon API, the web pages, moves and the inbox handlers all come here: the `*_in`
functions run inside the caller's unit of work, the others own one. Follower counters,
the `follow` and `follow_request` notifications (and their withdrawal), list
memberships and the outbox events that federate a change happen here only. What a
local account does here is federated; what arrived from another server is not sent
back (`federate=False`, `by=None`), save the Accept or Reject its Follow asks for.
Mutes are private and never federated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from ..ids import IdGenerator, now_ms
from ..runtime import Runtime
from ..store import Connection, IntegrityError, RowView, account_domain_blocks, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import lists as list_rows
from ..store import statuses as status_rows
from ..store.paging import Page
from ..store.rows import (
    AccountPageRow,
    AccountRow,
    BlockAndMuteFacts,
    FollowFacts,
    FollowRow,
    MutedAccountPageRow,
)
from . import home_feed, notifications


class AccountNotFound(LookupError):
    """No such account (or a suspended one)."""


class CannotFollow(PermissionError):
    """Following this account is not possible (oneself)."""


class FollowLimitReached(CannotFollow):
    """The follower follows as many accounts as it may (Mastodon answers 422)."""


#: Mastodon's FollowLimitValidator: a local account follows at most FOLLOW_LIMIT accounts,
#: or more once its followers justify it (FOLLOW_RATIO times as many as follow it).
FOLLOW_LIMIT = 7_500
FOLLOW_RATIO = 1.1


def follow_limit(following_count: int, followers_count: int) -> int:
    """How many accounts a local account may follow (Mastodon's limit_for_account)."""
    if following_count < FOLLOW_LIMIT:
        return FOLLOW_LIMIT
    # Ruby's Float#round: halves away from zero.
    return max(int(followers_count * FOLLOW_RATIO + 0.5), FOLLOW_LIMIT)


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
    following: RowView | None
    followed_by: bool
    requested: RowView | None
    requested_by: bool
    blocking: bool = False
    blocked_by: bool = False
    muting: RowView | None = None
    note: str = ""
    endorsed: bool = False
    domain_blocking: bool = False


async def _target(conn: Connection, account_id: int) -> AccountRow:
    row = await account_rows.account_by_id(conn, account_id)
    if row is None or row["suspended_at"] is not None:
        raise AccountNotFound()
    return row


@dataclass(frozen=True)
class _Facts:
    """Everything between a viewer and some accounts, read at once."""

    follows: FollowFacts
    blocks: BlockAndMuteFacts
    notes: dict[int, str]
    endorsed: set[int]
    domain_blocking: set[int]


async def _facts(conn: Connection, viewer_id: int, target_ids: list[int]) -> _Facts:
    return _Facts(
        follows=await follow_rows.relationship_facts(conn, viewer_id, target_ids),
        blocks=await follow_rows.block_and_mute_facts(conn, viewer_id, target_ids, now_ms()),
        notes=await follow_rows.notes_on(conn, viewer_id, target_ids),
        endorsed=await follow_rows.endorsed_ids(conn, viewer_id, target_ids),
        domain_blocking=await account_domain_blocks.domain_blocked_ids(conn, viewer_id, target_ids),
    )


async def _relationship(conn: Connection, viewer_id: int, target_id: int) -> Relationship:
    return _from_facts(await _facts(conn, viewer_id, [target_id]), target_id)


def _from_facts(facts: _Facts, target_id: int) -> Relationship:
    follows, blocks = facts.follows, facts.blocks
    return Relationship(
        account_id=target_id,
        following=follows["following"].get(target_id),
        followed_by=target_id in follows["followed_by"],
        requested=follows["requested"].get(target_id),
        requested_by=target_id in follows["requested_by"],
        blocking=target_id in blocks["blocking"],
        blocked_by=target_id in blocks["blocked_by"],
        muting=blocks["muting"].get(target_id),
        note=facts.notes.get(target_id, ""),
        endorsed=target_id in facts.endorsed,
        domain_blocking=target_id in facts.domain_blocking,
    )


def _local(account: RowView) -> bool:
    return account["domain"] is None


async def _refusal(conn: Connection, follower: RowView, target: RowView) -> str | None:
    """Why `follower` may not follow `target`, or None (Mastodon's FollowService and
    inbound Follow: oneself, a block either way, a blocked domain, a moved account, the
    instance actor)."""
    if follower["id"] == target["id"]:
        return "You cannot follow yourself"
    if await follow_rows.blocked_either_way(conn, follower["id"], target["id"]):
        return "This action is not allowed"
    if await account_domain_blocks.blocks_account(
        conn, follower["id"], target["id"]
    ) or await account_domain_blocks.blocks_account(conn, target["id"], follower["id"]):
        return "This action is not allowed"
    if target["moved_to_account_id"] is not None:
        return "This account has moved"
    if _local(target) and target["actor_type"] == "Application":
        return "This action is not allowed"
    return None


async def _answer(
    conn: Connection,
    ids: IdGenerator,
    target: RowView,
    follower: RowView,
    *,
    accepted: bool,
    row_id: int | None,
    uri: str | None,
) -> None:
    """Tell a remote follower's server that `target` accepts or rejects its Follow (named
    by `uri`; `row_id` is the follow's or request's row, None for a refused Follow)."""
    await outbox.record(
        conn,
        ids,
        "follow_request.authorized" if accepted else "follow_request.rejected",
        target["id"],
        row_id if row_id is not None else ids.next_id(),  # names the Accept or Reject
        {"requester_id": follower["id"], "uri": uri},
    )


async def follow_in(
    conn: Connection,
    rt: Runtime,
    follower: RowView,
    target: RowView,
    options: FollowOptions,
    *,
    uri: str | None = None,
    bypass_locked: bool = False,
    bypass_limit: bool = False,
) -> None:
    """Inside a unit: `follower` follows `target`, at once or as a request (to a locked
    account unless `bypass_locked`, to a remote one until its server accepts, or from a
    silenced account); following again changes the options. A new follow of a local
    follower past its limit (`follow_limit`, unless `bypass_limit`, as a move's follows)
    is FollowLimitReached.

    A local follower's Follow goes out through the outbox, and a refusal raises
    `CannotFollow`. A remote follower's Follow (whose id is `uri`) is answered instead: an
    Accept when it follows at once or did already, a Reject when refused. The target, if
    local, gets its `follow` or `follow_request` notification.
    """
    refusal = await _refusal(conn, follower, target)
    if refusal is not None:
        if _local(follower):
            raise CannotFollow(refusal)
        await _answer(conn, rt.ids, target, follower, accepted=False, row_id=None, uri=uri)
        return
    languages = json.dumps(options.languages) if options.languages else None
    for table, existing in (
        ("follows", await follow_rows.follow_row(conn, follower["id"], target["id"])),
        ("follow_requests", await follow_rows.request_row(conn, follower["id"], target["id"])),
    ):
        if existing is None:
            continue
        reblogs = bool(existing["show_reblogs"]) if options.reblogs is None else options.reblogs
        await follow_rows.update_follow_options(
            conn,
            table,
            existing["id"],
            reblogs,
            bool(existing["notify"]) if options.notify is None else options.notify,
            languages if options.languages is not None else existing["languages"],
        )
        if table == "follows" and reblogs != bool(existing["show_reblogs"]):
            # The target's boosts join or leave the follower's home.
            if reblogs:
                await home_feed.accounts_shown(conn, follower["id"], [target["id"]])
            else:
                await home_feed.accounts_hidden(conn, [follower["id"]], [target["id"]])
        if uri is not None:
            # A repeated Follow names the follow from now on (as Mastodon).
            await follow_rows.set_follow_uri(conn, existing["id"], uri)
        if table == "follows" and not _local(follower):
            # Accepted again.
            await _answer(
                conn, rt.ids, target, follower, accepted=True, row_id=existing["id"], uri=uri
            )
        return
    if _local(follower) and not bypass_limit:
        limit = follow_limit(follower["following_count"], follower["followers_count"])
        if follower["following_count"] >= limit:
            raise FollowLimitReached(f"You cannot follow more than {limit} people")
    row: dict[str, Any] = {
        "id": rt.ids.next_id(),
        "account_id": follower["id"],
        "target_account_id": target["id"],
        "uri": uri,
        "show_reblogs": True if options.reblogs is None else options.reblogs,
        "notify": bool(options.notify),
        "languages": languages,
        "created_at": now_ms(),
    }
    requested = (
        (target["locked"] and not bypass_locked)
        or not _local(target)
        or follower["silenced_at"] is not None
    )
    if requested:
        await follow_rows.insert_request(conn, row)
    else:
        await follow_rows.insert_follow(conn, row)
        await home_feed.accounts_shown(conn, follower["id"], [target["id"]])
    if _local(follower):
        event = "follow.requested" if requested else "follow.created"
        payload = {"target_account_id": target["id"]}
        await outbox.record(conn, rt.ids, event, follower["id"], row["id"], payload)
    elif not requested:
        await _answer(conn, rt.ids, target, follower, accepted=True, row_id=row["id"], uri=uri)
    await notifications.followed(
        conn, notifications.Notifier(rt), follower["id"], target["id"], requested=requested
    )


async def follow(
    rt: Runtime, account_id: int, target_id: int, options: FollowOptions
) -> Relationship:
    """Follow an account: at once, or as a request when it is locked. Following again
    changes the options."""

    async def unit(conn: Connection) -> Relationship:
        target = await _target(conn, target_id)
        follower = await _target(conn, account_id)
        await follow_in(conn, rt, follower, target, options)
        return await _relationship(conn, account_id, target_id)

    try:
        relationship = await rt.store.write(unit)
    except IntegrityError:
        # A concurrent request followed first: this one now finds the follow and updates it.
        relationship = await rt.store.write(unit)
    return relationship


async def accept_request_in(
    conn: Connection, rt: Runtime, request: RowView, *, federate: bool
) -> FollowRow | None:
    """Inside a unit: a follow request becomes a follow (keeping its options and the
    Follow's id, which a later Undo names); the follow, or None if the request is gone.

    The target authorized it here (`federate`: a remote requester's server gets the
    Accept) or, for a local requester, the remote target's server accepted it. The
    `follow_request` notification goes.
    """
    follower_id, target_id = request["account_id"], request["target_account_id"]
    if await follow_rows.delete_request(conn, follower_id, target_id) is None:
        return None
    await notifications.request_answered(conn, target_id, follower_id)
    follow_row = await follow_rows.follow_row(conn, follower_id, target_id)
    if follow_row is None:
        # The follow keeps the request's columns (its options, the Follow's id) under a new id.
        follow_row = cast(FollowRow, {**request, "id": rt.ids.next_id(), "created_at": now_ms()})
        await follow_rows.insert_follow(conn, follow_row)
        await home_feed.accounts_shown(conn, follower_id, [target_id])
    if federate:
        follower = await account_rows.account_by_id(conn, follower_id)
        target = await account_rows.account_by_id(conn, target_id)
        if follower is not None and target is not None and not _local(follower):
            await _answer(
                conn,
                rt.ids,
                target,
                follower,
                accepted=True,
                row_id=follow_row["id"],
                uri=request["uri"],
            )
    return follow_row


async def unfollow_in(
    conn: Connection, rt: Runtime, follower: RowView, target: RowView, *, by: int | None
) -> FollowRow | None:
    """Inside a unit: end `follower`'s follow of `target`, or its pending request; the
    removed row, or None.

    The counters follow, the target leaves the follower's lists and the `follow` or
    `follow_request` notification goes. `by` is the local account ending it, whose
    action is federated: the follower's as an Undo of its Follow, the target's (a
    refused request, a removed follower, a block) as a Reject of a remote follower's
    Follow; None when another server ended it and knows already.
    """
    removed = await follow_rows.delete_follow(conn, follower["id"], target["id"])
    if removed is not None:
        await list_rows.leave_lists_of(conn, follower["id"], target["id"])  # lists hold follows
        await home_feed.accounts_hidden(conn, [follower["id"]], [target["id"]])
    else:
        removed = await follow_rows.delete_request(conn, follower["id"], target["id"])
    if removed is None:
        return None
    await notifications.unfollowed(conn, follower["id"], target["id"])
    if by is not None and by == follower["id"]:
        await outbox.record(
            conn,
            rt.ids,
            "follow.deleted",
            follower["id"],
            removed["id"],
            {"target_account_id": target["id"], "uri": removed["uri"]},
        )
    elif by is not None and by == target["id"] and not _local(follower):
        await _answer(
            conn, rt.ids, target, follower, accepted=False, row_id=removed["id"], uri=removed["uri"]
        )
    return removed


async def unfollow(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Stop following (or withdraw a follow request)."""

    async def unit(conn: Connection) -> Relationship:
        target = await _target(conn, target_id)
        follower = await _target(conn, account_id)
        await unfollow_in(conn, rt, follower, target, by=account_id)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def answer_request(
    rt: Runtime, account_id: int, requester_id: int, accept: bool
) -> Relationship:
    """Authorize or reject a request to follow the caller; the relationship to the
    requester."""

    async def unit(conn: Connection) -> Relationship:
        requester = await _target(conn, requester_id)
        request = await follow_rows.request_row(conn, requester_id, account_id)
        if request is None:
            raise AccountNotFound()
        if accept:
            await accept_request_in(conn, rt, request, federate=True)
        else:
            me = await _target(conn, account_id)
            await unfollow_in(conn, rt, requester, me, by=account_id)
        return await _relationship(conn, account_id, requester_id)

    return await rt.store.write(unit)


async def remove_from_followers(rt: Runtime, account_id: int, follower_id: int) -> Relationship:
    """Make an account stop following the caller (a remote one's server gets a Reject of
    its Follow, as Mastodon sends); its pending request, if any, stays."""

    async def unit(conn: Connection) -> Relationship:
        follower = await _target(conn, follower_id)
        if await follow_rows.follow_row(conn, follower_id, account_id) is not None:
            me = await _target(conn, account_id)
            await unfollow_in(conn, rt, follower, me, by=account_id)
        return await _relationship(conn, account_id, follower_id)

    return await rt.store.write(unit)


async def hidden_account_ids(conn: Connection, viewer_id: int, now: int) -> set[int]:
    """The accounts a viewer does not see: blocked either way, muted (until the mute ends),
    or on a domain the viewer blocks. A unit, for `store.read`."""
    return await status_rows.hidden_account_ids(conn, viewer_id, now)


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
) -> list[AccountPageRow]:
    """Followers (`direction="followers"`) or followed accounts of an account; empty when
    the account hides its network from others."""

    async def unit(conn: Connection) -> list[AccountPageRow]:
        target = await _target(conn, account_id)
        if target["hide_collections"] and viewer_id != account_id:
            return []
        if direction == "followers":
            return await follow_rows.followers_page(conn, account_id, page)
        return await follow_rows.following_page(conn, account_id, page)

    return await rt.store.read(unit)


async def follow_requests(rt: Runtime, account_id: int, page: Page) -> list[AccountPageRow]:
    """Accounts asking to follow the caller."""
    return await rt.store.read(follow_rows.requests_page, account_id, page)


async def block_in(
    conn: Connection,
    rt: Runtime,
    account: RowView,
    target: RowView,
    *,
    federate: bool,
    uri: str | None = None,
) -> None:
    """Inside a unit: `account` blocks `target` (a remote account's block named by its
    Block's `uri`). Follows and requests end both ways (a local blocker's undone and
    refused as `unfollow_in` tells them), what the blocked account caused the blocker
    is forgotten, and a local blocker's Block goes out (`federate`)."""
    if account["id"] == target["id"]:
        raise CannotFollow("This action is not allowed")
    await home_feed.hold(conn, [account["id"], target["id"]])  # both feeds change below
    by = account["id"] if federate else None
    for source, dest in ((account, target), (target, account)):
        await unfollow_in(conn, rt, source, dest, by=by)
    await notifications.blocked(conn, account["id"], target["id"])
    block_id = rt.ids.next_id()
    inserted = await follow_rows.insert_block(
        conn, block_id, account["id"], target["id"], now_ms(), uri
    )
    # Neither sees the other's statuses, nor boosts of them.
    await home_feed.accounts_hidden(conn, [account["id"]], [target["id"]])
    await home_feed.accounts_hidden(conn, [target["id"]], [account["id"]])
    if inserted and federate:
        payload = {"target_account_id": target["id"]}
        await outbox.record(conn, rt.ids, "block.created", account["id"], block_id, payload)


async def block(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Block an account: follows and follow requests both ways end, and neither sees the
    other's statuses any more."""

    async def unit(conn: Connection) -> Relationship:
        target = await _target(conn, target_id)
        account = await _target(conn, account_id)
        await block_in(conn, rt, account, target, federate=True)
        return await _relationship(conn, account_id, target_id)

    try:
        relationship = await rt.store.write(unit)
    except IntegrityError:
        relationship = await rt.store.write(unit)
    return relationship


async def unblock_in(
    conn: Connection, rt: Runtime, account: RowView, target: RowView, *, federate: bool
) -> None:
    """Inside a unit: lift `account`'s block of `target` (a local blocker's Undo goes out
    when `federate`)."""
    removed = await follow_rows.delete_block(conn, account["id"], target["id"])
    if removed is not None:
        await home_feed.feeds_stale(conn, [account["id"], target["id"]])
    if removed is not None and federate:
        payload = {"target_account_id": target["id"]}
        await outbox.record(conn, rt.ids, "block.deleted", account["id"], removed["id"], payload)


async def unblock(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Lift a block; the relationship after it."""

    async def unit(conn: Connection) -> Relationship:
        target = await _target(conn, target_id)
        account = await _target(conn, account_id)
        await unblock_in(conn, rt, account, target, federate=True)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


# A timed mute lasts at most ten years (as a filter's `expires_in`); 0 is until unmuted.
MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


async def mute_in(
    conn: Connection,
    rt: Runtime,
    account_id: int,
    target_id: int,
    hide_notifications: bool,
    duration: int,
) -> None:
    """Inside a unit: mute an account (and its notifications when `hide_notifications`)
    for `duration` seconds, or until unmuted when 0. Private: nothing is federated."""
    if target_id == account_id:
        raise CannotFollow("This action is not allowed")
    now = now_ms()
    expires = now + duration * 1000 if duration else None
    await follow_rows.upsert_mute(
        conn, rt.ids.next_id(), account_id, target_id, hide_notifications, expires, now
    )
    await home_feed.muted_until(conn, account_id, target_id, expires)


async def mute(
    rt: Runtime, account_id: int, target_id: int, notifications: bool, duration: int
) -> Relationship:
    """Mute an account (hiding its notifications too unless told not to), for `duration`
    seconds, or until unmuted when 0. Private: nothing is federated."""
    if not 0 <= duration <= MAX_MUTE_SECONDS:
        raise ValueError(f"duration must be within 0..{MAX_MUTE_SECONDS} seconds")

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        await mute_in(conn, rt, account_id, target_id, notifications, duration)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def unmute(rt: Runtime, account_id: int, target_id: int) -> Relationship:
    """Unmute an account; the relationship after it."""

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        if await follow_rows.delete_mute(conn, account_id, target_id):
            # Its statuses and the boosts of them come back: the feed is rebuilt.
            await home_feed.feeds_stale(conn, [account_id])
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def blocked_accounts(rt: Runtime, account_id: int, page: Page) -> list[AccountPageRow]:
    """The accounts the caller blocks, newest first."""
    return await rt.store.read(follow_rows.blocks_page, account_id, page)


async def muted_accounts(rt: Runtime, account_id: int, page: Page) -> list[MutedAccountPageRow]:
    """The accounts the caller mutes (live mutes), newest first."""
    return await rt.store.read(follow_rows.mutes_page, account_id, page, now_ms())


MAX_NOTE = 2000


async def set_note_in(conn: Connection, account_id: int, target_id: int, comment: str) -> None:
    """Inside a unit: write an account's private note on another (empty erases it)."""
    if len(comment) > MAX_NOTE:
        raise ValueError(f"comment is too long (maximum is {MAX_NOTE} characters)")
    await follow_rows.set_note(conn, account_id, target_id, comment.strip(), now_ms())


async def set_note(rt: Runtime, account_id: int, target_id: int, comment: str) -> Relationship:
    """Write the caller's private note on an account (empty erases it)."""
    if len(comment) > MAX_NOTE:
        raise ValueError(f"comment is too long (maximum is {MAX_NOTE} characters)")

    async def unit(conn: Connection) -> Relationship:
        await _target(conn, target_id)
        await set_note_in(conn, account_id, target_id, comment)
        return await _relationship(conn, account_id, target_id)

    return await rt.store.write(unit)


async def familiar_followers(
    rt: Runtime, viewer_id: int, target_ids: list[int]
) -> list[tuple[int, list[AccountRow]]]:
    """For each existing target: the accounts the viewer follows that follow it."""

    async def unit(conn: Connection) -> list[tuple[int, list[AccountRow]]]:
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


async def endorsements(rt: Runtime, account_id: int, page: Page) -> list[AccountPageRow]:
    """The accounts an account features, newest first."""

    async def unit(conn: Connection) -> list[AccountPageRow]:
        await _target(conn, account_id)
        return await follow_rows.endorsements_page(conn, account_id, page)

    return await rt.store.read(unit)
