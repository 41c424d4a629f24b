"""Telling every user that the terms of service change (Mastodon 4.4's "notify users").

An admin sends the notice once per version (Mastodon's `notification_sent_at`); the
durable `terms.notify` job then queues one mail per confirmed, working user, a batch at a
time in user id order. The last user mailed is kept with the version in the same
transaction as the batch's mails, so a job run twice (a crash after commit) mails nobody
twice, and a server restart resumes where it stopped.
"""

from __future__ import annotations

import html as html_lib
from typing import Any

from ..ids import now_ms
from ..jobs import JobRegistry
from ..jobs.kinds import JobKind
from ..runtime import Runtime
from ..store import Connection
from ..store import terms as terms_rows
from ..store import users as user_rows
from .instance import read_site
from .mailer import MailMessage, enqueue_mail, page_html

BATCH = 100
NOTIFY = JobKind("terms.notify", max_attempts=10)


class TermsNotFound(LookupError):
    """No version of the terms with that date."""


def terms_changed_message(
    *, instance: str, username: str, effective_date: str, changelog: str, link: str
) -> MailMessage:
    """Mastodon's `terms_of_service_changed` mail: what changes, from when, and where."""
    before = [
        f"@{username}, we are updating the terms of service of {instance}.",
        f"The new terms take effect on {effective_date}.",
    ]
    text = "\n\n".join([*before, *([changelog] if changelog else []), link]) + "\n"
    href = html_lib.escape(link, quote=True)
    parts = [f"<p>{html_lib.escape(p)}</p>" for p in before]
    if changelog:
        parts.append(f"<p>{html_lib.escape(changelog)}</p>")
    parts.append(f'<p><a href="{href}">Read the new terms</a></p>')
    return MailMessage(
        subject=f"{instance}: we are updating our terms of service",
        text=text,
        html=page_html("\n".join(parts)),
    )


async def notify_users(rt: Runtime, effective_date: str) -> bool:
    """Send the notice about a version to every user; false when it was sent already."""

    async def unit(conn: Connection) -> bool:
        if await terms_rows.by_date(conn, effective_date) is None:
            raise TermsNotFound()
        if not await terms_rows.mark_notified(conn, effective_date, now_ms()):
            return False
        await NOTIFY.enqueue(
            conn, rt.ids, {"effective_date": effective_date}, dedupe_key=f"terms:{effective_date}"
        )
        return True

    return await rt.store.write(unit)


async def run_notify(rt: Runtime, payload: dict[str, Any]) -> None:
    """The job: mail the next batch of users, then queue itself for the rest."""
    effective_date = str(payload["effective_date"])

    async def unit(conn: Connection) -> None:
        version = await terms_rows.by_date(conn, effective_date)
        if version is None:
            return  # withdrawn meanwhile: nobody else hears of it
        users = await user_rows.mailable_after(conn, version["notified_through"], BATCH)
        if not users:
            return
        instance = (await read_site(conn, rt.config)).title
        link = f"{rt.config.base_url}/terms-of-service/{effective_date}"
        plain_changelog = html_lib.unescape(_strip_tags(version["changelog"]))
        for user in users:
            message = terms_changed_message(
                instance=instance,
                username=user["username"],
                effective_date=effective_date,
                changelog=plain_changelog,
                link=link,
            )
            await enqueue_mail(conn, rt.ids, user["email"], message)
        await terms_rows.advance_notified(conn, effective_date, users[-1]["user_id"])
        if len(users) == BATCH:
            await NOTIFY.enqueue(conn, rt.ids, {"effective_date": effective_date})

    await rt.store.write(unit)


def _strip_tags(text: str) -> str:
    """Plain text of a cleaned HTML fragment (for the mail; the HTML part is not rebuilt)."""
    out, inside = [], False
    for char in text:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out).strip()


def register(registry: JobRegistry) -> None:
    """Bind the notice job to its handler."""
    registry.register(NOTIFY, run_notify)
