"""Warnings and strikes moderators leave on accounts (Mastodon's AccountWarning)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Connection, fetch_as
from .rows import AccountWarningRow


async def insert(conn: Connection, warning: Mapping[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO account_warnings (id, account_id, target_account_id, action, text, "
        "report_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        warning["id"],
        warning["account_id"],
        warning["target_account_id"],
        warning["action"],
        warning["text"],
        warning["report_id"],
        warning["now"],
    )


async def of_account(conn: Connection, account_id: int) -> list[AccountWarningRow]:
    """An account's warnings, newest first."""
    return await fetch_as(
        conn,
        AccountWarningRow,
        "SELECT * FROM account_warnings WHERE target_account_id = $1 ORDER BY id DESC LIMIT 100",
        account_id,
    )
