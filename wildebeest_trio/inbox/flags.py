"""Flag: a remote server reports local accounts or statuses to our admins."""

from __future__ import annotations

from ..federation.as2 import as_list, first, link
from ..federation.fetch import same_origin
from ..federation.sanitize import strip_text
from ..ids import now_ms
from ..services.notifications import Notifier
from ..store import Connection, RowView, domain_blocks
from ..store import inbox as inbox_rows
from ..store import moderators as moderator_rows
from ..store import reports as report_rows
from . import Context

MAX_COMMENT = 5000  # Mastodon truncates a remote report's text here
MAX_OBJECTS = 100


async def on_flag(ctx: Context) -> None:
    """Store the report (its uri kept when on the sender's server) and tell the staff."""
    rt, actor = ctx.rt, ctx.actor
    uris = [u for u in (link(o) for o in as_list(ctx.activity.get("object"))[:MAX_OBJECTS]) if u]
    content = first(ctx.activity.get("content"))
    comment = strip_text(content if isinstance(content, str) else "")[:MAX_COMMENT]
    report_uri = ctx.activity_id
    if report_uri is not None and not same_origin(report_uri, actor["uri"]):
        report_uri = None

    notifier = Notifier(rt)

    async def unit(conn: Connection) -> None:
        block = await domain_blocks.block_for(conn, actor["domain"])
        if block is not None and block["reject_reports"]:
            return
        if report_uri is not None and await report_rows.by_uri(conn, report_uri) is not None:
            return
        target: RowView | None = None
        status_ids: list[int] = []
        for account in await inbox_rows.accounts_by_uris(conn, uris):
            if account["domain"] is None and target is None:
                target = account
        for uri in uris:
            status = await inbox_rows.status_by_uri(conn, uri)
            if status is None or not status["local"]:
                continue
            if target is None:
                target = {"id": status["account_id"]}
            if status["account_id"] == target["id"]:
                status_ids.append(status["id"])
        if target is None:
            return
        now = now_ms()
        report = await report_rows.insert(
            conn,
            {
                "id": rt.ids.next_id(),
                "account_id": actor["id"],
                "target_account_id": target["id"],
                "status_ids": status_ids,
                "comment": comment,
                "uri": report_uri,
                "now": now,
            },
        )
        for staff_id in await moderator_rows.staff_account_ids(conn):
            await notifier.notify(
                conn,
                account_id=staff_id,
                type="admin.report",
                from_account_id=actor["id"],
                report_id=report["id"],
            )

    await rt.store.write(unit)
