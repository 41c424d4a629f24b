"""Delivering activities: one durable job per inbox, signed, retried as Mastodon retries.

- A job is queued per distinct inbox (shared inboxes first), in the transaction of the
  change that caused it, so a crash after the commit loses nothing.
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

import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ..ids import IdGenerator, now_ms
from ..jobs import JobKind, JobRegistry, PermanentFailure, RetryLater
from ..net import FetchError, answer_excerpt, describe, retry_after
from ..signatures import sign_request
from ..store import Connection
from ..store import accounts as account_rows
from ..store import delivery as delivery_rows

if TYPE_CHECKING:
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
) -> int:
    """Queue one delivery per distinct inbox inside the caller's unit; how many were queued."""
    body = json.dumps(activity, separators=(",", ":"), ensure_ascii=False)
    activity_id = activity.get("id")
    queued = 0
    for inbox in dict.fromkeys(inboxes):
        dedupe = f"deliver:{activity_id}:{inbox}" if activity_id else None
        if await DELIVER.enqueue(
            conn, ids, {"inbox": inbox, "key_id": key_id, "body": body}, dedupe_key=dedupe
        ):
            queued += 1
    return queued


async def _post(
    rt: Runtime, inbox: str, body: bytes, key_id: str, pem: str, scheme: str
) -> httpx.Response:
    parts = urlsplit(inbox)
    client, pinned = await rt.delivery.client(parts, rt.outbound)
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": rt.config.user_agent}
    headers.update(
        sign_request(
            "POST",
            inbox,
            headers,
            body,
            key_id=key_id,
            private_key=rt.delivery.private_key(pem),
            scheme=scheme,
        )
    )
    return await client.post(
        pinned, content=body, headers=headers, extensions={"sni_hostname": parts.hostname or ""}
    )


async def deliver(rt: Runtime, payload: dict[str, Any]) -> None:
    """The job: POST one activity to one inbox, and judge the answer."""
    inbox: str = payload["inbox"]
    domain = urlsplit(inbox).netloc.lower()
    wait = rt.delivery.breakers.open_for(inbox)
    if wait:
        raise RetryLater(wait, f"circuit breaker open for {inbox}")

    async def lookup(conn: Connection) -> tuple[bool, str | None]:
        # One crossing for both facts: this runs for every delivery.
        unavailable = await delivery_rows.is_unavailable(conn, domain)
        return unavailable, await account_rows.private_key_of(conn, payload["key_id"])

    unavailable, pem = await rt.store.read(lookup)
    if unavailable:
        log.info("skipping delivery to %s: the domain is marked unavailable", inbox)
        return
    if pem is None:
        raise PermanentFailure(f"no local key {payload['key_id']} (account deleted?)")
    body = payload["body"].encode()
    first: int | None = None
    async with rt.delivery.limit(domain):
        try:
            response = await _post(rt, inbox, body, payload["key_id"], pem, "cavage")
            if response.status_code in (400, 401):
                # The double knock: the receiver may accept only RFC 9421 signatures.
                first = response.status_code
                response = await _post(rt, inbox, body, payload["key_id"], pem, "rfc9421")
        except (httpx.HTTPError, FetchError) as exc:
            await _failed(rt, inbox, domain)
            raise RuntimeError(f"delivery to {inbox} failed: {describe(exc)}") from None
    status = response.status_code
    if 200 <= status < 300:
        rt.delivery.breakers.record(inbox, ok=True)
        if domain not in rt.delivery.healthy:
            await rt.store.write(delivery_rows.mark_available, domain)
            rt.delivery.healthy.add(domain)
        return
    # What the peer said, with both knocks when there were two: a refusal of our
    # signatures is then visible on our side, not only on theirs.
    log.warning(
        "delivery to %s signed by %s: the server answered %d%s: %s",
        inbox,
        payload["key_id"],
        status,
        f" (and {first} to draft-cavage before RFC 9421)" if first is not None else "",
        answer_excerpt(response.content),
    )
    if is_unsalvageable(status):
        raise PermanentFailure(f"{inbox} answered {status}")
    await _failed(rt, inbox, domain)
    if status == 429:
        raise RetryLater(retry_after(response), f"{inbox} answered 429")
    raise RuntimeError(f"{inbox} answered {status}")


async def _failed(rt: Runtime, inbox: str, domain: str) -> None:
    rt.delivery.breakers.record(inbox, ok=False)
    rt.delivery.healthy.discard(domain)
    day = time.strftime("%Y%m%d", time.gmtime())
    if await rt.store.write(delivery_rows.record_failure, domain, day, now_ms()):
        log.warning("%s failed on 7 distinct days: marked unavailable", domain)


async def mark_domain_available(rt: Runtime, domain: str) -> None:
    """A signed request came from the domain: it is alive, deliver to it again."""
    await rt.store.write(delivery_rows.mark_available, domain)
    rt.delivery.healthy.add(domain)


def register(registry: JobRegistry) -> None:
    registry.register(DELIVER, deliver)
