"""E-mail about notifications, as Mastodon's NotificationMailer, AdminMailer and digest.

A notification written (and not filtered) records a `NotificationMade` effect; once it
commits, `queue_mails` (bound in `assembly`) queues a `mail.notification` job for it. The
job decides, at the time it runs: the recipient's preference for that kind of mail
(Mastodon's defaults: follows, follow requests, mentions, quotes, reports and sign-ups
on; boosts and favourites off), a confirmed and working user, no block or mute of the
sender, no filter hiding the status. It then claims the notification's one mail
(`notifications.mailed_at`) and queues the message in the same unit, so a notification
is mailed at most once however often its job runs.

Mentions in a direct status are mailed as direct messages (under the `mention` switch,
as Mastodon). Every message has HTML and plain-text parts and a one-click
`List-Unsubscribe` (RFC 8058) for its kind: a signed link that works without signing in.

Someone away (no sign-in for 8 days) gets a digest of the mentions since they were last
seen or last mailed, at most weekly (Mastodon's digest).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..ids import now_ms
from ..jobs import JobKind, JobRegistry
from ..store import Connection, account_domain_blocks
from ..store import notifications as notification_rows
from ..store import users as user_rows
from .instance import read_site
from .mailer import Mailer, MailMessage, enqueue_mail, page_html
from .notifications import NotificationMade, entity_for
from .onetime import TokenInvalid, check_token, make_token, token_user_id

if TYPE_CHECKING:
    from ..runtime import Runtime

#: Mastodon's `notification_emails` settings, with its defaults.
DEFAULTS: dict[str, bool] = {
    "follow": True,
    "follow_request": True,
    "mention": True,
    "quote": True,
    "reblog": False,
    "favourite": False,
    "report": True,
    "pending_account": True,
    "digest": True,
}
LABELS: dict[str, str] = {
    "follow": "Someone followed you",
    "follow_request": "Someone requested to follow you",
    "mention": "Someone mentioned you (or sent you a direct message)",
    "quote": "Someone quoted your post",
    "reblog": "Someone boosted your post",
    "favourite": "Someone favourited your post",
    "report": "A new report is submitted (moderators)",
    "pending_account": "A new account needs review (admins)",
    "digest": "A digest of mentions while you are away",
}
#: Which switch governs the mail of each notification type.
TYPE_SWITCH: dict[str, str] = {
    "follow": "follow",
    "follow_request": "follow_request",
    "mention": "mention",
    "quote": "quote",
    "reblog": "reblog",
    "favourite": "favourite",
    "admin.report": "report",
    "admin.sign_up": "pending_account",
}
#: Switches only staff see: their mails go to moderators and admins.
STAFF = frozenset({"report", "pending_account"})
STAFF_ROLES = ("admin", "moderator")
UNSUBSCRIBE = "unsubscribe"
UNSUBSCRIBE_TTL = 365 * 24 * 3600
DAY_MS = 24 * 3600 * 1000
DIGEST_EVERY_MS = 7 * DAY_MS
DIGEST_AWAY_MS = DIGEST_EVERY_MS + DAY_MS
DIGEST_BATCH = 100
DIGEST_MENTIONS = 40
EXCERPT = 500

MAIL_NOTIFICATION = JobKind("mail.notification", max_attempts=8)


class UnsubscribeInvalid(Exception):
    """An unsubscribe link that is malformed, tampered with or expired."""


# Preferences ------------------------------------------------------------------------------


def preferences_of(settings: str | None) -> dict[str, bool]:
    """The mail switches stored in a user's settings JSON, Mastodon's defaults filled in."""
    try:
        stored = json.loads(settings or "{}").get("notification_emails") or {}
    except (ValueError, AttributeError):
        stored = {}
    return {k: bool(stored.get(k, default)) for k, default in DEFAULTS.items()}


async def _save(conn: Connection, account_id: int, changes: dict[str, bool]) -> None:
    user = await user_rows.user_by_account(conn, account_id)
    if user is None:
        return
    settings = json.loads(user["settings"] or "{}")
    current = preferences_of(user["settings"])
    current.update({k: v for k, v in changes.items() if k in DEFAULTS})
    settings["notification_emails"] = current
    await user_rows.update_settings(conn, account_id, json.dumps(settings), now_ms())


async def preferences(rt: Runtime, account_id: int) -> dict[str, bool]:
    """A person's mail switches."""
    user = await rt.store.read(user_rows.user_by_account, account_id)
    return preferences_of(user["settings"] if user else None)


async def set_preferences(rt: Runtime, account_id: int, switches: dict[str, bool]) -> None:
    """Set a person's mail switches (unknown names are ignored)."""
    await rt.store.write(_save, account_id, switches)


