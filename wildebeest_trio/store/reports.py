"""Reports: a local or remote account's complaint about an account and its statuses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import daily_counters
from .base import Connection, R, Row, row_as
from .effects import WebhookEvent
from .paging import Page, fetch_page
from .rows import ReportRow, ReportWithNamesRow


async def insert(conn: Connection, report: Mapping[str, Any]) -> ReportRow:
    """Store a report; the stored row."""
    await conn.execute(
        "INSERT INTO reports (id, account_id, target_account_id, status_ids, rule_ids, category, "
        "comment, forwarded, uri, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        report["id"],
        report["account_id"],
        report["target_account_id"],
        json.dumps([int(i) for i in report.get("status_ids", [])]),
        json.dumps([int(i) for i in report.get("rule_ids", [])]),
        report.get("category", "other"),
        report.get("comment", ""),
        report.get("forwarded", False),
        report.get("uri"),
        report["now"],
    )
    await daily_counters.bump(conn, "opened_reports", report["now"])
    conn.effects.add(WebhookEvent("report.created", report["id"]))
    row = await by_id(conn, report["id"])
    assert row is not None
    return row


async def by_id(conn: Connection, report_id: int) -> ReportRow | None:
    """One report."""
    row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", report_id)
    return _decoded(ReportRow, row) if row is not None else None


async def by_ids(conn: Connection, report_ids: list[int]) -> list[ReportRow]:
    """The reports among `report_ids` that exist."""
    if not report_ids:
        return []
    marks = ", ".join(f"${i + 1}" for i in range(len(report_ids)))
    rows = await conn.fetch(f"SELECT * FROM reports WHERE id IN ({marks})", *report_ids)
    return [_decoded(ReportRow, r) for r in rows]


async def by_uri(conn: Connection, uri: str) -> ReportRow | None:
    """The report a Flag activity created, if any."""
    row = await conn.fetchrow("SELECT * FROM reports WHERE uri = $1", uri)
    return _decoded(ReportRow, row) if row is not None else None


async def resolve(conn: Connection, report_id: int, by_account_id: int, now: int) -> bool:
    """Mark an open report resolved; whether it was open."""
    done = await conn.fetch(
        "UPDATE reports SET action_taken_at = $1, action_taken_by_account_id = $2, "
        "updated_at = $1 WHERE id = $3 AND action_taken_at IS NULL RETURNING id",
        now,
        by_account_id,
        report_id,
    )
    if done:
        await daily_counters.bump(conn, "resolved_reports", now)
        conn.effects.add(WebhookEvent("report.updated", report_id))
    return bool(done)


async def reopen(conn: Connection, report_id: int, now: int) -> bool:
    """Mark a resolved report open again; whether it was resolved."""
    done = await conn.fetch(
        "UPDATE reports SET action_taken_at = NULL, action_taken_by_account_id = NULL, "
        "updated_at = $1 WHERE id = $2 AND action_taken_at IS NOT NULL RETURNING id",
        now,
        report_id,
    )
    if done:
        conn.effects.add(WebhookEvent("report.updated", report_id))
    return bool(done)


async def listing(
    conn: Connection, *, resolved: bool, limit: int = 100
) -> list[ReportWithNamesRow]:
    """Open (or resolved) reports, newest first, with the reporter's and the target's acct
    parts and the target's standing (the admin pages' list)."""
    condition = "IS NOT NULL" if resolved else "IS NULL"
    rows = await conn.fetch(
        "SELECT r.*, ra.username AS reporter_username, ra.domain AS reporter_domain, "
        "ta.username AS target_username, ta.domain AS target_domain, "
        "ta.suspended_at AS target_suspended_at, ta.silenced_at AS target_silenced_at "
        "FROM reports r JOIN accounts ra ON ra.id = r.account_id "
        "JOIN accounts ta ON ta.id = r.target_account_id "
        f"WHERE r.action_taken_at {condition} ORDER BY r.id DESC LIMIT $1",
        limit,
    )
    return [_decoded(ReportWithNamesRow, r) for r in rows]


def _decoded(kind: type[R], row: Row) -> R:
    """A report row with its JSON lists (`status_ids`, `rule_ids`) decoded."""
    return row_as(
        kind,
        {
            **row,
            "status_ids": json.loads(row["status_ids"]),
            "rule_ids": json.loads(row["rule_ids"]),
        },
    )


async def assign(conn: Connection, report_id: int, account_id: int | None, now: int) -> None:
    """Give a report to a moderator (None: to nobody)."""
    await conn.execute(
        "UPDATE reports SET assigned_account_id = $1, updated_at = $2 WHERE id = $3",
        account_id,
        now,
        report_id,
    )
    conn.effects.add(WebhookEvent("report.updated", report_id))


async def recategorize(
    conn: Connection, report_id: int, category: str, rule_ids: list[int], now: int
) -> None:
    """Change a report's category and the rules it cites."""
    await conn.execute(
        "UPDATE reports SET category = $1, rule_ids = $2, updated_at = $3 WHERE id = $4",
        category,
        json.dumps([int(i) for i in rule_ids]),
        now,
        report_id,
    )
    conn.effects.add(WebhookEvent("report.updated", report_id))


async def resolve_open_about(
    conn: Connection, target_account_id: int, by_account_id: int, now: int
) -> list[int]:
    """Resolve every open report about an account; their ids."""
    rows = await conn.fetch(
        "UPDATE reports SET action_taken_at = $1, action_taken_by_account_id = $2, "
        "updated_at = $1 WHERE target_account_id = $3 AND action_taken_at IS NULL RETURNING id",
        now,
        by_account_id,
        target_account_id,
    )
    if rows:
        await daily_counters.bump(conn, "resolved_reports", now, len(rows))
    for r in rows:
        conn.effects.add(WebhookEvent("report.updated", int(r["id"])))
    return [int(r["id"]) for r in rows]


async def filtered_page(
    conn: Connection,
    at: Page,
    *,
    resolved: bool,
    account_id: int | None = None,
    target_account_id: int | None = None,
) -> list[ReportRow]:
    """Reports for the admin API, newest first: open (or resolved), maybe of one reporter
    or about one account."""
    sql = "SELECT * FROM reports WHERE action_taken_at " + (
        "IS NOT NULL" if resolved else "IS NULL"
    )
    args: list[Any] = []
    if account_id is not None:
        args.append(account_id)
        sql += f" AND account_id = ${len(args)}"
    if target_account_id is not None:
        args.append(target_account_id)
        sql += f" AND target_account_id = ${len(args)}"
    return [_decoded(ReportRow, r) for r in await fetch_page(conn, Row, sql, args, "id", at)]
