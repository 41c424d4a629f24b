"""Moderation and instance administration: what the admin API and the admin pages do.

One write path for both: each action takes the `Staff` member acting, checks their role's
permission (Mastodon's policies: a moderator handles sign-ups, reports and account
standing; admins also manage federation, blocks, emoji, announcements and the queue),
runs as one unit of work, and leaves an entry in the audit log in that same unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import roles
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import account_warnings as warning_rows
from ..store import accounts as account_rows
from ..store import admin as admin_rows
from ..store import admin_action_logs as log_rows
from ..store import custom_emojis as emoji_rows
from ..store import delivery as delivery_rows
from ..store import instance as instance_rows
from ..store import jobs as job_rows
from ..store import moderators as moderator_rows
from ..store import reports as report_rows
from ..store import statuses as status_rows
from ..store import users as user_rows
from ..store.admin import AccountFilter, IpUseRow
from ..store.admin_action_logs import ActionLogWithNameRow
from ..store.paging import Page
from ..store.rows import (
    AccountListingRow,
    AccountRow,
    AdminAccountRow,
    AnnouncementRow,
    CustomEmojiRow,
    JobKindCountsRow,
    ParkedJobRow,
    ReportRow,
    ReportWithNamesRow,
    RuleRow,
    SignUpRow,
    UnavailableDomainRow,
    UserAccountRow,
)
from ..store.statuses import StatusBundle
from . import announcements as announcements_service
from . import custom_emoji
from .account_mail import mail_enabled
from .instance import read_site
from .mailer import enqueue_mail, warning_message

MODERATOR_ROLES = roles.STAFF_ROLES
ADMIN_ROLES = roles.ADMIN_ROLES
NOT_ALLOWED = "This action is not allowed"


class AdminError(ValueError):
    """A moderation action refused as asked, with a message for the moderator (422)."""


class NotFound(LookupError):
    """No such sign-up, account, report, block, emoji, announcement or job."""


class Forbidden(PermissionError):
    """The acting role may not do this (403)."""

    def __init__(self, message: str = NOT_ALLOWED) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Staff:
    """Who acts: a local account and its user's effective role."""

    account_id: int
    role: str

    def can(self, permission: int) -> bool:
        return roles.can(self.role, permission)

    def require(self, permission: int) -> None:
        """Refuse unless the role holds `permission`."""
        if not self.can(permission):
            raise Forbidden()


async def log(
    conn: Connection,
    rt: Runtime,
    staff: Staff,
    action: str,
    target_type: str,
    target_id: int | None,
    human_identifier: str,
) -> None:
    """Record a moderation action in the audit log, inside the action's unit."""
    await log_rows.record(
        conn,
        rt.ids.next_id(),
        account_id=staff.account_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        human_identifier=human_identifier,
        now=now_ms(),
    )


async def audit_log(
    rt: Runtime, staff: Staff, *, max_id: int | None = None
) -> list[ActionLogWithNameRow]:
    """The newest audit log entries."""
    staff.require(roles.VIEW_AUDIT_LOG)
    return await rt.store.read(log_rows.listing, limit=100, max_id=max_id)


