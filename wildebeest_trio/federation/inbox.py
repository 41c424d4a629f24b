"""The inbox: verify a delivery, store it durably as a job, and apply it in a worker.

`receive` runs in the request (as Mastodon's InboxesController): size, domain blocks,
signature, origin, then the activity id is recorded with its job in one transaction and
the sender gets 202 at once. A replayed activity id is answered 202 and not queued again.
The jobs are applied in batches by `inbox_consumer`, which dispatches each activity to
the `inbox` package's handlers by type; unknown types are accepted and ignored.

An activity whose HTTP signer is not its actor (a forwarded reply, a relayed Delete) is
accepted only with a valid `RsaSignature2017` LD signature by the actor; otherwise it
is dropped with 202 and nothing stored, as Mastodon's ProcessActivityService drops it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from .. import metrics
from ..ids import now_ms
from ..jobs import JobKind
from ..jsonld import JsonLdError, verify_ld_signature
from ..signatures import SignatureInfo
from ..store import Connection, domain_blocks
from ..store import accounts as account_rows
from ..store import delivery as delivery_rows
from ..store import inbox as inbox_rows
from . import followers_sync
from .actors import RemoteKey, key_for, remote_key
from .as2 import link
from .fetch import DocumentRefused
from .verify import (
    Delivery,
    DeliveryRefused,
    host_of,
    read_delivery,
    read_signature,
    verify_delivery,
)

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

# Mastodon's ingress queue retries 8 times.
INBOX = JobKind("federation.inbox", max_attempts=8)
SEEN_DAYS = 30  # how long accepted activity ids are remembered
# Senders (and inboxes) whose checked facts are kept, and how often a delivery is checked
# again when they change under it before it is stored.
FACTS_KEPT = 4096
FACTS_TRIES = 3


class UnknownInbox(LookupError):
    """A personal inbox of no local account."""


def _dedupe_key(activity: dict[str, Any], body: bytes) -> str:
    """What identifies an activity for replay detection."""
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and activity_id:
        return activity_id[:2048]
    # An activity without an id is still processed once per distinct body.
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class _Asked:
    """What one delivery needs to know before it is verified."""

    hosts: tuple[str, ...]
    username: str | None
    actor_uri: str | None
    key_id: str | None


@dataclass(frozen=True)
class _Facts:
    """What the inbox reads before verifying."""

    suspended: bool
    unknown_inbox: bool
    owner_id: int | None
    actor_known: bool
    key: RemoteKey | None


class _Lookups:
    """The reads of a batch of prechecks, each host and key read once for all of them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._suspended: dict[str, bool] = {}
        self._keys: dict[str, RemoteKey | None] = {}

    async def suspended(self, host: str) -> bool:
        if host not in self._suspended:
            self._suspended[host] = await domain_blocks.is_suspended(self.conn, host)
        return self._suspended[host]

    async def key(self, key_id: str) -> RemoteKey | None:
        if key_id not in self._keys:
            row = await account_rows.public_key_by_key_id(self.conn, key_id)
            self._keys[key_id] = remote_key(row)
        return self._keys[key_id]


async def _precheck(lookups: _Lookups, asked: _Asked) -> _Facts:
    """Domain blocks, the inbox owner and the cached key."""
    conn = lookups.conn
    suspended = False
    for host in dict.fromkeys(asked.hosts):
        if host and await lookups.suspended(host):
            suspended = True
    owner_id: int | None = None
    if asked.username is not None:
        owner = await account_rows.local_account_by_username(conn, asked.username)
        if owner is None or owner["suspended_at"] is not None:
            return _Facts(suspended, True, None, False, None)
        owner_id = owner["id"]
    key = await lookups.key(asked.key_id) if asked.key_id is not None else None
    known = key is not None and key.actor_uri == asked.actor_uri
    if not known and asked.actor_uri:
        known = await inbox_rows.account_by_uri(conn, asked.actor_uri) is not None
    return _Facts(suspended, False, owner_id, known, key)


async def _read_facts(rt: Runtime, batch: list[_Asked]) -> list[_Facts]:
    """The facts of concurrent deliveries, read in one crossing."""

    async def unit(conn: Connection) -> list[_Facts]:
        lookups = _Lookups(conn)
        return [await _precheck(lookups, asked) for asked in batch]

    return await rt.store.read(unit)


def _clear(facts: _Facts, asked: _Asked) -> bool:
    """Whether the facts let a delivery on to its signature check with its key at hand
    (the only facts the inbox keeps: every other answer is read afresh)."""
    return (
        not facts.suspended
        and not facts.unknown_inbox
        and facts.key is not None
        and facts.key.actor_uri == asked.actor_uri
    )


def _remember_facts(rt: Runtime, asked: _Asked, facts: _Facts) -> None:
    """Keep facts that let a delivery through, for the next from the same sender; the
    oldest are forgotten past FACTS_KEPT."""
    kept = rt.inbox_facts
    kept.pop(asked, None)
    if _clear(facts, asked):
        kept[asked] = facts
        if len(kept) > FACTS_KEPT:
            del kept[next(iter(kept))]


