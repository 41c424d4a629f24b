"""E-mail notifications: what is mailed, to whom, how to stop it, and what never is."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

from tests.conftest import free_port, make_config
from tests.fakes.instance import drain
from tests.oauth_flow import csrf_from, sign_in
from tests.social import PASSWORD, User, act, follow, make_user, post
from tests.test_account_flows import mail_site, smtp
from tests.test_mailer import Inbox, body
from wildebeest_trio.config import Config
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.notification_mail import (
    MAIL_NOTIFICATION,
    send_digests,
    send_notification_mail,
)
from wildebeest_trio.store import Connection

__all__ = ["mail_site", "smtp"]  # fixtures shared with the account flows


async def _jobs(rt: Runtime, kind: str) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        rows = await conn.fetch("SELECT * FROM jobs WHERE kind = $1 ORDER BY id", kind)
        return [{**r, "payload": json.loads(r["payload"])} for r in rows]

    return await rt.store.read(unit)


async def _mail_settled(rt: Runtime) -> None:
    """Wait until every mail job has run (the workers of `mail_site` run them)."""

    async def pending(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM jobs WHERE kind LIKE 'mail.%' AND state <> 'parked'"
            )
        )

    with trio.fail_after(15):
        while await rt.store.read(pending):
            await trio.sleep(0.02)


async def _mails(rt: Runtime, inbox: Inbox) -> list[EmailMessage]:
    await _mail_settled(rt)
    return inbox.messages()


def _subjects(messages: list[EmailMessage], to: str) -> list[str]:
    return [str(m["Subject"]) for m in messages if m["To"] == to]


def _path(url: str) -> str:
    parts = urlsplit(url.strip("<>"))
    return f"{parts.path}?{parts.query}"


async def test_notifications_are_mailed_as_mastodon_does(
    mail_site: tuple[Runtime, Any, Inbox],
) -> None:
    rt, client, inbox = mail_site
    await create_local_account(rt, "boss", "boss@example.org", password=PASSWORD, role="admin")
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    to_alice = "alice@example.org"

    await follow(client, bob, alice)
    await follow(client, alice, bob)  # else bob's private mention waits as a request
    await post(client, bob, "Hi @alice, look")
    await post(client, bob, "@alice just between us", visibility="direct")
    mine = await post(client, alice, "Something worth a star")
    assert (await act(client, bob, f"/api/v1/statuses/{mine['id']}/favourite"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{mine['id']}/reblog"))[0] == 200
    messages = await _mails(rt, inbox)
    # Favourites and boosts are off by default, as on Mastodon.
    assert set(_subjects(messages, to_alice)) == {
        "bob is now following you",
        "bob sent you a direct message",
        "You were mentioned by bob",
    }
    assert len(_subjects(messages, to_alice)) == 3
    [followed] = [m for m in messages if m["Subject"] == "bob is now following you"]
    assert followed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = _path(str(followed["List-Unsubscribe"]))
    assert unsubscribe.startswith("/unsubscribe?token=") and unsubscribe.endswith("type=follow")
    assert "bob (@bob) is now following you." in body(followed, "plain")
    assert "bob (@bob) is now following you." in body(followed, "html")
    [mention] = [m for m in messages if m["Subject"] == "You were mentioned by bob"]
    assert "> Hi @alice, look" in body(mention, "plain")
    assert "<blockquote>Hi @alice, look</blockquote>" in body(mention, "html")

    # Alice turns favourites on in her settings (a CSRF-checked form).
    assert (await sign_in(client, to_alice, PASSWORD)).status_code == 302
    page = await client.get("/settings/notifications")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="favourite"' in html
    assert 'name="pending_account"' not in html  # staff switches are for staff
    form = {"csrf_token": csrf_from(html), "follow": "on", "mention": "on", "favourite": "on"}
    assert (
        await client.post("/settings/notifications", form={**form, "csrf_token": "x"})
    ).status_code == 403
    saved = await client.post("/settings/notifications", form=form)
    assert saved.status_code == 303
    client.cookie_jar.clear()
    again = await post(client, alice, "Another")
    assert (await act(client, bob, f"/api/v1/statuses/{again['id']}/favourite"))[0] == 200

    # A report goes to the staff.
    status, _ = await act(client, bob, "/api/v1/reports", account_id=alice.id, comment="Spam!")
    assert status == 200
    messages = await _mails(rt, inbox)
    assert "bob favourited your post" in _subjects(messages, to_alice)
    [report] = _subjects(messages, "boss@example.org")
    assert report.startswith("New report for ") and report.endswith(")")

    # One click, without signing in, stops follow mails only.
    shown = await client.get(unsubscribe)
    assert shown.status_code == 200 and "<form" in await shown.get_data(as_text=True)
    assert (await client.post(unsubscribe[:-12] + "type=mention")).status_code == 400
    tampered = unsubscribe.replace("token=", "token=A")
    assert (await client.post(tampered, form={"List-Unsubscribe": "One-Click"})).status_code == 400
    done = await client.post(unsubscribe, form={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "alice@example.org will no longer get" in await done.get_data(as_text=True)
    carol = await make_user(rt, client, "carol")
    await follow(client, carol, alice)
    await post(client, carol, "@alice hello")
    messages = await _mails(rt, inbox)
    assert "carol is now following you" not in _subjects(messages, to_alice)
    assert "You were mentioned by carol" in _subjects(messages, to_alice)


async def test_sign_ups_are_mailed_to_staff(mail_site: tuple[Runtime, Any, Inbox]) -> None:
    rt, client, inbox = mail_site
    await create_local_account(rt, "boss", "boss@example.org", password=PASSWORD, role="admin")
    page = await client.get("/auth/sign_up")
    form = {
        "username": "newbie",
        "email": "newbie@example.org",
        "password": PASSWORD,
        "agreement": "1",
        "reason": "I like it here",
        "csrf_token": csrf_from(await page.get_data(as_text=True)),
    }
    assert (await client.post("/auth/sign_up", form=form)).status_code == 200
    messages = await _mails(rt, inbox)
    [subject] = _subjects(messages, "boss@example.org")
    assert subject.startswith("New account up for review on ") and "(newbie)" in subject


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """Mail is on, but no worker runs: the tests run the jobs themselves."""
    return make_config(
        tmp_path,
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=str(free_port()),
        smtp_security="none",
    )


async def _mailed_to(rt: Runtime) -> list[str]:
    return [j["payload"]["to"] for j in await _jobs(rt, "mail.send")]


async def test_no_mail_from_a_blocked_muted_or_filtered_source_and_one_per_notification(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    bob, carol, dave, erin = [
        await make_user(rt, client, n) for n in ("bob", "carol", "dave", "erin")
    ]

    # Blocked after the notification was made, before its mail: nothing goes.
    await follow(client, bob, alice)
    [job] = await _jobs(rt, MAIL_NOTIFICATION.name)
    assert (await act(client, alice, f"/api/v1/accounts/{bob.id}/block"))[0] == 200
    await drain(rt, [MAIL_NOTIFICATION.name])
    assert await _mailed_to(rt) == []

    # Muted, even with notifications shown.
    status, _ = await act(client, alice, f"/api/v1/accounts/{erin.id}/mute", notifications=False)
    assert status == 200
    await post(client, erin, "@alice hey")
    await drain(rt, [MAIL_NOTIFICATION.name])
    assert await _mailed_to(rt) == []

    # Filtered away by a filter that hides the status from notifications.
    response = await client.post(
        "/api/v2/filters",
        headers=alice.headers,
        json={
            "title": "No secrets",
            "context": ["notifications"],
            "filter_action": "hide",
            "keywords_attributes": [{"keyword": "secret"}],
        },
    )
    assert response.status_code == 200
    await post(client, dave, "@alice a secret")
    await drain(rt, [MAIL_NOTIFICATION.name])
    assert await _mailed_to(rt) == []

    # At most one mail per notification, however often its job runs.
    await follow(client, carol, alice)
    [*_, job] = await _jobs(rt, MAIL_NOTIFICATION.name)
    payload = job["payload"]
    await drain(rt, [MAIL_NOTIFICATION.name])
    await send_notification_mail(rt, payload)
    await send_notification_mail(rt, payload)
    assert await _mailed_to(rt) == ["alice@example.org"]
    [sent] = await _jobs(rt, "mail.send")
    assert sent["payload"]["subject"] == "carol is now following you"
    assert ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"] in sent["payload"]["headers"]


async def _away(rt: Runtime, user: User, days: int) -> None:
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE users SET last_sign_in_at = $1 WHERE account_id = $2",
            now_ms() - days * 24 * 3600 * 1000,
            int(user.id),
        )

    await rt.store.write(unit)


async def test_a_digest_for_those_away(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await _away(rt, alice, 10)
    await _away(rt, bob, 10)
    await _away(rt, carol, 2)
    await post(client, bob, "@alice are you there?")
    await post(client, alice, "@carol hi")  # carol was here two days ago: no digest
    # bob was away too, but nobody mentioned him: nothing to send.
    assert await send_digests(rt) == 1
    digests = [
        j["payload"] for j in await _jobs(rt, "mail.send") if "visit" in j["payload"]["subject"]
    ]
    [digest] = digests
    assert digest["to"] == "alice@example.org"
    assert digest["subject"] == "1 new notification since your last visit 🐘"
    assert "> @alice are you there?" in digest["text"] or "are you there?" in digest["text"]
    assert "type=digest" in dict(map(tuple, digest["headers"]))["List-Unsubscribe"]
    assert await send_digests(rt) == 0  # at most weekly
