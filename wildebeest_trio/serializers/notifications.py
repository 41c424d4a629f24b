"""The Mastodon Notification, NotificationGroup, NotificationPolicy and
NotificationRequest entities (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Config
from ..store import RowView
from ..store.statuses import StatusBundle
from .accounts import account_entity
from .statuses import status_entity
from .time import iso_ms

# Mastodon's notification types, in its order (also the Web Push alert types): 4.3's, and
# 4.5's `quote` (someone quoted your post) and `quoted_update` (a post you quoted was
# edited).
NOTIFICATION_TYPES: tuple[str, ...] = (
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
    "quote",
    "quoted_update",
)

# Types whose entity carries the status they are about (Mastodon's `status_type?`).
STATUS_TYPES = frozenset(
    {"favourite", "reblog", "status", "mention", "poll", "update", "quote", "quoted_update"}
)


def report_entity(config: Config, row: RowView, target: RowView | None) -> dict[str, Any]:
    """Mastodon's Report entity, as an `admin.report` notification carries it."""
    return {
        "id": str(row["id"]),
        "action_taken": row["action_taken_at"] is not None,
        "action_taken_at": iso_ms(row["action_taken_at"]),
        "category": row["category"],
        "comment": row["comment"] or "",
        "forwarded": bool(row["forwarded"]),
        "created_at": iso_ms(row["created_at"]),
        "status_ids": [str(i) for i in row["status_ids"]],
        "rule_ids": [str(i) for i in row["rule_ids"]],
        "target_account": account_entity(config, target) if target else None,
    }


def notification_entity(
    config: Config,
    row: RowView,
    accounts: Mapping[int, RowView],
    bundle: StatusBundle | None,
    reports: Mapping[int, RowView] | None = None,
) -> dict[str, Any]:
    """One notification: `status` for the status types, `report` for `admin.report`,
    `filtered` only when true (as Mastodon 4.3 writes it)."""
    entity: dict[str, Any] = {
        "id": str(row["id"]),
        "type": row["type"],
        "created_at": iso_ms(row["created_at"]),
        "group_key": row["group_key"],
        "account": account_entity(config, accounts[row["from_account_id"]]),
    }
    if row["type"] in STATUS_TYPES:
        status_id = row["status_id"]
        entity["status"] = (
            status_entity(config, bundle, status_id)
            if bundle is not None and status_id in bundle.statuses
            else None
        )
    if row["type"] == "admin.report":
        report = (reports or {}).get(row["report_id"] or 0)
        if report is not None:
            target = accounts.get(report["target_account_id"])
            entity["report"] = report_entity(config, report, target)
    if row.get("filtered"):
        entity["filtered"] = True
    return entity


def partial_account_entity(config: Config, row: RowView) -> dict[str, Any]:
    """The few fields `expand_accounts=partial_avatars` gives for sample accounts."""
    full = account_entity(config, row)
    return {k: full[k] for k in ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")}


def group_entity(
    row: RowView,
    *,
    group_key: str,
    count: int,
    most_recent_id: int,
    sample_ids: list[int],
    page: tuple[int, int, int] | None,
    reports: dict[int, dict[str, Any]] | None = None,
    config: Config | None = None,
    accounts: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A NotificationGroup; `page` is (page_min_id, page_max_id, latest_page_notification
    time) on paginated lists."""
    entity: dict[str, Any] = {
        "group_key": group_key,
        "notifications_count": count,
        "type": row["type"],
        "most_recent_notification_id": str(most_recent_id),
    }
    if page is not None:
        entity["page_min_id"] = str(page[0])
        entity["page_max_id"] = str(page[1])
        entity["latest_page_notification_at"] = iso_ms(page[2])
    entity["sample_account_ids"] = [str(i) for i in sample_ids]
    if row["type"] in STATUS_TYPES:
        entity["status_id"] = str(row["status_id"]) if row["status_id"] is not None else None
    if row["type"] == "admin.report" and config is not None:
        report = (reports or {}).get(row["report_id"] or 0)
        if report is not None:
            target = (accounts or {}).get(report["target_account_id"])
            entity["report"] = report_entity(config, report, target)
    return entity


def policy_entity(row: RowView, summary: tuple[int, int]) -> dict[str, Any]:
    """`GET /api/v2/notifications/policy`."""
    return {
        "for_not_following": row["for_not_following"],
        "for_not_followers": row["for_not_followers"],
        "for_new_accounts": row["for_new_accounts"],
        "for_private_mentions": row["for_private_mentions"],
        "for_limited_accounts": row["for_limited_accounts"],
        "summary": {
            "pending_requests_count": summary[0],
            "pending_notifications_count": summary[1],
        },
    }


def policy_v1_entity(row: RowView, summary: tuple[int, int]) -> dict[str, Any]:
    """`GET /api/v1/notifications/policy`: the same policy as booleans (filter or not)."""
    return {
        "filter_not_following": row["for_not_following"] != "accept",
        "filter_not_followers": row["for_not_followers"] != "accept",
        "filter_new_accounts": row["for_new_accounts"] != "accept",
        "filter_private_mentions": row["for_private_mentions"] != "accept",
        "summary": {
            "pending_requests_count": summary[0],
            "pending_notifications_count": summary[1],
        },
    }


def request_entity(
    config: Config,
    row: RowView,
    account: RowView,
    bundle: StatusBundle | None,
    count: int,
) -> dict[str, Any]:
    """A NotificationRequest: a sender's filtered notifications, waiting for a decision."""
    last = row["last_status_id"]
    return {
        "id": str(row["id"]),
        "created_at": iso_ms(row["created_at"]),
        "updated_at": iso_ms(row["updated_at"]),
        "notifications_count": str(count),
        "account": account_entity(config, account),
        "last_status": status_entity(config, bundle, last)
        if bundle is not None and last in bundle.statuses
        else None,
    }
