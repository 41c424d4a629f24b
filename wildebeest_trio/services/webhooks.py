"""Admin webhooks, as Mastodon's: events posted as JSON to URLs the admins chose, signed.

The write paths record a `WebhookEvent` effect where the change is written (a user's
sign-up and approval, a local account's update, a report's creation and changes, a local
status's creation and edit). Once the unit has committed, `queue_events` asks which
enabled webhooks want each event (one small read, nothing more when none does), renders
the payload once (`{"event", "created_at", "object"}`: Admin::Account, Admin::Report or
Status, as Mastodon's WebhookService) and queues one durable `webhook.deliver` job per
webhook. The job posts the body with `X-Hub-Signature: sha256=<HMAC-SHA256 of the body with
the webhook's secret>` to the webhook's URL, held to the outbound policy (no private
addresses unless allowed); a failure is tried again with Mastodon's backoff, a 4xx other
than 401, 408 and 429 is not (Mastodon's `response_error_unsalvageable?`), and a webhook
disabled or deleted meanwhile gets nothing.

The admins manage them (permission `manage_webhooks`), each change in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from .. import roles
from ..ids import now_ms
from ..jobs import JobKind, JobRegistry, PermanentFailure
from ..net import DestinationRefused, FetchError, configured_request
from ..runtime import Runtime
from ..serializers.admin import admin_account_entity, admin_report_view_entity
from ..serializers.statuses import status_entities
from ..serializers.time import iso_ms
from ..store import Connection
from ..store import reports as report_rows
from ..store import statuses as status_rows
from ..store import webhooks as webhook_rows
from ..store.effects import WebhookEvent
from ..store.rows import WebhookRow
from .admin import AdminError, NotFound, Staff, admin_account_in, http_url, report_views_in
from .admin import log as audit

log = logging.getLogger(__name__)

#: Mastodon's Webhook::EVENTS.
EVENTS = (
    "account.approved",
    "account.created",
    "account.updated",
    "report.created",
    "report.updated",
    "status.created",
    "status.updated",
)
ACTIONS = ("enable", "disable", "rotate_secret", "destroy")
DELIVER = JobKind("webhook.deliver", max_attempts=16)
MAX_ANSWER = 64 * 1024
TIME_LIMIT = 30.0


def events_of(row: WebhookRow) -> list[str]:
    """The events a webhook wants."""
    found = json.loads(row["events"] or "[]")
    return [e for e in found if isinstance(e, str)]


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value of a body: `sha256=` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# Queueing the deliveries of committed events ---------------------------------------------------


async def _object(conn: Connection, rt: Runtime, event: WebhookEvent) -> dict[str, Any] | None:
    """The entity an event carries, as it is now; None when it is gone or not ours."""
    kind = event.event.split(".", 1)[0]
    if kind == "account":
        found = await admin_account_in(conn, event.object_id)
        if found is None or found.row["user_id"] is None:
            return None  # Mastodon tells of local accounts only
        return admin_account_entity(rt.config, found.row, found.ips)
    if kind == "report":
        report = await report_rows.by_id(conn, event.object_id)
        if report is None:
            return None
        views = await report_views_in(conn, [report])
        return admin_report_view_entity(rt.config, views[0])
    status = await status_rows.status_by_id(conn, event.object_id)
    if status is None or not status["local"]:
        return None
    bundle = await status_rows.hydrate(conn, [status], None)
    entities = status_entities(rt.config, bundle)
    return entities[0] if entities else None


async def queue_events(rt: Runtime, events: list[WebhookEvent]) -> None:
    """The `WebhookEvent` handler: one delivery job per enabled webhook wanting each event."""
    hooks = await rt.store.read(webhook_rows.enabled)
    wanted = {(e, h["id"]) for h in hooks for e in events_of(h)}
    due = [e for e in events if any((e.event, h["id"]) in wanted for h in hooks)]
    if not due:
        return

    async def unit(conn: Connection) -> None:
        for event in due:
            entity = await _object(conn, rt, event)
            if entity is None:
                continue
            body = json.dumps(
                {"event": event.event, "created_at": iso_ms(now_ms()), "object": entity},
                separators=(",", ":"),
            )
            for hook in hooks:
                if (event.event, hook["id"]) in wanted:
                    await DELIVER.enqueue(conn, rt.ids, {"webhook_id": hook["id"], "body": body})

    await rt.store.write(unit)


async def deliver(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: post one event to one webhook, signed with its secret as it is now."""
    hook = await rt.store.read(webhook_rows.by_id, int(payload["webhook_id"]))
    if hook is None or not hook["enabled"]:
        return
    body = str(payload["body"]).encode()
    try:
        answer = await configured_request(
            "POST",
            hook["url"],
            outbound=rt.outbound,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature": signature(hook["secret"], body),
                "User-Agent": rt.config.user_agent,
            },
            content=body,
            max_bytes=MAX_ANSWER,
            time_limit=TIME_LIMIT,
            configured=False,
        )
    except DestinationRefused as exc:
        raise PermanentFailure(f"the webhook's address is refused: {exc}") from None
    if 200 <= answer.status < 300:
        return
    if 400 <= answer.status < 500 and answer.status not in (401, 408, 429):
        log.info("webhook %d answered %d: not tried again", hook["id"], answer.status)
        return
    raise FetchError(f"the webhook answered {answer.status}", answer.status)


def register(registry: JobRegistry) -> None:
    registry.register(DELIVER, deliver)


# Managing them ----------------------------------------------------------------------------------


def _events(events: list[str]) -> list[str]:
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise AdminError(f"Events must be some of {', '.join(EVENTS)}")
    return chosen


async def webhooks(rt: Runtime, staff: Staff) -> list[WebhookRow]:
    """Every webhook."""
    staff.require(roles.MANAGE_WEBHOOKS)
    return await rt.store.read(webhook_rows.listing)


async def create_webhook(rt: Runtime, staff: Staff, url: str, events: list[str]) -> WebhookRow:
    """A new enabled webhook with a fresh secret (Mastodon's: 20 random bytes, hex)."""
    staff.require(roles.MANAGE_WEBHOOKS)
    url = http_url(url, "The URL")
    chosen = _events(events)

    async def unit(conn: Connection) -> WebhookRow:
        row = await webhook_rows.insert(
            conn, rt.ids.next_id(), url, chosen, secrets.token_hex(20), now_ms()
        )
        await audit(conn, rt, staff, "create", "Webhook", row["id"], url)
        return row

    return await rt.store.write(unit)


async def change_webhook(rt: Runtime, staff: Staff, webhook_id: int, action: str) -> None:
    """`enable`, `disable`, `rotate_secret` or `destroy` a webhook, in the audit log."""
    staff.require(roles.MANAGE_WEBHOOKS)
    if action not in ACTIONS:
        raise AdminError("Unknown action")

    async def unit(conn: Connection) -> None:
        hook = await webhook_rows.by_id(conn, webhook_id)
        if hook is None:
            raise NotFound()
        now = now_ms()
        if action == "destroy":
            await webhook_rows.delete(conn, webhook_id)
        elif action == "rotate_secret":
            await webhook_rows.set_secret(conn, webhook_id, secrets.token_hex(20), now)
        else:
            await webhook_rows.set_enabled(conn, webhook_id, action == "enable", now)
        await audit(conn, rt, staff, action, "Webhook", webhook_id, hook["url"])

    await rt.store.write(unit)
