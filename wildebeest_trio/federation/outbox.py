"""The outbox consumer: pending domain events become signed deliveries, exactly once.

One unit of work claims a batch of pending events (oldest first; on PostgreSQL other
processes' consumers skip the locked rows), builds each event's activity, queues one
delivery job per inbox and marks the events dispatched. The unit commits all of that or
nothing, so a crash at any point neither loses an event nor dispatches it twice.

The loop sleeps on the runtime's job signal, which every committed unit that recorded
an outbox event wakes (the `WorkQueued` effect), so delivery starts within milliseconds;
a poll catches writes made by other processes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ids import now_ms
from ..jsonld import JsonLdError, sign_ld_signature
from ..store import Connection
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import outbox as outbox_rows
from . import followers_sync
from .activities import Outgoing, allowed_inboxes, plan
from .delivery import enqueue_deliveries

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 50
MAX_POLL = 1.0
# Dispatched events are kept a while: an Undo names the activity it undoes by the
# event that sent it (a Like's id), and a week covers nearly every undo.
KEEP_DISPATCHED_MS = 7 * 24 * 3600 * 1000


def _ld_signed(rt: Runtime, out: Outgoing, pem: str) -> dict[str, Any]:
    """The activity with Mastodon's RsaSignature2017, or unsigned if it cannot be signed."""
    try:
        return sign_ld_signature(out.activity, rt.delivery.private_key(pem), out.key_id)
    except JsonLdError:
        log.exception("could not LD-sign %s; sending it without", out.activity.get("id"))
        return out.activity


async def _synchronization(
    conn: Connection,
    out: Outgoing,
    inboxes: list[str],
    digests: dict[str, tuple[str, dict[str, str]] | None],
) -> dict[str, dict[str, str]] | None:
    """The `Collection-Synchronization` header of each inbox's delivery when the activity
    is for its actor's followers only (FEP-8fcf, as Mastodon sends it: with followers-only
    posts); `digests` keeps each actor's (followers URL, digest by origin) for the batch."""
    actor_uri = out.activity.get("actor")
    if not isinstance(actor_uri, str):
        return None
    if actor_uri not in digests:
        actor = await account_rows.actor_by_uri(conn, actor_uri)
        if actor is None or actor["domain"] is not None or not actor["followers_url"]:
            digests[actor_uri] = None
        else:
            uris = await follow_rows.follower_uris_of(conn, actor["id"], local=False)
            digests[actor_uri] = (actor["followers_url"], followers_sync.digests_by_origin(uris))
    known = digests[actor_uri]
    if known is None or not followers_sync.followers_only(out.activity, known[0]):
        return None
    followers_url, by_origin = known
    headers = {}
    for inbox in inboxes:
        prefix = followers_sync.url_prefix(inbox)
        if prefix is not None:
            found = by_origin.get(prefix) or followers_sync.digest(())
            headers[inbox] = {
                followers_sync.HEADER: followers_sync.header_value(followers_url, actor_uri, found)
            }
    return headers


async def dispatch_pending(rt: Runtime, limit: int = BATCH) -> tuple[int, int]:
    """Dispatch one batch of pending events; (events handled, deliveries queued)."""

    async def unit(conn: Connection) -> tuple[int, int]:
        events = await outbox_rows.claim_pending(conn, limit)
        if not events:
            return 0, 0
        queued = 0
        suspended_cache: dict[str, bool] = {}
        digests: dict[str, tuple[str, dict[str, str]] | None] = {}
        for event in events:
            try:
                outgoing = await plan(conn, rt.config, event)
            except (KeyError, TypeError, ValueError):
                # A malformed event must not block the ones behind it forever.
                log.exception(
                    "outbox event %d (%s) could not be built", event["id"], event["event"]
                )
                continue
            for out in outgoing:
                inboxes = await allowed_inboxes(conn, out.inboxes, suspended_cache)
                if not inboxes:
                    continue
                activity = out.activity
                if out.ld_sign and (out.always_sign or not rt.config.authorized_fetch):
                    pem = await account_rows.private_key_of(conn, out.key_id)
                    if pem is not None:
                        activity = _ld_signed(rt, out, pem)
                queued += await enqueue_deliveries(
                    conn,
                    rt.ids,
                    key_id=out.key_id,
                    activity=activity,
                    inboxes=inboxes,
                    headers=await _synchronization(conn, out, inboxes, digests),
                )
        await outbox_rows.mark_dispatched(conn, [e["id"] for e in events], now_ms())
        return len(events), queued

    return await rt.store.write(unit)


async def run_outbox(rt: Runtime) -> None:
    """Dispatch events as they come, until cancelled."""
    poll = min(rt.config.job_poll_interval, MAX_POLL)
    while True:
        seen = rt.job_signal.generation
        handled, _ = await dispatch_pending(rt)
        if handled < BATCH:
            await rt.job_signal.wait_at_most(poll, seen)


async def purge_dispatched(rt: Runtime) -> int:
    """Scheduler task: forget events dispatched more than a week ago; how many."""
    return int(await rt.store.write(outbox_rows.purge_dispatched, now_ms() - KEEP_DISPATCHED_MS))