def http_url(url: str, what: str, limit: int = 2048) -> str:
    """An http(s) URL with a host an admin typed (a webhook's, a relay's), or AdminError."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > limit or parts.scheme not in ("http", "https") or not parts.hostname:
        raise AdminError(f"{what} must be an http or https URL")
    return url


def acct(account: Mapping[str, Any]) -> str:
    """`username` or `username@domain`, as the audit log names an account."""
    domain = account.get("domain")
    return f"{account['username']}@{domain}" if domain else str(account["username"])


# Sign-ups ------------------------------------------------------------------------------------


async def pending_sign_ups(rt: Runtime) -> list[SignUpRow]:
    return await rt.store.read(admin_rows.pending_sign_ups)


async def _pending(conn: Connection, account_id: int) -> UserAccountRow:
    """The waiting user of an account; 403 when it was approved already (Mastodon)."""
    user = await user_rows.user_by_account(conn, account_id)
    if user is None:
        raise NotFound()
    if user["approved"]:
        raise Forbidden()
    return user


async def approve(rt: Runtime, staff: Staff, account_id: int) -> None:
    """Let a waiting user in."""
    staff.require(roles.MANAGE_USERS)

    async def unit(conn: Connection) -> None:
        user = await _pending(conn, account_id)
        await user_rows.set_standing(conn, user["user_id"], now=now_ms(), approved=True)
        await log(conn, rt, staff, "approve", "User", user["user_id"], user["username"])

    await rt.store.write(unit)


async def reject(rt: Runtime, staff: Staff, account_id: int) -> None:
    """Refuse a waiting user: the account is removed, as Mastodon does."""
    staff.require(roles.MANAGE_USERS)

    async def unit(conn: Connection) -> None:
        user = await _pending(conn, account_id)
        await account_rows.delete_account_row(conn, account_id)
        await log(conn, rt, staff, "reject", "User", user["user_id"], user["username"])

    await rt.store.write(unit)


async def account_of_user(rt: Runtime, user_id: int) -> int:
    """The account of a user (the sign-up pages name users)."""
    user = await rt.store.read(admin_rows.pending_user, user_id)
    if user is None:
        raise NotFound()
    return int(user["account_id"])


# Accounts ------------------------------------------------------------------------------------


async def accounts(
    rt: Runtime, *, query: str = "", origin: str = "", status: str = "", page: int = 0
) -> list[AccountListingRow]:
    return await rt.store.read(
        admin_rows.accounts_listing,
        query=query.strip()[:100],
        origin=origin,
        status=status,
        limit=50,
        offset=max(0, min(page, 10_000)) * 50,
    )


@dataclass(frozen=True)
class AdminAccount:
    """An account with its user's columns and the addresses it used."""

    row: AdminAccountRow
    ips: list[IpUseRow]


async def _admin_account(conn: Connection, row: AdminAccountRow) -> AdminAccount:
    ips = await admin_rows.session_ips(conn, row["id"]) if row["user_id"] is not None else []
    return AdminAccount(row, ips)


async def admin_account_in(conn: Connection, account_id: int) -> AdminAccount | None:
    """Inside a unit: an account as Admin::Account shows it (no permission asked: for
    those already allowed, and for the webhooks' payloads)."""
    row = await admin_rows.admin_account(conn, account_id)
    return None if row is None else await _admin_account(conn, row)


async def account_list(
    rt: Runtime, staff: Staff, at: Page, where: AccountFilter
) -> list[AdminAccount]:
    """Accounts for the admin API, newest first."""
    staff.require(roles.MANAGE_USERS)

    async def unit(conn: Connection) -> list[AdminAccount]:
        rows = await admin_rows.admin_accounts(conn, at, where)
        return [await _admin_account(conn, r) for r in rows]

    return await rt.store.read(unit)


async def account(rt: Runtime, staff: Staff, account_id: int) -> AdminAccount:
    staff.require(roles.MANAGE_USERS)

    async def unit(conn: Connection) -> AdminAccount:
        row = await admin_rows.admin_account(conn, account_id)
        if row is None:
            raise NotFound()
        return await _admin_account(conn, row)

    return await rt.store.read(unit)


ACTION_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
UNDO_ACTIONS = ("enable", "unsilence", "unsuspend", "unsensitive")
# Which column each standing is kept in.
_FLAG_COLUMNS = {
    "sensitive": "sensitized_at",
    "silence": "silenced_at",
    "suspend": "suspended_at",
    "unsensitive": "sensitized_at",
    "unsilence": "silenced_at",
    "unsuspend": "suspended_at",
}


async def _target(
    conn: Connection, staff: Staff, account_id: int
) -> tuple[AccountRow, UserAccountRow | None]:
    """The account acted on and its user; refused for one's own account and for someone the
    acting role does not outrank (Mastodon's `UserRole#overrides?`)."""
    target = await account_rows.account_by_id(conn, account_id)
    if target is None:
        raise NotFound()
    user = await user_rows.user_by_account(conn, account_id) if target["domain"] is None else None
    if account_id == staff.account_id:
        raise Forbidden("You cannot moderate your own account")
    if user is not None and not roles.role(staff.role).overrides(roles.role(user["role"])):
        raise Forbidden()
    return target, user


@dataclass(frozen=True)
class AccountAction:
    """`POST /api/v1/admin/accounts/:id/action` as asked."""

    type: str
    report_id: int | None = None
    text: str = ""
    send_email_notification: bool = False


