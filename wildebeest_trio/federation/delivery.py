"""Delivering activities: one durable job per inbox, signed, retried as Mastodon retries.

- A job is queued per distinct inbox (shared inboxes first), in the transaction of the
  change that caused it, so a crash after the commit loses nothing; the activity is
  stored once for all of them (a job payload's shared part).
- Jobs run in batches (jobs/batch.py): one crossing claims a batch with the signing
  keys and domain health it needs, the batch is signed in one call on a worker thread
  (the GIL released, so signing runs beside the event loop), each POST goes over a
  kept-alive connection (delivery_pool.py), and outcomes (with the batch's counts for
  the dashboard) are written together, gathered for 50 ms.
- Each POST is signed with draft-cavage (what every Mastodon accepts); a 400 or 401 is
  retried at once with RFC 9421, as Mastodon 4.7 does ("double knock").
- 2xx is success. 4xx other than 401, 408 and 429, and 501, will never succeed: the job
  ends there. 429 waits for `Retry-After`. Anything else (5xx, timeouts, refused
  connections) retries with Mastodon's backoff, up to 16 attempts over about three days.
- Every failed attempt notes the day for the domain; after failures on 7 distinct days
  the domain is unavailable and skipped until a delivery succeeds or it signs a request
  to us. A per-inbox circuit breaker pauses a flapping inbox for a minute.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

import trio

from .. import metrics, tracing
from ..ids import IdGenerator, now_ms
from ..jobs import JobKind, JobRegistry, PermanentFailure, RetryLater
from ..jobs.kinds import BatchedKind, Effect, Report
from ..keepalive import Answer, ExchangeError, header_bytes
from ..net import FetchError, answer_excerpt, describe, retry_after_value
from ..signatures import PrivateKey, SignatureError, sign_many_async, sign_request_async
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import delivery as delivery_rows
from .fetch import instance_key
from .instance_actor import instance_actor_uri

if TYPE_CHECKING:
    from ..config import Config
    from ..runtime import Runtime

log = logging.getLogger(__name__)

DELIVER = JobKind("federation.deliver", max_attempts=16)
CONTENT_TYPE = "application/activity+json"


def is_unsalvageable(status: int) -> bool:
    """Statuses after which Mastodon never retries a delivery."""
    return (400 <= status < 500 and status not in (401, 408, 429)) or status == 501


async def enqueue_deliveries(
    conn: Connection,
    ids: IdGenerator,
    *,
    key_id: str,
    activity: dict[str, Any],
    inboxes: Iterable[str],
    headers: dict[str, dict[str, str]] | None = None,
) -> int:
    """Queue one delivery per distinct inbox inside the caller's unit; how many were queued.
    `headers`: more headers for some inboxes' POSTs (a `Collection-Synchronization`)."""
    body = json.dumps(activity, separators=(",", ":"), ensure_ascii=False)
    activity_id = activity.get("id")
    jobs = [
        (
            {"inbox": inbox, "key_id": key_id, **_extra(headers, inbox)},
            f"deliver:{activity_id}:{inbox}" if activity_id else None,
        )
        for inbox in _interleaved(inboxes)
    ]
    return await DELIVER.enqueue_many(conn, ids, jobs, shared=body)


def _extra(headers: dict[str, dict[str, str]] | None, inbox: str) -> dict[str, Any]:
    found = (headers or {}).get(inbox)
    return {"headers": found} if found else {}


def _interleaved(inboxes: Iterable[str]) -> list[str]:
    """The distinct inboxes, one host after another in turn.

    Jobs are claimed in the order they were queued: spread over many hosts, a batch keeps
    each host's few connections busy and reused, where one grouped by host (as a follower
    list sorted by URL is) would wait on a single host's concurrency limit.
    """
    by_host: dict[str, list[str]] = {}
    for inbox in dict.fromkeys(inboxes):
        parts = _split(inbox)
        by_host.setdefault(_domain(parts) if parts is not None else "", []).append(inbox)
    rounds = itertools.zip_longest(*by_host.values())
    return [inbox for row in rounds for inbox in row if inbox is not None]