@dataclass(frozen=True)
class _Accepted:
    """A verified delivery to store."""

    dedupe: str
    actor_uri: str
    payload: dict[str, Any]
    #: The signer's domain when it is to be marked available again, else "".
    revived: str
    #: What the delivery was checked against when those facts were kept from an earlier
    #: delivery (read again before storing it), else None.
    kept: tuple[_Asked, _Facts] | None = None


async def _store_accepted(rt: Runtime, batch: list[_Accepted]) -> list[bool | _Facts]:
    """Remember each activity id and queue its job, in one transaction for concurrent
    deliveries; whether each was new (a replay is not queued again).

    A delivery checked against kept facts is stored only if they are still what the
    database says, read in this transaction; otherwise nothing is stored for it and its
    result is the facts as they are now, to check it again."""

    async def unit(conn: Connection) -> list[bool | _Facts]:
        lookups = _Lookups(conn)
        stale: dict[int, _Facts] = {}
        for index, accepted in enumerate(batch):
            if accepted.kept is not None:
                asked, facts = accepted.kept
                now_facts = await _precheck(lookups, asked)
                if now_facts != facts:
                    stale[index] = now_facts
        storing = [accepted for index, accepted in enumerate(batch) if index not in stale]
        now = now_ms()
        for domain in sorted({accepted.revived for accepted in storing} - {""}):
            # A signed request from the domain: it is alive, deliver to it again.
            await delivery_rows.mark_available(conn, domain)
        # The first of two deliveries of one activity in a batch is the one remembered.
        first = {accepted.dedupe: accepted.actor_uri for accepted in reversed(storing)}
        new = await inbox_rows.remember_activities(conn, list(first.items()), now)
        stored: list[bool | _Facts] = []
        jobs: list[tuple[dict[str, Any], str | None]] = []
        for index, accepted in enumerate(batch):
            if index in stale:
                stored.append(stale[index])
                continue
            is_new = accepted.dedupe in new
            new.discard(accepted.dedupe)  # a second delivery in the batch is a replay
            if is_new:
                jobs.append((accepted.payload, None))
            stored.append(is_new)
        # The batch's jobs in one statement, in the order the deliveries came.
        await INBOX.enqueue_many(conn, rt.ids, jobs)
        return stored

    return await rt.store.write(unit)


async def _ld_signed_by_actor(rt: Runtime, activity: dict[str, Any], actor_uri: str) -> bool:
    """Whether the activity carries a valid RsaSignature2017 by its actor's key."""
    signature = activity.get("signature")
    if not isinstance(signature, dict) or signature.get("type") != "RsaSignature2017":
        return False
    creator = signature.get("creator")
    if not isinstance(creator, str) or not creator.startswith(("https://", "http://")):
        return False
    if await rt.store.read(domain_blocks.is_suspended, host_of(creator)):
        return False  # LD signatures from blocked domains are ignored
    try:
        key: RemoteKey | None = await key_for(rt, creator)
    except DocumentRefused:
        return False
    if key is None or key.actor_uri != actor_uri:
        return False
    try:
        return await trio.to_thread.run_sync(verify_ld_signature, activity, key.public_key_pem)
    except (JsonLdError, ValueError):
        return False


async def receive(
    rt: Runtime,
    *,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    username: str | None = None,
    client: str = "-",
    source: str | None = None,
) -> int:
    """Check and store one inbox POST; the status to answer (DeliveryRefused otherwise).

    UnknownInbox when `username` names no local account. Every refusal is logged with
    the sending server (the actor's host, else the signing key's), the client address
    and the reason, so an admin can tell why a server says its posts are refused.
    `source`: what the per-address bound on key fetches counts it as (`client` if None).
    """
    signature = read_signature("POST", url, headers)
    key_id = signature.key_id if isinstance(signature, SignatureInfo) else None
    actor_uri: str | None = None
    try:
        delivery = read_delivery("POST", url, headers, body, signature=signature)
        actor_uri = delivery.actor_uri
        status = await _accept(rt, delivery, username, source or client)
    except DeliveryRefused as exc:
        _log_refusal(actor_uri, key_id, client, exc.status, str(exc))
        metrics.inbox("refused", refusal_reason(exc.status, str(exc)))
        raise
    except UnknownInbox as exc:
        _log_refusal(actor_uri, key_id, client, 404, f"no local account {str(exc)[:100]!r}")
        metrics.inbox("refused", "unknown_inbox")
        raise
    metrics.inbox("accepted")
    return status


# Refusal messages (federation.verify, this module) by their opening words: a reason
# label of a few fixed values, whatever the sender put in the rest of the message.
_REASONS = (
    ("Request entity too large", "too_large"),
    ("The body is not", "malformed"),
    ("The activity has no actor", "malformed"),
    ("Request not signed", "unsigned"),
    ("Could not fetch the signing key", "unknown_key"),
    ("Unknown signing key", "unknown_key"),
    ("Verification failed", "bad_signature"),
    ("Too many deliveries", "key_waits"),
    ("The signing key does not belong", "key_mismatch"),
    ("The domain is blocked", "domain_blocked"),
    ("Your domain is blocked", "domain_blocked"),
    ("The object is not on", "foreign_origin"),
    ("The activity id is not on", "foreign_origin"),
)