def unsubscribe_link(rt: Runtime, user_id: int, switch: str) -> str:
    """A signed link turning one kind of mail off, working without signing in."""
    token = make_token(
        rt.config.secret_key(), UNSUBSCRIBE, user_id, UNSUBSCRIBE_TTL, binding=switch
    )
    return f"{rt.config.base_url}/unsubscribe?" + urlencode({"token": token, "type": switch})


async def check_unsubscribe(rt: Runtime, token: str, switch: str) -> int:
    """The user id of a genuine unsubscribe link for `switch`."""
    if switch not in DEFAULTS:
        raise UnsubscribeInvalid("This link is not valid.")
    try:
        token_user_id(token)
        return check_token(rt.config.secret_key(), UNSUBSCRIBE, token, binding=switch)
    except TokenInvalid:
        raise UnsubscribeInvalid("This link is not valid.") from None


async def unsubscribe(rt: Runtime, token: str, switch: str) -> str:
    """Turn off the kind of mail a link names (RFC 8058 one-click); the address it was for."""
    user_id = await check_unsubscribe(rt, token, switch)

    async def unit(conn: Connection) -> str:
        user = await user_rows.user_by_id(conn, user_id)
        if user is None:
            raise UnsubscribeInvalid("This link is not valid.")
        await _save(conn, user["account_id"], {switch: False})
        return user["email"]

    return await rt.store.write(unit)


# Messages ---------------------------------------------------------------------------------


def _text_of(html: str) -> str:
    """Readable plain text of status HTML: paragraphs and breaks kept, tags dropped."""
    text = re.sub(r"<br\s*/?>", "\n", html)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text)
    text = html_lib.unescape(re.sub(r"<[^>]*>", "", text)).strip()
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _what(entity: dict[str, Any], instance: str) -> tuple[str, str, str | None, str]:
    """Subject, opening line, quoted text and the link of a notification's mail."""
    sender = entity["account"]
    name = sender.get("display_name") or sender["username"]
    who = f"{name} (@{sender['acct']})"
    status = entity.get("status")
    link = (status or {}).get("url") or sender["url"]
    excerpt = None
    if status is not None:
        excerpt = status["spoiler_text"] or _text_of(status["content"])
    kind = entity["type"]
    if kind == "mention" and status is not None and status["visibility"] == "direct":
        return (
            f"{name} sent you a direct message",
            f"{who} sent you a direct message:",
            excerpt,
            link,
        )
    if kind == "admin.report":
        report = entity.get("report") or {}
        target = (report.get("target_account") or {}).get("acct", "")
        subject = f"New report for {instance} (#{report.get('id', '')})"
        line = f"{who} reported @{target}."
        return subject, line, report.get("comment") or None, link
    if kind == "admin.sign_up":
        subject = f"New account up for review on {instance} ({sender['username']})"
        return subject, f"{who} signed up on {instance}.", None, sender["url"]
    subjects = {
        "mention": (f"You were mentioned by {name}", f"{who} mentioned you:"),
        "follow": (f"{name} is now following you", f"{who} is now following you."),
        "follow_request": (f"Pending follower: {name}", f"{who} asked to follow you."),
        "favourite": (f"{name} favourited your post", f"{who} favourited your post:"),
        "reblog": (f"{name} boosted your post", f"{who} boosted your post:"),
        "quote": (f"{name} quoted your post", f"{who} quoted your post:"),
    }
    subject, line = subjects[kind]
    return subject, line, excerpt, link