async def act_on_account(rt: Runtime, staff: Staff, account_id: int, action: AccountAction) -> bool:
    """Warn, mark sensitive, disable, silence or suspend an account, resolving the reports
    about it (only the given one for a warning), leaving a warning with the text and
    e-mailing it when asked; whether the account's standing changed."""
    if action.type not in ACTION_TYPES:
        raise AdminError(f"type must be one of {', '.join(ACTION_TYPES)}")
    if len(action.text) > 5000:
        raise AdminError("text is too long")
    staff.require(roles.MANAGE_USERS)
    now = now_ms()
    notify = action.send_email_notification and mail_enabled(rt)

    async def unit(conn: Connection) -> bool:
        target, user = await _target(conn, staff, account_id)
        report = None
        if action.report_id is not None:
            report = await report_rows.by_id(conn, action.report_id)
            if report is None:
                raise NotFound()
        changed = False
        if action.type in _FLAG_COLUMNS:
            column = _FLAG_COLUMNS[action.type]
            changed = await account_rows.set_account_flag(conn, account_id, column, now, now)
        elif action.type == "disable" and user is not None:
            changed = not user["disabled"]
            await user_rows.set_standing(conn, user["user_id"], now=now, disabled=True)
        if action.type in ("suspend", "disable") and user is not None:
            await user_rows.revoke_access(conn, account_id, now)
        if action.type == "none":
            if report is not None:
                await report_rows.resolve(conn, report["id"], staff.account_id, now)
        else:
            await report_rows.resolve_open_about(conn, account_id, staff.account_id, now)
        if action.type != "none" or action.text:
            await warning_rows.insert(
                conn,
                {
                    "id": rt.ids.next_id(),
                    "account_id": staff.account_id,
                    "target_account_id": account_id,
                    "action": action.type,
                    "text": action.text,
                    "report_id": report["id"] if report is not None else None,
                    "now": now,
                },
            )
        if notify and user is not None:
            message = warning_message(
                instance=(await read_site(conn, rt.config)).title,
                username=target["username"],
                action=action.type,
                text=action.text,
            )
            await enqueue_mail(conn, rt.ids, user["email"], message)
        verb = "warn" if action.type == "none" else action.type
        await log(conn, rt, staff, verb, "Account", account_id, acct(target))
        return changed

    return await rt.store.write(unit)


async def undo_on_account(rt: Runtime, staff: Staff, account_id: int, undo: str) -> bool:
    """Enable, unsilence, unsuspend or unsensitive an account; whether it changed."""
    if undo not in UNDO_ACTIONS:
        raise AdminError("Unknown action")
    staff.require(roles.MANAGE_USERS)
    now = now_ms()

    async def unit(conn: Connection) -> bool:
        target, user = await _target(conn, staff, account_id)
        if undo == "enable":
            if user is None:
                raise NotFound()
            changed = bool(user["disabled"])
            await user_rows.set_standing(conn, user["user_id"], now=now, disabled=False)
        else:
            changed = await account_rows.set_account_flag(
                conn, account_id, _FLAG_COLUMNS[undo], None, now
            )
        await log(conn, rt, staff, undo, "Account", account_id, acct(target))
        return changed

    return await rt.store.write(unit)


async def set_role(rt: Runtime, staff: Staff, account_id: int, role_key: str) -> None:
    """Give a local user a role (the admin pages): only roles below one's own, to users
    below one's own (Mastodon's `change_role?` and assignable roles)."""
    staff.require(roles.MANAGE_ROLES)
    if role_key not in roles.ROLES:
        raise AdminError("No such role")
    if not roles.role(staff.role).overrides(roles.role(role_key)):
        raise Forbidden()

    async def unit(conn: Connection) -> None:
        target, user = await _target(conn, staff, account_id)
        if user is None:
            raise NotFound()
        await user_rows.set_standing(conn, user["user_id"], now=now_ms(), role=role_key)
        await log(conn, rt, staff, f"change_role:{role_key}", "User", user["user_id"], acct(target))

    await rt.store.write(unit)


async def delete_account_data(rt: Runtime, staff: Staff, account_id: int) -> AdminAccount:
    """Delete a suspended account's data (Mastodon's `DELETE /api/v1/admin/accounts/:id`);
    the account as it was."""
    staff.require(roles.DELETE_USER_DATA)

    async def unit(conn: Connection) -> AdminAccount:
        row = await admin_rows.admin_account(conn, account_id)
        if row is None:
            raise NotFound()
        if row["suspended_at"] is None:
            raise Forbidden()
        await _target(conn, staff, account_id)
        shown = await _admin_account(conn, row)
        await account_rows.delete_account_row(conn, account_id)
        await log(conn, rt, staff, "destroy", "Account", account_id, acct(row))
        return shown

    return await rt.store.write(unit)


