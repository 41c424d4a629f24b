"""Account aliases (`alsoKnownAs`) and moving an account to another one.

As on Mastodon: an account that wants to receive followers first lists the old one
among its aliases; the old account then starts the move, which is refused unless the
target names it in `alsoKnownAs`. The move sets `movedTo`, sends a `Move` to the
followers' servers (which re-follow the target) and moves local followers at once.
Remote accounts are resolved through WebFinger and a fresh fetch of their actor.

A remote account's `Move` (inbox/moves.py) comes to `moved` too, so local
followers move the same way whichever server the account left.
"""

from __future__ import annotations

import json

from ..federation.actors import refresh_actor
from ..federation.fetch import DocumentRefused, fetch_document
from ..federation.lookup import LookupFailed, webfinger
from ..ids import now_ms
from ..runtime import Runtime
from ..serializers.accounts import acct as acct_of
from ..store import Connection, IntegrityError, RowView, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import lists as list_rows
from ..store.rows import AccountRow
from . import follows
from .follows import CannotFollow, FollowOptions

MAX_ALIASES = 256  # what Mastodon keeps of a remote alsoKnownAs


# Mastodon's AccountMigration::COOLDOWN_PERIOD.
MOVE_COOLDOWN_MS = 30 * 86_400_000


class MoveError(ValueError):
    """An alias or move that cannot be made; the message says why."""


async def _local(rt: Runtime, username: str) -> AccountRow:
    row = await rt.store.read(account_rows.account_by_acct, username, None)
    if row is None or row["suspended_at"] is not None or row["actor_type"] == "Application":
        raise MoveError(f"no local account {username!r}")
    return row


def _split(rt: Runtime, acct: str) -> tuple[str, str | None]:
    text = acct.strip().removeprefix("acct:").lstrip("@")
    username, _, domain = text.partition("@")
    if not username or " " in text or "/" in text:
        raise MoveError(f"{acct!r} is not an account address (user@domain)")
    if not domain or domain.lower() == rt.config.domain:
        return username, None
    return username, domain.lower()


async def resolve(rt: Runtime, acct: str) -> AccountRow:
    """An account by `user@domain`: a local one as it is, a remote one freshly fetched."""
    username, domain = _split(rt, acct)
    if domain is None:
        return await _local(rt, username)
    # Always fetched afresh: a move is checked against the target's current aliases.
    try:
        uri = await webfinger(rt, username, domain)
        await refresh_actor(rt, uri)
    except LookupFailed as exc:
        raise MoveError(f"cannot look up {username}@{domain}: {exc}") from None
    except DocumentRefused as exc:
        raise MoveError(f"cannot fetch {uri}: {exc}") from None
    row = await rt.store.read(account_rows.actor_by_uri, uri)
    if row is None:  # an actor without a key is stored but cannot be followed
        raise MoveError(f"{uri} publishes no key")
    return row


def _aliases(row: RowView) -> list[str]:
    value = json.loads(row.get("also_known_as") or "[]")
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def _set_aliases(rt: Runtime, account_id: int, aliases: list[str]) -> None:
    async def unit(conn: Connection) -> None:
        await account_rows.set_also_known_as(conn, account_id, json.dumps(aliases), now_ms())
        await outbox.record(conn, rt.ids, "account.updated", account_id, account_id)

    await rt.store.write(unit)


async def add_alias(rt: Runtime, username: str, acct: str) -> list[str]:
    """List another account as this one's alias (so it may move here); the aliases."""
    account = await _local(rt, username)
    target = await resolve(rt, acct)
    if target["id"] == account["id"]:
        raise MoveError("an account cannot be its own alias")
    aliases = _aliases(account)
    if target["uri"] not in aliases:
        if len(aliases) >= MAX_ALIASES:
            raise MoveError(f"at most {MAX_ALIASES} aliases")
        aliases.append(target["uri"])
        await _set_aliases(rt, account["id"], aliases)
    return aliases


async def remove_alias(rt: Runtime, username: str, acct: str) -> list[str]:
    """Forget an alias, named by `user@domain` or by its actor URI; the aliases left."""
    account = await _local(rt, username)
    aliases = _aliases(account)
    if acct in aliases:
        aliases.remove(acct)
        await _set_aliases(rt, account["id"], aliases)
        return aliases
    name, domain = _split(rt, acct)
    if domain is None:
        target = await rt.store.read(account_rows.account_by_acct, name, None)
    else:
        target = await rt.store.read(account_rows.account_by_acct, name, domain)
    if target is None or target["uri"] not in aliases:
        raise MoveError(f"{acct} is not an alias of {username}")
    aliases.remove(target["uri"])
    await _set_aliases(rt, account["id"], aliases)
    return aliases


async def _moved_away(rt: Runtime, target: AccountRow) -> bool:
    """Whether a remote account's actor names an account it moved to (`movedTo`), which
    the stored account does not record."""
    if target["domain"] is None:
        return False
    try:
        document = await fetch_document(rt, target["uri"])
    except DocumentRefused as exc:
        raise MoveError(f"cannot fetch {target['uri']}: {exc}") from None
    return isinstance(document.get("movedTo"), str)


async def start_move(rt: Runtime, username: str, acct: str) -> AccountRow:
    """Move an account to `acct`, which must list it as an alias; the target account."""
    account = await _local(rt, username)
    target = await resolve(rt, acct)
    if target["id"] == account["id"]:
        raise MoveError("an account cannot move to itself")
    if account["uri"] not in _aliases(target):
        raise MoveError(
            f"{acct} does not list {account['uri']} among its aliases (alsoKnownAs); "
            "add the alias on the new account first"
        )
    if target["moved_to_account_id"] is not None or await _moved_away(rt, target):
        raise MoveError(f"{acct} has itself moved away")
    if account["moved_to_account_id"] == target["id"]:
        raise MoveError(f"{acct} is the same account you have already moved to")
    if account["moved_at"] is not None and account["moved_at"] > now_ms() - MOVE_COOLDOWN_MS:
        raise MoveError("You are on cooldown: an account can move once every 30 days")
    await moved(rt, account, target)
    return target


