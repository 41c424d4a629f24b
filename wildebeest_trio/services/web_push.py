"""Web Push: subscriptions per access token, and notifications delivered as durable jobs.

- One subscription per token: subscribing again replaces it; it dies with the token
  (reads skip revoked tokens, and the delivery job deletes what it finds revoked).
- `queue_push` runs inside the unit of work that creates a notification and queues one
  job per subscription whose alert and policy allow it, so nothing is lost on a crash.
- The job encrypts (aes128gcm or the legacy aesgcm), signs with VAPID and POSTs over
  the delivery pool's kept-alive connections, pinned to checked addresses. 2xx is done;
  404, 410 and any other 4xx but 408 and 429 delete the subscription; 429 waits for
  `Retry-After`; anything else retries, at most 5 attempts (Mastodon's `retry: 5`).
- The payload omits Mastodon's `access_token`: only token hashes are stored, and keeping
  plaintext tokens for push would undo that. Clients that decrypt (Mastodon.py, Elk) use
  their own token to fetch `notification_id`; Tusky only uses a push as a trigger to poll.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..ids import IdGenerator, now_ms
from ..jobs import JobKind, JobRegistry, RetryLater
from ..keepalive import ExchangeError, header_bytes
from ..net import FetchError, OutboundPolicy, describe, retry_after_value
from ..resolver import ip_literal
from ..serializers.notifications import NOTIFICATION_TYPES
from ..store import Connection, RowView
from ..store import follows as follow_rows
from ..store import instance as instance_rows
from ..store import web_push as push_rows
from ..store.rows import WebPushSubscriptionRow
from . import push_crypto
from .push_crypto import InvalidKeys

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

PUSH = JobKind("webpush.deliver", max_attempts=5)

# The alert types Mastodon 4.3 serializes, in its order; each defaults to false.
ALERT_TYPES = NOTIFICATION_TYPES  # one alert per notification type, as Mastodon
POLICIES = ("all", "followed", "follower", "none")
MAX_ENDPOINT_LENGTH = 2048
BODY_LIMIT = 140

# English titles, as Mastodon's `notification_mailer.<type>.subject` strings.
TITLES = {
    "mention": "You were mentioned by {name}",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} is now following you",
    "follow_request": "{name} has requested to follow you",
    "favourite": "{name} favorited your post",
    "poll": "A poll by {name} has ended",
    "update": "{name} edited a post",
    "admin.sign_up": "{name} signed up",
    "admin.report": "{name} filed a report",
}


class InvalidSubscription(ValueError):
    """A subscription request that cannot be stored (answered 422)."""


def parse_alerts(values: dict[str, bool | None]) -> dict[str, bool]:
    """Every known alert type as a boolean; those not given are false (Mastodon's default)."""
    return {kind: bool(values.get(kind)) for kind in ALERT_TYPES}


def check_policy(policy: str | None) -> str:
    """A valid policy (`all` when none was given)."""
    policy = policy or "all"
    if policy not in POLICIES:
        raise InvalidSubscription(f"policy must be one of {', '.join(POLICIES)}")
    return policy


def check_endpoint(endpoint: str, policy: OutboundPolicy) -> str:
    """A push endpoint: an absolute http(s) URL, not an address literal the policy refuses."""
    endpoint = endpoint.strip()
    if not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise InvalidSubscription("endpoint is not a valid URL")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidSubscription("endpoint is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidSubscription("endpoint is not a valid URL")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would travel in the Host header and the VAPID audience.
        raise InvalidSubscription("endpoint must not contain credentials")
    # Hosts by name are checked at each delivery (DNS may change); a literal is refused now.
    address = ip_literal(parts.hostname)
    reason = None if address is None else policy.refusal(address)
    if reason is not None:
        raise InvalidSubscription(f"endpoint is {reason}")
    return endpoint


async def subscribe(
    rt: Runtime,
    *,
    token_id: int,
    account_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    standard: bool,
    alerts: dict[str, bool | None],
    policy: str | None,
) -> WebPushSubscriptionRow:
    """Store the token's subscription (replacing any), after a trial encryption."""
    endpoint = check_endpoint(endpoint, rt.outbound.policy)
    policy = check_policy(policy)
    try:
        push_crypto.check_keys(p256dh, auth)
    except InvalidKeys as exc:
        raise InvalidSubscription(f"invalid subscription keys: {exc}") from None
    return await rt.store.write(
        push_rows.replace_for_token,
        access_token_id=token_id,
        account_id=account_id,
        endpoint=endpoint,
        key_p256dh=p256dh.strip(),
        key_auth=auth.strip(),
        standard=standard,
        alerts=parse_alerts(alerts),
        policy=policy,
        now=now_ms(),
    )


async def subscription(rt: Runtime, token_id: int) -> WebPushSubscriptionRow | None:
    """The token's subscription, or None."""
    return await rt.store.read(push_rows.for_token, token_id)


async def update(
    rt: Runtime, token_id: int, *, alerts: dict[str, bool | None], policy: str | None
) -> WebPushSubscriptionRow | None:
    """Replace the alerts (those not given become false, as Mastodon) and the policy (if
    given); None without a subscription."""

    async def unit(conn: Connection) -> WebPushSubscriptionRow | None:
        current = await push_rows.for_token(conn, token_id)
        if current is None:
            return None
        new_policy = check_policy(policy or current["policy"])
        await push_rows.update_data(
            conn,
            token_id,
            alerts=parse_alerts(alerts),
            policy=new_policy,
            now=now_ms(),
        )
        return await push_rows.for_token(conn, token_id)

    return await rt.store.write(unit)


async def unsubscribe(rt: Runtime, token_id: int) -> None:
    """Remove the token's subscription, if it has one."""
    await rt.store.write(push_rows.delete_for_token, token_id)


# The message -----------------------------------------------------------------------------

_BREAKS = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def plain_text(markup: str) -> str:
    """HTML to text: breaks become newlines, tags go, entities are decoded."""
    return html.unescape(_TAGS.sub("", _BREAKS.sub("\n", markup))).strip()


def truncate(text: str, limit: int = BODY_LIMIT) -> str:
    """At most `limit` characters, ending with an ellipsis when cut (as Rails' `truncate`)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def web_payload(notification: RowView, locale: str | None) -> dict[str, Any]:
    """What the subscriber decrypts: Mastodon's `Web::NotificationSerializer`, minus the token.

    `notification` is the Mastodon Notification entity (`id`, `type`, `account`,
    optionally `status`). `notification_id` stays a string, as every id in the API: a
    snowflake does not fit in a JavaScript number.
    """
    account = notification.get("account") or {}
    status = notification.get("status") or {}
    name = account.get("display_name") or account.get("username") or ""
    kind = str(notification["type"])
    body = (
        status.get("spoiler_text")
        or plain_text(status.get("content") or "")
        or plain_text(account.get("note") or "")
    )
    return {
        "preferred_locale": locale or "en",
        "notification_id": str(notification["id"]),
        "notification_type": kind,
        "icon": account.get("avatar_static") or account.get("avatar") or "",
        "title": TITLES.get(kind, "New notification from {name}").format(name=name),
        "body": truncate(body),
    }


async def _allowed(conn: Connection, sub: RowView, account_id: int, sender: int | None) -> bool:
    policy = sub["policy"]
    if policy == "all":
        return True
    if policy == "none" or sender is None:
        return False
    if policy == "followed":
        return await follow_rows.is_follower(conn, account_id, sender)
    return await follow_rows.is_follower(conn, sender, account_id)  # "follower"


async def queue_push(
    conn: Connection, ids: IdGenerator, *, account_id: int, notification: RowView
) -> int:
    """Queue a push of `notification` to each of the account's subscriptions that wants it.

    Call it inside the unit of work that creates the notification.
    How many jobs were queued.
    """
    kind = str(notification["type"])
    subs = [s for s in await push_rows.for_account(conn, account_id) if s["alerts"].get(kind)]
    if not subs:
        return 0
    sender_id = (notification.get("account") or {}).get("id")
    sender = int(sender_id) if sender_id is not None else None
    message = web_payload(notification, await push_rows.locale_of(conn, account_id))
    queued = 0
    for sub in subs:
        if not await _allowed(conn, sub, account_id, sender):
            continue
        payload = {"subscription_id": sub["id"], "queued_at": now_ms(), "message": message}
        dedupe = f"push:{sub['id']}:{message['notification_id']}"
        if await PUSH.enqueue(conn, ids, payload, dedupe_key=dedupe):
            queued += 1
    return queued


# Delivery --------------------------------------------------------------------------------


def vapid_subject(rt: Runtime) -> str:
    """Who the push service may contact: the admin e-mail, else the instance's URL."""
    email = rt.config.contact_email.strip()
    return f"mailto:{email}" if email else rt.config.base_url


async def _drop_if_revoked(conn: Connection, subscription_id: int) -> None:
    if await push_rows.token_revoked(conn, subscription_id):
        await push_rows.delete(conn, subscription_id)


async def deliver_push(rt: Runtime, payload: dict[str, Any]) -> None:
    """The job: encrypt one message for one subscription, POST it, and judge the answer."""
    sub_id = int(payload["subscription_id"])
    sub = await rt.store.read(push_rows.by_id, sub_id)
    if sub is None:
        await rt.store.write(_drop_if_revoked, sub_id)
        return
    if now_ms() - int(payload["queued_at"]) > push_crypto.TTL_SECONDS * 1000:
        log.info("push %d dropped: older than the 48 h TTL", sub_id)
        return
    vapid = await rt.store.read(instance_rows.setting_object, "vapid_keys") or {}
    private_pem, public_key = vapid.get("private_pem"), vapid.get("public_key")
    if not isinstance(private_pem, str) or not isinstance(public_key, str):
        raise RuntimeError("the instance has no VAPID keys yet")
    body = json.dumps(payload["message"], separators=(",", ":"), ensure_ascii=False).encode()
    endpoint: str = sub["endpoint"]
    try:
        encrypted = push_crypto.encrypt(
            body, p256dh=sub["key_p256dh"], auth=sub["key_auth"], standard=sub["standard"]
        )
    except InvalidKeys as exc:
        log.info("push subscription %d deleted: %s", sub_id, exc)
        await rt.store.write(push_rows.delete, sub_id)
        return
    headers = push_crypto.push_headers(
        endpoint,
        encrypted,
        standard=sub["standard"],
        vapid_private_pem=private_pem,
        vapid_public_key=public_key,
        subject=vapid_subject(rt),
    )
    parts = urlsplit(endpoint)
    headers["User-Agent"] = rt.config.user_agent
    # The connection goes to the checked address; the push service still sees its name.
    headers["Host"] = parts.netloc
    host = (parts.hostname or "").lower()
    async with rt.delivery.limit(host):
        try:
            answer = await rt.delivery.post(
                parts, header_bytes(headers.items()), encrypted.body, rt.outbound
            )
        except (ExchangeError, FetchError) as exc:
            raise RuntimeError(f"push to {host} failed: {describe(exc)}") from None
    status = answer.status
    if 200 <= status < 300:
        return
    if status == 429:
        raise RetryLater(retry_after_value(answer.header("retry-after")), f"{host} answered 429")
    if 400 <= status < 500 and status != 408:
        # The push service says the subscription is gone (404/410) or will never work.
        log.info("push subscription %d deleted: %s answered %d", sub_id, host, status)
        await rt.store.write(push_rows.delete, sub_id)
        return
    raise RuntimeError(f"push to {host} answered {status}")


def register(registry: JobRegistry) -> None:
    registry.register(PUSH, deliver_push)
