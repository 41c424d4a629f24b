"""The Mastodon Report entity (what the reporter sees of their report)."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from .accounts import account_entity
from .time import iso_ms


def report_fields(report: RowView) -> dict[str, Any]:
    """What the Report and Admin::Report entities share."""
    return {
        "id": str(report["id"]),
        "action_taken": report["action_taken_at"] is not None,
        "action_taken_at": iso_ms(report["action_taken_at"]),
        "category": report["category"],
        "comment": report["comment"] or "",
        "forwarded": bool(report["forwarded"]),
        "created_at": iso_ms(report["created_at"]),
    }


def report_entity(config: Config, report: RowView, target: RowView) -> dict[str, Any]:
    """A `reports` row (lists decoded) as Mastodon's Report."""
    return {
        **report_fields(report),
        "status_ids": [str(i) for i in report["status_ids"]] or None,
        "rule_ids": [str(i) for i in report["rule_ids"]] or None,
        "target_account": account_entity(config, target),
    }