@dataclass
class _Facts:
    """What a batch needs from the store, read in its claim's transaction."""

    keys: dict[str, str]  # key id -> private PEM
    unavailable: set[str]
    #: Domains with failures on record: a success clears them.
    failing: set[str]
    #: (delivered, failed) attempts per domain in this batch, for the dashboard's counts.
    tally: dict[str, tuple[int, int]] = field(default_factory=dict)

    def count(self, domain: str, ok: bool) -> None:
        delivered, failed = self.tally.get(domain, (0, 0))
        self.tally[domain] = (delivered + int(ok), failed + int(not ok))


async def _lookup(conn: Connection, jobs: Sequence[RowView]) -> _Facts:
    split = (_split(job["payload"]["inbox"]) for job in jobs)
    domains = sorted({_domain(parts) for parts in split if parts is not None})
    keys = {}
    for key_id in {job["payload"]["key_id"] for job in jobs}:
        pem = await account_rows.private_key_of(conn, key_id)
        if pem is not None:
            keys[key_id] = pem
    unavailable, failing = await delivery_rows.health_among(conn, domains)
    return _Facts(keys=keys, unavailable=unavailable, failing=failing)


def _split(inbox: str) -> SplitResult | None:
    """An inbox URL's parts, or None if it is no http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(inbox)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _domain(parts: SplitResult) -> str:
    return parts.netloc.lower()


@dataclass
class _Post:
    """One delivery of a batch, ready to sign."""

    job: RowView
    inbox: str
    parts: SplitResult
    domain: str
    body: bytes
    key_id: str
    key: PrivateKey
    #: Headers its job adds (not signed): a `Collection-Synchronization`.
    extra: dict[str, str]
    #: The headers every POST of the batch carries (signed): as text and as bytes.
    common: _Common

    def signing_request(self, scheme: str) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": self.inbox,
            "headers": self.common.text,
            "body": self.body,
            "key_id": self.key_id,
            "private_key": self.key,
            "scheme": scheme,
        }

    def headers(self, signed: dict[str, str]) -> list[tuple[bytes, bytes]]:
        return [
            *self.common.raw,
            *header_bytes(signed.items()),
            *(header_bytes(self.extra.items()) if self.extra else ()),
        ]


class _Common:
    """The unsigned headers of a batch's POSTs, made once per batch."""

    __slots__ = ("raw", "text")

    def __init__(self, rt: Runtime) -> None:
        self.text = {"Content-Type": CONTENT_TYPE, "User-Agent": rt.config.user_agent}
        self.raw = header_bytes(self.text.items())


def _prepare(rt: Runtime, jobs: Sequence[RowView], facts: _Facts, report: Report) -> list[_Post]:
    """The batch's deliveries to make; the others are reported at once."""
    bodies: dict[int, bytes] = {}
    common = _Common(rt)
    posts = []
    for job in jobs:
        payload = job["payload"]
        inbox: str = payload["inbox"]
        parts = _split(inbox)
        if parts is None:
            metrics.delivery(metrics.OTHER, "dropped")
            report(job, PermanentFailure(f"{inbox!r} is not an http(s) URL"), None)
            continue
        domain = _domain(parts)
        wait = rt.delivery.breakers.open_for(inbox)
        if wait:
            metrics.delivery(domain, "deferred")
            report(job, RetryLater(wait, f"circuit breaker open for {inbox}"), None)
            continue
        if domain in facts.unavailable:
            log.info("skipping delivery to %s: the domain is marked unavailable", inbox)
            metrics.delivery(domain, "skipped")
            report(job, None, None)
            continue
        pem = facts.keys.get(payload["key_id"])
        if pem is None:
            error = PermanentFailure(f"no local key {payload['key_id']} (account deleted?)")
            metrics.delivery(domain, "dropped")
            report(job, error, None)
            continue
        shared_id = job["shared_id"]
        if shared_id is None:  # queued before activities were stored once
            body = payload["body"].encode()
        elif job["shared"] is None:
            metrics.delivery(domain, "dropped")
            report(job, PermanentFailure("the activity to deliver is gone"), None)
            continue
        else:
            if shared_id not in bodies:
                bodies[shared_id] = job["shared"].encode()
            body = bodies[shared_id]
        key = rt.delivery.private_key(pem)
        extra = payload.get("headers")
        extra = {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}
        posts.append(_Post(job, inbox, parts, domain, body, payload["key_id"], key, extra, common))
    return posts


