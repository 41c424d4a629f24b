"""Notifications: telling a local account that something happened to it.

`notify` runs inside the unit of work of the action that caused it (a local favourite,
an inbound Like), so the notification commits with the action or not at all. As
Mastodon's NotifyService, nothing is written when the recipient is remote, when the
sender is the recipient (except for `poll`, whose sender is the poll's author), or when
the recipient blocks the sender or mutes them with notifications hidden.

Groups for `/api/v2/notifications` follow Mastodon 4.3: favourites and boosts of one
status, follows, and sign-ups share a group while they keep arriving within 12 hours of
the group's first hour; every other notification is a group of its own.
"""

from __future__ import annotations

from ..ids import IdGenerator, now_ms
from ..store import Connection
from ..store import accounts as account_rows
from ..store import notifications as notification_rows

TYPES: tuple[str, ...] = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
)
GROUPABLE = frozenset({"favourite", "reblog", "follow", "admin.sign_up"})
GROUP_SPAN_HOURS = 12
HOUR_MS = 3600 * 1000


async def notify(
    conn: Connection,
    ids: IdGenerator,
    *,
    account_id: int,
    type: str,
    from_account_id: int,
    status_id: int | None = None,
    report_id: int | None = None,
) -> int | None:
    """Record a notification for a local account, unless it must not be sent; its id."""
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    if from_account_id == account_id and type != "poll":
        return None
    recipient = await account_rows.account_by_id(conn, account_id)
    if recipient is None or recipient["domain"] is not None:
        return None
    now = now_ms()
    if await notification_rows.silenced_by(conn, account_id, from_account_id, now):
        return None
    notification_id = ids.next_id()
    group_key = await _group_key(conn, account_id, type, status_id, notification_id, now)
    await notification_rows.insert(
        conn,
        notification_id=notification_id,
        account_id=account_id,
        from_account_id=from_account_id,
        type=type,
        status_id=status_id,
        report_id=report_id,
        group_key=group_key,
        created_at=now,
    )
    return notification_id


async def _group_key(
    conn: Connection,
    account_id: int,
    type: str,
    status_id: int | None,
    notification_id: int,
    now: int,
) -> str:
    if type not in GROUPABLE:
        return f"ungrouped-{notification_id}"
    prefix = f"{type}-{status_id}" if type in ("favourite", "reblog") else type
    bucket = now // HOUR_MS
    previous = await notification_rows.latest_group_key(conn, account_id, prefix)
    if previous is not None:
        previous_bucket = int(previous.rsplit("-", 1)[1])
        # Keep adding to the open group while it spans less than GROUP_SPAN_HOURS.
        if bucket < previous_bucket + GROUP_SPAN_HOURS:
            bucket = previous_bucket
    return f"{prefix}-{bucket}"