def refusal_reason(status: int, message: str) -> str:
    """A refusal as one of a few metric labels (`http_<status>` for the unnamed ones)."""
    for start, reason in _REASONS:
        if message.startswith(start):
            return reason
    return f"http_{status}"


def _log_refusal(
    actor_uri: str | None, key_id: str | None, client: str, status: int, reason: str
) -> None:
    # %r: the sender wrote these strings, so they are quoted and escaped, one line each.
    log.info(
        "refused delivery from %r: %d %r (actor %r, key %r, client %s)",
        host_of(actor_uri) or host_of(key_id) or "unknown server",
        status,
        reason[:300],
        (actor_uri or "-")[:300],
        (key_id or "-")[:300],
        client,
    )


KEY_WAITS_REFUSAL = "Too many deliveries from your address are waiting for their keys"


async def _accept(rt: Runtime, delivery: Delivery, username: str | None, source: str) -> int:
    """Domain blocks, signature and origin checks, then the activity stored as a job.

    A delivery whose key is not stored waits for its actor to be fetched; `source` may
    wait for only so many keys at once (`Runtime.inbox_key_waits`), past that it is told
    429 without a fetch.
    """
    asked = _Asked(
        (delivery.actor_host, delivery.host_of(delivery.key_id)),
        username,
        delivery.actor_uri,
        delivery.key_id,
    )
    facts: _Facts | None = rt.inbox_facts.get(asked)
    kept = facts is not None
    if facts is None:
        facts = await rt.inbox_reads.submit(asked, functools.partial(_read_facts, rt))
        _remember_facts(rt, asked, facts)
    for _ in range(FACTS_TRIES):
        stored = await _check_and_store(rt, delivery, asked, facts, source, kept=kept)
        if not isinstance(stored, _Facts):
            return stored
        # What was kept changed before the delivery was stored: check it again as it is.
        facts, kept = stored, False
        _remember_facts(rt, asked, facts)
    raise DeliveryRefused(503, "The sender's keys or blocks are changing, try again later")


async def _check_and_store(
    rt: Runtime, delivery: Delivery, asked: _Asked, facts: _Facts, source: str, *, kept: bool
) -> int | _Facts:
    """Check a delivery against the facts and store it: the status to answer, or (facts
    `kept` from an earlier delivery that are no longer so) the facts as they are now."""
    activity, actor_uri, key_id = delivery.activity, delivery.actor_uri, delivery.key_id
    username = asked.username
    if facts.unknown_inbox:
        raise UnknownInbox(username)
    if facts.suspended:
        raise DeliveryRefused(403, "The domain is blocked")
    if (
        activity.get("type") == "Delete"
        and actor_uri is not None
        and link(activity.get("object")) == actor_uri
        and not facts.actor_known
    ):
        # Mastodon: the deletion of an actor we never knew needs no key fetch (it is gone).
        return 202
    waits_for = key_id if facts.key is None and actor_uri is not None else None
    if waits_for is not None and not rt.inbox_key_waits.enter(source, waits_for):
        raise DeliveryRefused(429, KEY_WAITS_REFUSAL)
    try:
        verified = await verify_delivery(
            rt, delivery, allow_forwarded=True, cached_key=facts.key, key_read=True
        )
    finally:
        if waits_for is not None:
            rt.inbox_key_waits.leave(source, waits_for)
    if verified.forwarded and not await _ld_signed_by_actor(
        rt, verified.activity, verified.actor_uri
    ):
        log.info(
            "dropping %s from %s: signed by %s without the actor's LD signature",
            activity.get("type"),
            verified.actor_uri,
            verified.key.actor_uri,
        )
        return 202
    signer_domain = delivery.host_of(verified.key.actor_uri)
    payload = {
        "activity": verified.activity,
        "actor": verified.actor_uri,
        "signer": verified.key.actor_uri,
        "delivered_to": facts.owner_id,
    }
    synchronization = _header(delivery.headers, followers_sync.HEADER)
    if synchronization and len(synchronization) <= followers_sync.MAX_HEADER:
        # FEP-8fcf: the signer's view of who here follows it, checked when applied.
        payload["sync"] = synchronization
    revived = signer_domain if signer_domain not in rt.delivery.healthy else ""
    dedupe = _dedupe_key(verified.activity, delivery.body)
    accepted = _Accepted(
        dedupe, verified.actor_uri, payload, revived, (asked, facts) if kept else None
    )
    stored = await rt.inbox_writes.submit(accepted, functools.partial(_store_accepted, rt))
    if isinstance(stored, _Facts):
        return stored
    if revived:
        rt.delivery.healthy.add(signer_domain)
    return 202


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


async def forget_old_activities(rt: Runtime) -> None:
    """Upkeep: drop remembered activity ids older than SEEN_DAYS."""
    await rt.store.write(inbox_rows.forget_activities, now_ms() - SEEN_DAYS * 24 * 3600 * 1000)
