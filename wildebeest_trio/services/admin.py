"""Moderation and instance administration: what the admin pages (and tools) do.

Each action is one unit of work. Roles: moderators handle sign-ups, reports and
account standing; admins also change instance settings, domain blocks, custom emoji
and announcements, and retry parked jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import admin as admin_rows
from ..store import custom_emojis as emoji_rows
from ..store import delivery as delivery_rows
from ..store import domain_blocks as domain_block_rows
from ..store import jobs as job_rows
from ..store import reports as report_rows
from ..store import users as user_rows
from ..store.rows import (
    AccountListingRow,
    AnnouncementRow,
    CustomEmojiRow,
    DomainBlockRow,
    ReportWithNamesRow,
    SignUpRow,
)
from . import announcements as announcements_service
from . import custom_emoji, domain_blocks

MODERATOR_ROLES = ("moderator", "admin")
ADMIN_ROLES = ("admin",)


class AdminError(ValueError):
    """A moderation action refused, with a message for the moderator."""


class NotFound(LookupError):
    """No such sign-up, account, report, emoji, announcement or job."""


# Sign-ups ------------------------------------------------------------------------------------


async def pending_sign_ups(rt: Runtime) -> list[SignUpRow]:
    return await rt.store.read(admin_rows.pending_sign_ups)


async def approve_sign_up(rt: Runtime, user_id: int) -> None:
    """Let a waiting user in."""

    async def unit(conn: Connection) -> None:
        if await admin_rows.pending_user(conn, user_id) is None:
            raise NotFound()
        await user_rows.set_standing(conn, user_id, now=now_ms(), approved=True)

    await rt.store.write(unit)


async def reject_sign_up(rt: Runtime, user_id: int) -> None:
    """Refuse a waiting user: the account is removed, as Mastodon does."""

    async def unit(conn: Connection) -> None:
        user = await admin_rows.pending_user(conn, user_id)
        if user is None:
            raise NotFound()
        await account_rows.delete_account_row(conn, user["account_id"])

    await rt.store.write(unit)


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


ACCOUNT_ACTIONS = ("suspend", "unsuspend", "silence", "unsilence")


async def set_account_standing(
    rt: Runtime, moderator_id: int, account_id: int, action: str
) -> bool:
    """Suspend, silence or lift either; whether anything changed. A suspended local
    account loses its sessions and tokens at once."""
    if action not in ACCOUNT_ACTIONS:
        raise AdminError("Unknown action")
    if account_id == moderator_id:
        raise AdminError("You cannot moderate your own account")
    now = now_ms()

    async def unit(conn: Connection) -> bool:
        row = await account_rows.account_by_id(conn, account_id)
        if row is None:
            raise NotFound()
        user = await user_rows.user_by_account(conn, account_id)
        if user is not None and user["role"] == "admin" and action in ("suspend", "silence"):
            raise AdminError("Admins cannot be suspended or silenced here")
        column = "suspended_at" if action.endswith("suspend") else "silenced_at"
        value = now if action in ("suspend", "silence") else None
        changed = await account_rows.set_account_flag(conn, account_id, column, value, now)
        if action == "suspend" and row["domain"] is None:
            await user_rows.revoke_access(conn, account_id, now)
        return changed

    changed = await rt.store.write(unit)
    return changed


# Reports -------------------------------------------------------------------------------------


async def reports(rt: Runtime, *, resolved: bool = False) -> list[ReportWithNamesRow]:
    """Open (or resolved) reports, newest first, with the names of both accounts."""
    return await rt.store.read(report_rows.listing, resolved=resolved)


async def resolve_report(
    rt: Runtime, moderator_id: int, report_id: int, *, reopen: bool = False
) -> None:
    """Mark a report resolved (or open again)."""

    async def unit(conn: Connection) -> None:
        if await report_rows.by_id(conn, report_id) is None:
            raise NotFound()
        if reopen:
            await report_rows.reopen(conn, report_id, now_ms())
        else:
            await report_rows.resolve(conn, report_id, moderator_id, now_ms())

    await rt.store.write(unit)


# Domain blocks -------------------------------------------------------------------------------


async def domain_block_list(rt: Runtime) -> list[DomainBlockRow]:
    return await rt.store.read(domain_block_rows.all_blocks)


async def add_domain_block(
    rt: Runtime,
    domain: str,
    *,
    severity: str,
    reject_media: bool,
    reject_reports: bool,
    public_comment: str,
    private_comment: str,
) -> DomainBlockRow:
    """Block (or change the block of) a domain."""
    try:
        host = domain_blocks.normalize_domain(domain)
    except domain_blocks.InvalidDomainBlock as exc:
        raise AdminError(str(exc)) from exc

    async def unit(conn: Connection) -> DomainBlockRow:
        return await domain_blocks.block_domain(
            conn,
            rt.ids,
            host,
            severity=severity,
            reject_media=reject_media,
            reject_reports=reject_reports,
            public_comment=public_comment[:1000],
            private_comment=private_comment[:1000],
        )

    try:
        return await rt.store.write(unit)
    except domain_blocks.InvalidDomainBlock as exc:
        raise AdminError(str(exc)) from exc


async def remove_domain_block(rt: Runtime, domain: str) -> bool:
    try:
        return await rt.store.write(domain_blocks.unblock_domain, domain)
    except domain_blocks.InvalidDomainBlock as exc:
        raise AdminError(str(exc)) from exc


# Custom emoji --------------------------------------------------------------------------------


async def emojis(rt: Runtime) -> list[CustomEmojiRow]:
    return await custom_emoji.local_emojis(rt, enabled_only=False)


async def add_emoji(rt: Runtime, shortcode: str, data: bytes, category: str = "") -> int:
    """Add a local custom emoji from an uploaded image; its id."""
    if not data:
        raise AdminError("Choose an image")
    try:
        row = await custom_emoji.add_emoji(rt, shortcode, data, category=category.strip() or None)
    except custom_emoji.EmojiError as exc:
        raise AdminError(str(exc)) from None
    return int(row["id"])


async def set_emoji_disabled(rt: Runtime, emoji_id: int, disabled: bool) -> None:
    if not await rt.store.write(emoji_rows.set_emoji_disabled, emoji_id, disabled, now_ms()):
        raise NotFound()


# Announcements -------------------------------------------------------------------------------


async def announcements(rt: Runtime) -> list[AnnouncementRow]:
    return await announcements_service.all_announcements(rt)


async def create_announcement(
    rt: Runtime, text: str, *, starts_at: int | None = None, ends_at: int | None = None
) -> int:
    """Publish an announcement now (streamed to every user); its id."""
    try:
        row = await announcements_service.publish(rt, text, starts_at=starts_at, ends_at=ends_at)
    except announcements_service.AnnouncementError as exc:
        raise AdminError(str(exc)) from None
    return int(row["id"])


async def delete_announcement(rt: Runtime, announcement_id: int) -> None:
    if not await announcements_service.remove(rt, announcement_id):
        raise NotFound()


# Queue health --------------------------------------------------------------------------------


@dataclass
class QueueHealth:
    """Jobs per kind and state, parked jobs, and domains deliveries skip."""

    totals: dict[str, int]
    by_kind: Sequence[RowView]
    parked: Sequence[RowView]
    unavailable: Sequence[RowView]


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


async def retry_job(rt: Runtime, job_id: int) -> None:
    """Put a parked job back in the queue and wake the workers."""
    if not await rt.store.write(job_rows.unpark, job_id, now_ms()):
        raise NotFound()