async def _sign(rt: Runtime, posts: list[_Post]) -> list[dict[str, str] | Exception]:
    """Sign every POST with draft-cavage, in one call off the event loop."""
    try:
        return list(await sign_many_async([p.signing_request("cavage") for p in posts], threads=1))
    except SignatureError:
        pass
    # One bad request fails the whole call: sign one by one to find it.
    signed: list[dict[str, str] | Exception] = []
    for post in posts:
        try:
            [headers] = await sign_many_async([post.signing_request("cavage")], threads=1)
            signed.append(headers)
        except SignatureError as exc:
            signed.append(exc)
    return signed


async def _run_batch(rt: Runtime, jobs: Sequence[RowView], facts: _Facts, report: Report) -> None:
    """The batch handler: sign the batch, then POST each delivery and judge the answer."""
    await rt.delivery.close_expired()
    posts = _prepare(rt, jobs, facts, report)
    if not posts:
        return
    ready: list[tuple[_Post, list[tuple[bytes, bytes]]]] = []
    for post, signed in zip(posts, await _sign(rt, posts), strict=True):
        if isinstance(signed, Exception):
            metrics.delivery(post.domain, "dropped")
            report(post.job, PermanentFailure(f"cannot sign: {describe(signed)}"), None)
        else:
            ready.append((post, post.headers(signed)))
    if not ready:
        return
    last = _TallyOnLast(report, facts, len(ready))
    async with trio.open_nursery() as nursery:
        for post, headers in ready:
            nursery.start_soon(_deliver, rt, post, headers, facts, last.report)