# Reports -------------------------------------------------------------------------------------


async def reports(rt: Runtime, *, resolved: bool = False) -> list[ReportWithNamesRow]:
    """Open (or resolved) reports, newest first, with the names of both accounts."""
    return await rt.store.read(report_rows.listing, resolved=resolved)


async def report_list(
    rt: Runtime,
    staff: Staff,
    at: Page,
    *,
    resolved: bool,
    account_id: int | None = None,
    target_account_id: int | None = None,
) -> list[ReportRow]:
    staff.require(roles.MANAGE_REPORTS)
    return await rt.store.read(
        report_rows.filtered_page,
        at,
        resolved=resolved,
        account_id=account_id,
        target_account_id=target_account_id,
    )


async def report(rt: Runtime, staff: Staff, report_id: int) -> ReportRow:
    staff.require(roles.MANAGE_REPORTS)
    found = await rt.store.read(report_rows.by_id, report_id)
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class ReportView:
    """A report with the accounts it names, its statuses and the rules it cites."""

    report: ReportRow
    accounts: dict[int, AdminAccount]
    statuses: StatusBundle
    rules: list[RuleRow]


async def report_views(
    rt: Runtime, staff: Staff, reports_found: list[ReportRow]
) -> list[ReportView]:
    """What the admin API shows of reports."""
    staff.require(roles.MANAGE_REPORTS)
    return await rt.store.read(report_views_in, reports_found)


async def report_views_in(conn: Connection, reports_found: list[ReportRow]) -> list[ReportView]:
    """Inside a unit: what Admin::Report shows of reports (no permission asked)."""
    rules = {r["id"]: r for r in await instance_rows.rules(conn)}
    seen: dict[int, AdminAccount] = {}
    views = []
    for found in reports_found:
        for account_id in (
            found["account_id"],
            found["target_account_id"],
            found["assigned_account_id"],
            found["action_taken_by_account_id"],
        ):
            if account_id is not None and account_id not in seen:
                row = await admin_rows.admin_account(conn, account_id)
                if row is not None:
                    seen[account_id] = await _admin_account(conn, row)
        rows = await moderator_rows.statuses_by_ids(conn, found["status_ids"])
        bundle = await status_rows.hydrate(conn, rows, None)
        cited = [rules[i] for i in found["rule_ids"] if i in rules]
        views.append(ReportView(found, seen, bundle, cited))
    return views


REPORT_ACTIONS = ("resolve", "reopen", "assign_to_self", "unassign")
REPORT_CATEGORIES = ("spam", "legal", "violation", "other")


async def change_report(
    rt: Runtime,
    staff: Staff,
    report_id: int,
    action: str,
    *,
    category: str | None = None,
    rule_ids: list[int] | None = None,
) -> ReportRow:
    """Resolve, reopen, assign, unassign or (`update`) recategorize a report; the report."""
    staff.require(roles.MANAGE_REPORTS)
    now = now_ms()

    async def unit(conn: Connection) -> ReportRow:
        found = await report_rows.by_id(conn, report_id)
        if found is None:
            raise NotFound()
        if action == "resolve":
            await report_rows.resolve(conn, report_id, staff.account_id, now)
        elif action == "reopen":
            await report_rows.reopen(conn, report_id, now)
        elif action == "assign_to_self":
            await report_rows.assign(conn, report_id, staff.account_id, now)
        elif action == "unassign":
            await report_rows.assign(conn, report_id, None, now)
        elif action == "update":
            new_category = category if category is not None else found["category"]
            if new_category not in REPORT_CATEGORIES:
                raise AdminError(f"category must be one of {', '.join(REPORT_CATEGORIES)}")
            new_rules = rule_ids if rule_ids is not None else found["rule_ids"]
            if new_category != "violation":
                new_rules = []
            known = {r["id"] for r in await instance_rows.rules(conn)}
            if not set(new_rules) <= known:
                raise AdminError("rule_ids must name the server's rules")
            await report_rows.recategorize(conn, report_id, new_category, new_rules, now)
        else:
            raise AdminError("Unknown action")
        verb = {"assign_to_self": "assigned_to_self", "unassign": "unassigned"}.get(action, action)
        await log(conn, rt, staff, verb, "Report", report_id, f"#{report_id}")
        changed = await report_rows.by_id(conn, report_id)
        assert changed is not None
        return changed

    return await rt.store.write(unit)