def _compose(
    subject: str,
    lines: list[tuple[str, str | None]],
    link: str,
    label: str,
    unsubscribe: str,
    switch: str,
) -> MailMessage:
    """HTML and plain text of (paragraph, quoted text) pairs, a link and the way out."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    for line, quoted in lines:
        text_parts.append(line)
        html_parts.append(f"<p>{html_lib.escape(line)}</p>")
        if quoted:
            text_parts.append("\n".join(f"> {q}" for q in quoted.splitlines()))
            body = html_lib.escape(quoted).replace("\n", "<br>")
            html_parts.append(f"<blockquote>{body}</blockquote>")
    text_parts.append(f"{label}: {link}")
    href = html_lib.escape(link, quote=True)
    html_parts.append(f'<p><a href="{href}">{html_lib.escape(label)}</a></p>')
    off = f"To stop these e-mails ({LABELS[switch].lower()}), open {unsubscribe}"
    text_parts.append(off)
    out = html_lib.escape(unsubscribe, quote=True)
    html_parts.append(
        f'<p style="font-size: small"><a href="{out}">Unsubscribe</a> from these.</p>'
    )
    headers = (
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    return MailMessage(
        subject=subject,
        text="\n\n".join(text_parts) + "\n",
        html=page_html("\n".join(html_parts)),
        headers=headers,
    )


# Queueing and sending ----------------------------------------------------------------------


async def queue_mails(rt: Runtime, made: list[NotificationMade]) -> None:
    """After-commit handler of `NotificationMade`: a `mail.notification` job for each
    notification of a kind that may be mailed (none without an SMTP server)."""
    if not Mailer.from_config(rt.config, rt.outbound).enabled:
        return
    jobs = [
        ({"notification_id": m.notification_id}, f"mail.notification:{m.notification_id}")
        for m in made
        if m.type in TYPE_SWITCH
    ]
    if not jobs:
        return

    async def unit(conn: Connection) -> None:
        await MAIL_NOTIFICATION.enqueue_many(conn, rt.ids, jobs)

    await rt.store.write(unit)


async def _mail_for(conn: Connection, rt: Runtime, notification_id: int) -> None:
    row = await notification_rows.by_id(conn, notification_id)
    if row is None or row["mailed_at"] is not None or row["filtered"]:
        return
    switch = TYPE_SWITCH.get(row["type"])
    user = await user_rows.user_by_account(conn, row["account_id"])
    if switch is None or user is None or not _reachable(user):
        return
    if not preferences_of(user["settings"])[switch]:
        return
    now = now_ms()
    entity = await _mailable(conn, rt, row, now)
    if entity is None:
        return
    if not await notification_rows.mark_mailed(conn, notification_id, now):
        return  # mailed already: at most one mail per notification
    instance = (await read_site(conn, rt.config)).title
    subject, line, quoted, link = _what(entity, instance)
    message = _compose(
        subject,
        [(line, quoted)],
        link,
        "Open it",
        unsubscribe_link(rt, user["user_id"], switch),
        switch,
    )
    await enqueue_mail(conn, rt.ids, user["email"], message)


async def _mailable(conn: Connection, rt: Runtime, row: Any, now: int) -> dict[str, Any] | None:
    """A notification's entity, unless its source is blocked or muted (at all, or their
    domain), a filter hides it from notifications, or its status is gone."""
    account_id, sender = row["account_id"], row["from_account_id"]
    if await notification_rows.silenced_by(conn, account_id, sender, now, any_mute=True):
        return None
    if await account_domain_blocks.blocks_account(conn, account_id, sender):
        return None
    entity = await entity_for(conn, rt.config, dict(row))
    if entity is None or ("status" in entity and entity["status"] is None):
        return None
    return entity


def _reachable(user: Any) -> bool:
    """A user mail may go to: confirmed, enabled, not suspended."""
    return (
        user["confirmed_at"] is not None and not user["disabled"] and user["suspended_at"] is None
    )


async def send_notification_mail(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler for `mail.notification`: decide, claim and queue in one unit."""

    async def unit(conn: Connection) -> None:
        await _mail_for(conn, rt, int(payload["notification_id"]))

    await rt.store.write(unit)


# The digest -------------------------------------------------------------------------------


async def send_digests(rt: Runtime) -> int:
    """Mail a digest of mentions to those away (upkeep); how many were mailed."""
    if not Mailer.from_config(rt.config, rt.outbound).enabled:
        return 0
    now = now_ms()

    async def unit(conn: Connection) -> int:
        mailed = 0
        due = await user_rows.digest_due(
            conn, now - DIGEST_AWAY_MS, now - DIGEST_EVERY_MS, DIGEST_BATCH
        )
        instance = (await read_site(conn, rt.config)).title
        for user in due:
            await user_rows.record_emailed(conn, user["user_id"], now)
            if not preferences_of(user["settings"])["digest"]:
                continue
            since = max(user["last_emailed_at"] or 0, user["last_sign_in_at"] or 0)
            lines = await _digest_lines(conn, rt, user["account_id"], since, now)
            if not lines:
                continue
            count = len(lines)
            subject = (
                "1 new notification since your last visit 🐘"
                if count == 1
                else f"{count} new notifications since your last visit 🐘"
            )
            message = _compose(
                subject,
                [(f"While you were away on {instance}:", None), *lines],
                f"{rt.config.base_url}/notifications",
                "See your notifications",
                unsubscribe_link(rt, user["user_id"], "digest"),
                "digest",
            )
            await enqueue_mail(conn, rt.ids, user["email"], message)
            mailed += 1
        return mailed

    return await rt.store.write(unit)


async def _digest_lines(
    conn: Connection, rt: Runtime, account_id: int, since: int, now: int
) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    for row in await notification_rows.mentions_since(conn, account_id, since, DIGEST_MENTIONS):
        entity = await _mailable(conn, rt, row, now)
        if entity is None:
            continue
        _, line, quoted, _ = _what(entity, "")
        lines.append((line, quoted))
    return lines


def register(registry: JobRegistry) -> None:
    """Bind this module's job kinds to their handlers."""
    registry.register(MAIL_NOTIFICATION, send_notification_mail)