class _TallyOnLast:
    """Reports a batch's deliveries; the last carries the batch's per-domain counts (the
    dashboard's), so they are written with the outcomes rather than in a write of their
    own. (Were that report dropped, its job's lease lost, so are the batch's counts.)"""

    def __init__(self, report: Report, facts: _Facts, deliveries: int) -> None:
        self._report = report
        self._facts = facts
        self._left = deliveries

    def report(self, job: RowView, error: Exception | None, effect: Effect | None) -> None:
        self._left -= 1
        if not self._left and self._facts.tally:
            effect = _counted(effect, now_ms() // 86_400_000, self._facts.tally)
        self._report(job, error, effect)


def _counted(effect: Effect | None, day: int, tally: dict[str, tuple[int, int]]) -> Effect:
    async def with_counts(conn: Connection) -> None:
        if effect is not None:
            await effect(conn)
        await delivery_rows.count_deliveries(conn, day, tally)

    return with_counts


async def _deliver(
    rt: Runtime, post: _Post, headers: list[tuple[bytes, bytes]], facts: _Facts, report: Report
) -> None:
    with tracing.span("activitypub.deliver", server_address=post.domain):
        await _deliver_traced(rt, post, headers, facts, report)


async def _deliver_traced(
    rt: Runtime, post: _Post, headers: list[tuple[bytes, bytes]], facts: _Facts, report: Report
) -> None:
    first: int | None = None
    try:
        async with rt.delivery.limit(post.domain):
            answer = await rt.delivery.post(post.parts, headers, post.body, rt.outbound)
            if answer.status in (400, 401):
                # The double knock: the receiver may accept only RFC 9421 signatures.
                first = answer.status
                again = await sign_request_async(**post.signing_request("rfc9421"))
                answer = await rt.delivery.post(
                    post.parts, post.headers(again), post.body, rt.outbound
                )
    except (ExchangeError, FetchError) as exc:
        failure = RuntimeError(f"delivery to {post.inbox} failed: {describe(exc)}")
        metrics.delivery(post.domain, "failed")
        facts.count(post.domain, ok=False)
        report(post.job, failure, _failed(rt, post))
        return
    except Exception as exc:
        # Whatever else went wrong is this delivery's alone, not its batch's.
        metrics.delivery(post.domain, "failed")
        report(post.job, exc, None)
        return
    ok = 200 <= answer.status < 300
    metrics.delivery(post.domain, "delivered" if ok else "refused")
    facts.count(post.domain, ok=ok)
    error, effect = _judge(rt, post, answer, first, facts)
    report(post.job, error, effect)


def _judge(
    rt: Runtime, post: _Post, answer: Answer, first: int | None, facts: _Facts
) -> tuple[Exception | None, Effect | None]:
    """What an answer makes of the delivery: (error or None, effect to record with it)."""
    status = answer.status
    if 200 <= status < 300:
        rt.delivery.breakers.record(post.inbox, ok=True)
        rt.delivery.healthy.add(post.domain)
        if post.domain in facts.failing:
            facts.failing.discard(post.domain)  # once per batch
            return None, _cleared(post.domain)
        return None, None
    # What the peer said, with both knocks when there were two: a refusal of our
    # signatures is then visible on our side, not only on theirs.
    log.warning(
        "delivery to %s signed by %s: the server answered %d%s: %s",
        post.inbox,
        post.key_id,
        status,
        f" (and {first} to draft-cavage before RFC 9421)" if first is not None else "",
        answer_excerpt(answer.body),
    )
    if is_unsalvageable(status):
        return PermanentFailure(f"{post.inbox} answered {status}"), None
    effect = _failed(rt, post)
    if status == 429:
        delay = retry_after_value(answer.header("retry-after"))
        return RetryLater(delay, f"{post.inbox} answered 429"), effect
    return RuntimeError(f"{post.inbox} answered {status}"), effect


def _cleared(domain: str) -> Effect:
    async def effect(conn: Connection) -> None:
        await delivery_rows.mark_available(conn, domain)

    return effect


def _failed(rt: Runtime, post: _Post) -> Effect:
    """Count a failed attempt: the inbox's breaker now, the domain's failure day on record."""
    rt.delivery.breakers.record(post.inbox, ok=False)
    rt.delivery.healthy.discard(post.domain)
    day = time.strftime("%Y%m%d", time.gmtime())
    domain = post.domain

    async def effect(conn: Connection) -> None:
        if await delivery_rows.record_failure(conn, domain, day, now_ms()):
            log.warning("%s failed on 7 distinct days: marked unavailable", domain)

    return effect


async def mark_domain_available(rt: Runtime, domain: str) -> None:
    """A signed request came from the domain: it is alive, deliver to it again."""
    await rt.store.write(delivery_rows.mark_available, domain)
    rt.delivery.healthy.add(domain)


async def _warm(rt: Runtime) -> None:
    """Before the first batch of a process: sign once with the instance actor's key (the
    signer's one-time set-up in a process costs 40 to 110 ms of CPU, which the first
    post's deliveries waited for). Changes nothing."""
    found = await instance_key(rt)
    if found is not None:
        key_id, key = found
        request = {
            "method": "POST",
            "url": instance_actor_uri(rt),
            "headers": _Common(rt).text,
            "body": b"{}",
            "key_id": key_id,
            "private_key": key,
            "scheme": "cavage",
        }
        await sign_many_async([request], threads=1)


async def _prepare_statements(conn: Connection) -> None:
    """The lookup's and the outcomes' statements, with arguments that match nothing."""
    await account_rows.private_key_of(conn, "")
    await delivery_rows.health_among(conn, [""])
    await delivery_rows.count_deliveries(conn, 0, {})


def _capacity(config: Config) -> int:
    return config.delivery_concurrency


def register(registry: JobRegistry) -> None:
    registry.register_batched(
        BatchedKind(
            DELIVER,
            lookup=_lookup,
            run=_run_batch,
            capacity=_capacity,
            size=50,
            # Outcomes come back a few milliseconds apart: written every 50 ms, a write
            # carries tens of them instead of one or two.
            gather=0.05,
            prepare=_prepare_statements,
            warm=_warm,
        )
    )
