"""Account aliases (`alsoKnownAs`) and moving an account to another one.

As on Mastodon: an account that wants to receive followers first lists the old one
among its aliases; the old account then starts the move, which is refused unless the
target names it in `alsoKnownAs`. The move sets `movedTo`, sends a `Move` to the
followers' servers (which re-follow the target) and moves local followers at once.
Remote accounts are resolved through WebFinger and a fresh fetch of their actor.
"""

from __future__ import annotations

import json

from ..federation.actors import refresh_actor
from ..federation.fetch import DocumentRefused
from ..federation.lookup import LookupFailed, webfinger
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, Row, outbox
from ..store import accounts as account_rows
from ..store import activitypub as ap_rows
from ..store import follows as follow_rows

MAX_ALIASES = 256  # what Mastodon keeps of a remote alsoKnownAs


class MoveError(ValueError):
    """An alias or move that cannot be made; the message says why."""


async def _local(rt: Runtime, username: str) -> Row:
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


async def resolve(rt: Runtime, acct: str) -> Row:
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


def _aliases(row: Row) -> list[str]:
    value = json.loads(row.get("also_known_as") or "[]")
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def _set_aliases(rt: Runtime, account_id: int, aliases: list[str]) -> None:
    async def unit(conn: Connection) -> None:
        await ap_rows.set_also_known_as(conn, account_id, json.dumps(aliases), now_ms())
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


async def start_move(rt: Runtime, username: str, acct: str) -> Row:
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
    if target["moved_to_account_id"] is not None:
        raise MoveError(f"{acct} has itself moved away")

    async def unit(conn: Connection) -> list[int]:
        await ap_rows.set_moved_to(conn, account["id"], target["id"], now_ms())
        await outbox.record(conn, rt.ids, "account.moved", account["id"], target["id"])
        # The actor document now names `movedTo`: servers refresh their copy.
        await outbox.record(conn, rt.ids, "account.updated", account["id"], account["id"])
        # Local followers follow the new account now; remote ones on receiving the Move.
        return await ap_rows.local_follower_ids(conn, account["id"])

    local_followers = await rt.store.write(unit)
    await _move_local_followers(rt, local_followers, account["id"], target["id"])
    return target


async def _move_local_followers(
    rt: Runtime, follower_ids: list[int], old_id: int, new_id: int
) -> None:
    from .follows import CannotFollow, FollowOptions, follow, unfollow

    for follower_id in follower_ids:
        if follower_id == new_id:
            continue
        blocked = await rt.store.read(follow_rows.blocked_either_way, follower_id, new_id)
        if not blocked:
            try:
                await follow(rt, follower_id, new_id, FollowOptions())
            except CannotFollow:
                continue
        await unfollow(rt, follower_id, old_id)