async def resolve_report(
    rt: Runtime, staff: Staff, report_id: int, *, reopen: bool = False
) -> None:
    """Mark a report resolved (or open again): the admin pages' buttons."""
    await change_report(rt, staff, report_id, "reopen" if reopen else "resolve")


# Custom emoji --------------------------------------------------------------------------------


async def emojis(rt: Runtime) -> list[CustomEmojiRow]:
    return await custom_emoji.local_emojis(rt, enabled_only=False)


async def add_emoji(
    rt: Runtime, staff: Staff, shortcode: str, data: bytes, category: str = ""
) -> int:
    """Add a local custom emoji from an uploaded image; its id."""
    staff.require(roles.MANAGE_CUSTOM_EMOJIS)
    if not data:
        raise AdminError("Choose an image")
    try:
        row = await custom_emoji.add_emoji(rt, shortcode, data, category=category.strip() or None)
    except custom_emoji.EmojiError as exc:
        raise AdminError(str(exc)) from None
    await rt.store.write(log, rt, staff, "create", "CustomEmoji", int(row["id"]), shortcode)
    return int(row["id"])


async def set_emoji_disabled(rt: Runtime, staff: Staff, emoji_id: int, disabled: bool) -> None:
    staff.require(roles.MANAGE_CUSTOM_EMOJIS)

    async def unit(conn: Connection) -> None:
        if not await emoji_rows.set_emoji_disabled(conn, emoji_id, disabled, now_ms()):
            raise NotFound()
        verb = "disable" if disabled else "enable"
        await log(conn, rt, staff, verb, "CustomEmoji", emoji_id, str(emoji_id))

    await rt.store.write(unit)


# Announcements -------------------------------------------------------------------------------


async def announcements(rt: Runtime) -> list[AnnouncementRow]:
    return await announcements_service.all_announcements(rt)


async def create_announcement(
    rt: Runtime,
    staff: Staff,
    text: str,
    *,
    starts_at: int | None = None,
    ends_at: int | None = None,
) -> int:
    """Publish an announcement now (streamed to every user); its id."""
    staff.require(roles.MANAGE_ANNOUNCEMENTS)
    try:
        row = await announcements_service.publish(rt, text, starts_at=starts_at, ends_at=ends_at)
    except announcements_service.AnnouncementError as exc:
        raise AdminError(str(exc)) from None
    await rt.store.write(log, rt, staff, "create", "Announcement", int(row["id"]), text[:100])
    return int(row["id"])


async def delete_announcement(rt: Runtime, staff: Staff, announcement_id: int) -> None:
    staff.require(roles.MANAGE_ANNOUNCEMENTS)
    if not await announcements_service.remove(rt, announcement_id):
        raise NotFound()
    await rt.store.write(
        log, rt, staff, "destroy", "Announcement", announcement_id, str(announcement_id)
    )


# Queue health --------------------------------------------------------------------------------


@dataclass
class QueueHealth:
    """Jobs per kind and state, parked jobs, and domains deliveries skip."""

    totals: dict[str, int]
    by_kind: list[JobKindCountsRow]
    parked: list[ParkedJobRow]
    unavailable: list[UnavailableDomainRow]


async def queue_health(rt: Runtime) -> QueueHealth:
    async def unit(conn: Connection) -> QueueHealth:
        now = now_ms()
        return QueueHealth(
            totals=await job_rows.counts(conn, now),
            by_kind=await admin_rows.jobs_by_kind(conn, now),
            parked=await admin_rows.parked_jobs(conn),
            unavailable=await delivery_rows.unavailable_domains(conn),
        )

    return await rt.store.read(unit)


async def retry_job(rt: Runtime, staff: Staff, job_id: int) -> None:
    """Put a parked job back in the queue and wake the workers."""
    staff.require(roles.VIEW_DEVOPS)

    async def unit(conn: Connection) -> None:
        if not await job_rows.unpark(conn, job_id, now_ms()):
            raise NotFound()
        await log(conn, rt, staff, "retry", "Job", job_id, str(job_id))

    await rt.store.write(unit)