async def moved(rt: Runtime, origin: RowView, target: RowView) -> None:
    """`origin` moved to `target` (checked by the caller against the target's aliases):
    a local account's move, or a remote one's `Move`.

    The move is recorded; a local origin's goes out as a Move to its followers' servers
    (which move their followers) and an Update of its actor (now naming `movedTo`).
    Each local follower then follows the target instead, as Mastodon's
    FollowMigrationService does, and what local accounts held against the old account
    comes to the new one (`_carry_over`).
    """

    async def unit(conn: Connection) -> list[int]:
        await account_rows.set_moved_to(conn, origin["id"], target["id"], now_ms())
        if origin["domain"] is None:
            await outbox.record(conn, rt.ids, "account.moved", origin["id"], target["id"])
            await outbox.record(conn, rt.ids, "account.updated", origin["id"], origin["id"])
        return [f["account_id"] for f in await follow_rows.local_followers(conn, origin["id"])]

    for follower_id in await rt.store.write(unit):
        try:
            await rt.store.write(_migrate, rt, follower_id, origin["id"], target["id"])
        except IntegrityError:
            # The follower followed the target meanwhile: now it finds that follow.
            await rt.store.write(_migrate, rt, follower_id, origin["id"], target["id"])
    await rt.store.write(_carry_over, rt, origin, target)


async def _migrate(
    conn: Connection, rt: Runtime, follower_id: int, origin_id: int, target_id: int
) -> None:
    """One local follower of a moved account follows its new account, with the same
    options and lists, then stops following the old one (in one unit)."""
    old = await follow_rows.follow_row(conn, follower_id, origin_id)
    follower = await account_rows.account_by_id(conn, follower_id)
    origin = await account_rows.account_by_id(conn, origin_id)
    target = await account_rows.account_by_id(conn, target_id)
    if old is None or follower is None or origin is None or target is None:
        return  # unfollowed meanwhile, or gone
    if target["suspended_at"] is not None:
        return
    languages = json.loads(old["languages"]) if old["languages"] else None
    options = FollowOptions(
        reblogs=bool(old["show_reblogs"]), notify=bool(old["notify"]), languages=languages
    )
    lists = await list_rows.lists_with(conn, follower_id, origin_id)
    try:
        # A local account is followed at once, even when locked (as Mastodon does).
        await follows.follow_in(
            conn,
            rt,
            follower,
            target,
            options,
            bypass_locked=target["domain"] is None,
            bypass_limit=True,  # as Mastodon's move: the follower had these follows already
        )
    except CannotFollow:
        return  # a block between them, or the like: the old follow stays (as on Mastodon)
    if await follow_rows.follow_row(conn, follower_id, target_id) is not None:
        # Lists hold followed accounts: the new one takes the old one's place.
        for found in lists:
            await list_rows.add_members(conn, found["id"], [(rt.ids.next_id(), target_id)])
    await follows.unfollow_in(conn, rt, follower, origin, by=follower_id)


# Mastodon's texts (its move_handler strings), on the notes it writes about the new account.
NOTE_COPIED = "This user moved from {acct}, here were your previous notes about them:"
NOTE_BLOCKED = "This user moved from {acct}, which you had blocked."
NOTE_MUTED = "This user moved from {acct}, which you had muted."


async def _carry_over(conn: Connection, rt: Runtime, origin: RowView, target: RowView) -> None:
    """As Mastodon's MoveWorker: local accounts' notes on the old account are copied to the
    new one, and their blocks and mutes of it carried over (unless they follow the new
    account, or block or mute it already), each with a note that says why."""
    name = acct_of(rt.config, origin)
    for note in await follow_rows.local_notes_about(conn, origin["id"]):
        held = (await follow_rows.notes_on(conn, note["account_id"], [target["id"]])).get(
            target["id"]
        )
        lines = [NOTE_COPIED.format(acct=name), note["comment"]]
        comment = "\n".join(lines if held is None else [*lines, "\n", held])
        if len(comment) > follows.MAX_NOTE:
            if held is not None:
                continue  # as Mastodon: too long to merge, the new note stays as it was
            comment = note["comment"]
        await follows.set_note_in(conn, note["account_id"], target["id"], comment)
    now = now_ms()
    for row in await follow_rows.local_blockers_and_muters(conn, origin["id"], now):
        account_id = row["account_id"]
        facts = await follow_rows.block_and_mute_facts(conn, account_id, [target["id"]], now)
        following = await follow_rows.follow_row(conn, account_id, target["id"])
        already = facts["blocking" if row["kind"] == "block" else "muting"]
        if following is not None or target["id"] in already:
            continue
        if row["kind"] == "block":
            account = await account_rows.account_by_id(conn, account_id)
            if account is None:
                continue
            await follows.block_in(conn, rt, account, target, federate=True)
            text = NOTE_BLOCKED
        else:
            await follows.mute_in(
                conn, rt, account_id, target["id"], bool(row["hide_notifications"]), 0
            )
            text = NOTE_MUTED
        if not (await follow_rows.notes_on(conn, account_id, [target["id"]])):
            await follows.set_note_in(conn, account_id, target["id"], text.format(acct=name))
