"""Inbound activity handlers, one module per family, dispatched by activity type.

Each handler gets a `Context` (the verified activity, its actor's account row, the
local account whose personal inbox received it) and applies the activity in one unit of
work; statuses it creates or removes are published to streams after the commit.
Unknown types are accepted and ignored; documents that cannot be fetched or trusted
drop the activity (logged), and transient failures raise so the job retries.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..federation.actors import ensure_account
from ..federation.fetch import DocumentRefused, DocumentUnavailable
from ..federation.notes import NoteRefused
from ..store import Connection, RowView, domain_blocks
from ..store import inbox as inbox_rows
from ..store.rows import AccountRow

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

# Mastodon: a suspended actor may still clean up after itself.
ALLOWED_WHEN_SUSPENDED = frozenset({"Delete", "Reject", "Undo", "Update"})


@dataclass(frozen=True)
class Context:
    """One verified inbound activity being applied."""

    rt: Runtime
    activity: dict[str, Any]
    actor: RowView
    delivered_to: int | None
    #: Who signed the delivery when not its actor (a relay, a forwarder), by actor URI.
    signer: str | None = None

    @property
    def activity_id(self) -> str | None:
        value = self.activity.get("id")
        return value if isinstance(value, str) else None


Handler = Callable[[Context], Awaitable[None]]


@functools.cache
def _table() -> Mapping[str, Handler]:
    """Which handler applies each activity type (built once)."""
    # Imported here: the handler modules import this package (Context, ensure_account).
    from . import collections, flags, follows, interactions, moves, notes, quotes, undo

    return MappingProxyType(
        {
            "Follow": follows.on_follow,
            # Accept, Reject and Delete answer collections and quotes too, and hand anything
            # else on; Add, Update and Remove carry collections besides pins and posts.
            "Accept": collections.on_accept,
            "Reject": collections.on_reject,
            "Block": follows.on_block,
            "Undo": undo.on_undo,
            "Create": notes.on_create,
            "Update": collections.on_update,
            "Delete": quotes.on_delete,
            "QuoteRequest": quotes.on_quote_request,
            "FeatureRequest": collections.on_feature_request,
            "Like": interactions.on_like,
            "Announce": interactions.on_announce,
            "Move": moves.on_move,
            "Flag": flags.on_flag,
            "Add": collections.on_add,
            "Remove": collections.on_remove,
        }
    )


@dataclass(frozen=True)
class Known:
    """What a batch of activities read about their actors before being applied."""

    #: Accounts by actor URI (the ones known here; others are fetched when applied).
    accounts: Mapping[str, AccountRow] = field(default_factory=dict)
    #: Which of those accounts' domains are suspended.
    suspended: frozenset[str] = frozenset()


async def read_known(conn: Connection, payloads: Sequence[RowView]) -> Known:
    """The actors of stored activities and their domains' suspensions, in the caller's
    unit: one read for a whole batch instead of two per activity."""
    uris = sorted({p["actor"] for p in payloads if isinstance(p.get("actor"), str)})
    accounts = {row["uri"]: row for row in await inbox_rows.accounts_by_uris(conn, uris)}
    domains = {row["domain"] for row in accounts.values() if row["domain"] is not None}
    suspended = {d for d in sorted(domains) if await domain_blocks.is_suspended(conn, d)}
    return Known(accounts, frozenset(suspended))


async def dispatch(rt: Runtime, payload: dict[str, Any], known: Known | None = None) -> None:
    """Apply one stored activity (`known`: what its batch already read about its actor)."""
    if payload.get("sync"):
        # Imported here: the handler modules import this package.
        from . import followers_sync

        await followers_sync.check(rt, payload)
    activity = payload.get("activity")
    if not isinstance(activity, dict):
        return
    kind = activity.get("type")
    handler = _table().get(kind) if isinstance(kind, str) else None
    if handler is None:
        log.debug("ignoring an activity of type %r", kind)
        return
    known = known or Known()
    uri = payload.get("actor")
    actor = known.accounts.get(uri) if isinstance(uri, str) else None
    if actor is not None:
        suspended = actor["domain"] in known.suspended
    else:
        actor = await ensure_account(rt, uri)
        if actor is None or actor["domain"] is None:
            return
        suspended = await rt.store.read(domain_blocks.is_suspended, actor["domain"])
    if actor["domain"] is None:
        return  # activities "from" local actors are never taken from outside
    if suspended:
        return  # blocked after the delivery was accepted
    if actor["suspended_at"] is not None and kind not in ALLOWED_WHEN_SUSPENDED:
        return
    try:
        signer = payload.get("signer")
        relayed_by = signer if isinstance(signer, str) and signer != actor["uri"] else None
        await handler(Context(rt, activity, actor, payload.get("delivered_to"), relayed_by))
    except DocumentUnavailable as exc:
        # The origin is down or busy: the job is tried again later, with backoff.
        raise RuntimeError(f"{kind} {activity.get('id')}: {exc}") from None
    except (DocumentRefused, NoteRefused) as exc:
        log.info("dropping %s %s: %s", kind, activity.get("id"), exc)
