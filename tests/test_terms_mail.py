"""The terms-of-service notice (Mastodon 4.4): an admin tells every user about a version of
the terms once, each confirmed user gets one mail (a real SMTP server on 127.0.0.1), and a
notice job run again mails nobody twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import trio

from tests.fakes.instance import drain
from tests.fakes.rows import rows
from tests.test_account_flows import mail_site, smtp
from tests.test_mailer import Inbox, body
from tests.web_helpers import local_user, log_in, submit
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import terms_mail
from wildebeest_trio.services.accounts import create_local_account

__all__ = ["mail_site", "smtp"]  # fixtures shared with the account flows
PASSWORD = "correct horse battery"


async def _mail_settled(rt: Runtime) -> None:
    async def pending(conn: Any) -> int:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM jobs WHERE (kind LIKE 'mail.%' OR kind = 'terms.notify') "
                "AND state <> 'parked'"
            )
        )

    with trio.fail_after(20):
        while await rt.store.read(pending):
            await trio.sleep(0.02)


async def test_admins_notify_every_user_once(
    mail_site: tuple[Runtime, Any, Inbox], monkeypatch: Any
) -> None:
    rt, client, inbox = mail_site
    monkeypatch.setattr(terms_mail, "BATCH", 2)  # three batches for five users
    await local_user(rt, "boss", role="admin")
    for name in ("ann", "ben", "cy", "dee"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await log_in(client, "boss")
    date = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    response = await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {
            "action": "terms",
            "effective_date": date,
            "content": "<p>Be kind.</p>",
            "changelog": "<p>Kindness is required now.</p>",
        },
    )
    assert response.status_code in (302, 303)
    # Nothing is mailed until an admin asks.
    await _mail_settled(rt)
    assert inbox.messages() == []

    notify = {"action": "notify_terms", "effective_date": date}
    response = await submit(client, "/admin/settings", "/admin/settings", notify)
    assert response.status_code in (302, 303)
    await _mail_settled(rt)
    messages = inbox.messages()
    addressed = sorted(str(m["To"]) for m in messages)
    users = await rows(rt, "SELECT email FROM users ORDER BY email")
    assert addressed == sorted(u["email"] for u in users) and len(addressed) == 5
    ann = next(m for m in messages if m["To"] == "ann@example.org")
    assert "terms of service" in str(ann["Subject"])
    text = body(ann, "plain")
    assert date in text and "Kindness is required now." in text and "<p>" not in text
    assert f"{rt.config.base_url}/terms-of-service/{date}" in text
    assert f'href="{rt.config.base_url}/terms-of-service/{date}"' in body(ann, "html")

    # Once per version: asking again is refused, and a job run again mails nobody.
    again = await submit(client, "/admin/settings", "/admin/settings", notify)
    assert again.status_code == 409
    await terms_mail.run_notify(rt, {"effective_date": date})
    await drain(rt, ["mail.send", "terms.notify"])
    await _mail_settled(rt)
    assert len(inbox.messages()) == 5
    page = await client.get("/admin/settings")
    assert "(users notified)" in await page.get_data(as_text=True)
    missing = {"action": "notify_terms", "effective_date": "2001-01-01"}
    assert (await submit(client, "/admin/settings", "/admin/settings", missing)).status_code == 404
