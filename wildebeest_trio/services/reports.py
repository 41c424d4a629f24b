"""Reporting an account (and some of its statuses) to the moderators.

As Mastodon's ReportService: the reported statuses must be the account's own and ones the
reporter may see, rule ids
must name current server rules and only go with the `violation` category, and every
local admin and moderator gets an `admin.report` notification in the same unit. When
the reporter asks to forward a report about a remote account, an outbox event
`report.created` is recorded so federation sends the account's server a Flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView, outbox
from ..store import accounts as account_rows
from ..store import instance as instance_rows
from ..store import moderators as moderator_rows
from ..store import reports as report_rows
from .follows import AccountNotFound
from .notifications import Notifier
from .refusals import StatusNotFound

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000
MAX_STATUSES = 100
MAX_RULES = 50


class InvalidReport(ValueError):
    """A report that cannot be filed as asked (answered 422)."""


@dataclass(frozen=True)
class ReportRequest:
    """What `POST /api/v1/reports` asks for."""

    target_id: int
    status_ids: list[int] = field(default_factory=list)
    comment: str = ""
    category: str | None = None
    rule_ids: list[int] = field(default_factory=list)
    forward: bool = False


@dataclass(frozen=True)
class FiledReport:
    """The stored report and the account it is about."""

    report: RowView
    target: RowView


def _category(request: ReportRequest) -> str:
    if request.category is None or request.category == "":
        return "violation" if request.rule_ids else "other"
    if request.category not in CATEGORIES:
        raise InvalidReport(f"category must be one of {', '.join(CATEGORIES)}")
    return request.category


async def file_report(rt: Runtime, reporter_id: int, request: ReportRequest) -> FiledReport:
    """Store a report, notify the staff, and queue a Flag when it is to be forwarded."""
    if len(request.comment) > MAX_COMMENT:
        raise InvalidReport(f"comment is too long (maximum is {MAX_COMMENT} characters)")
    if len(request.status_ids) > MAX_STATUSES:
        raise InvalidReport(f"At most {MAX_STATUSES} statuses")
    if len(request.rule_ids) > MAX_RULES:
        raise InvalidReport(f"At most {MAX_RULES} rules")
    category = _category(request)
    # Rules only qualify a rule violation (Mastodon drops them for other categories).
    rule_ids = list(dict.fromkeys(request.rule_ids)) if category == "violation" else []
    status_ids = list(dict.fromkeys(request.status_ids))

    notifier = Notifier(rt)

    async def unit(conn: Connection) -> FiledReport:
        target = await account_rows.account_by_id(conn, request.target_id)
        if target is None or target["suspended_at"] is not None:
            raise AccountNotFound()
        # Only statuses the reporter may see (Mastodon: the target's statuses as the
        # reporter sees them): a report cannot be used to learn of, or attach, hidden ones.
        owned = await moderator_rows.statuses_of_account(
            conn, target["id"], status_ids, reporter_id
        )
        if len(owned) != len(status_ids):
            raise StatusNotFound()
        if rule_ids:
            known = {r["id"] for r in await instance_rows.rules(conn)}
            if not set(rule_ids) <= known:
                raise InvalidReport("rule_ids must name the server's rules")
        forward = bool(request.forward) and target["domain"] is not None
        report_id = rt.ids.next_id()
        report = await report_rows.insert(
            conn,
            {
                "id": report_id,
                "account_id": reporter_id,
                "target_account_id": target["id"],
                "status_ids": status_ids,
                "rule_ids": rule_ids,
                "category": category,
                "comment": request.comment,
                "forwarded": forward,
                "now": now_ms(),
            },
        )
        for staff_id in await moderator_rows.staff_account_ids(conn):
            await notifier.notify(
                conn,
                account_id=staff_id,
                type="admin.report",
                from_account_id=reporter_id,
                report_id=report_id,
            )
        if forward:
            await outbox.record(
                conn,
                rt.ids,
                "report.created",
                reporter_id,
                report_id,
                {
                    "report_id": report_id,
                    "target_account_uri": target["uri"],
                    "status_uris": await moderator_rows.status_uris(conn, status_ids),
                    "comment": request.comment,
                },
            )
        return FiledReport(report, target)

    filed = await rt.store.write(unit)
    return filed
