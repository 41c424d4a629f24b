"""The admin pages: who may see them, and what each action changes."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.oauth_flow import app_only_token
from tests.social import PASSWORD, make_user, post
from tests.web_helpers import html_of, local_user, log_in, submit
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import jobs as job_rows
from wildebeest_trio.store import reports as report_rows

ADMIN_PAGES = (
    "/admin",
    "/admin/settings",
    "/admin/sign_ups",
    "/admin/reports",
    "/admin/reports?resolved=1",
    "/admin/accounts",
    "/admin/trends/links",
    "/admin/domain_blocks",
    "/admin/custom_emojis",
    "/admin/announcements",
    "/admin/jobs",
)


async def _column(rt: Runtime, sql: str, *args: Any) -> Any:
    return await rt.store.read(lambda conn: conn.fetchval(sql, *args))


async def test_only_staff_see_admin_pages(rt: Runtime, client: Any) -> None:
    await local_user(rt, "boss", role="admin")
    await local_user(rt, "mia", role="moderator")
    await local_user(rt, "plain")
    response = await client.get("/admin/reports")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign_in?next=")
    await log_in(client, "plain")
    for path in ADMIN_PAGES:
        await html_of(client, path, 403)
    await log_in(client, "mia")
    for path in (
        "/admin",
        "/admin/sign_ups",
        "/admin/reports",
        "/admin/accounts",
        "/admin/trends/links",
    ):
        await html_of(client, path)
    for path in ("/admin/settings", "/admin/domain_blocks", "/admin/jobs"):
        await html_of(client, path, 403)
    await log_in(client, "boss")
    for path in ADMIN_PAGES:
        html = await html_of(client, path)
        assert 'href="/admin"' in html, path


async def test_sign_up_approval_and_rejection(rt: Runtime, client: Any) -> None:
    await local_user(rt, "boss", role="admin")
    waiting = await create_local_account(
        rt,
        "newbie",
        "newbie@example.org",
        password=PASSWORD,
        approved=False,
        sign_up_reason="I like meadows",
    )
    other = await create_local_account(
        rt, "spammer", "spam@example.org", password=PASSWORD, approved=False
    )
    await log_in(client, "boss")
    html = await html_of(client, "/admin/sign_ups")
    assert "I like meadows" in html and "@spammer" in html
    # Without the CSRF token: refused, nothing changes.
    response = await client.post(f"/admin/sign_ups/{waiting.user_id}/approve", form={})
    assert response.status_code == 403
    response = await submit(
        client, "/admin/sign_ups", f"/admin/sign_ups/{waiting.user_id}/approve", {}
    )
    assert response.status_code == 303
    assert await _column(rt, "SELECT approved FROM users WHERE id = $1", waiting.user_id)
    response = await submit(
        client, "/admin/sign_ups", f"/admin/sign_ups/{other.user_id}/reject", {}
    )
    assert response.status_code == 303
    assert await _column(rt, "SELECT COUNT(*) FROM accounts WHERE id = $1", other.account_id) == 0
    html = await html_of(client, "/admin/sign_ups?notice=rejected")
    assert "Nobody is waiting" in html and "account removed" in html
    response = await submit(client, "/admin/sign_ups", "/admin/sign_ups/999/approve", {})
    assert response.status_code == 404


async def test_reports_resolve_and_suspend(rt: Runtime, client: Any) -> None:
    await local_user(rt, "mia", role="moderator")
    alice = await make_user(rt, client, "alice")
    troll = await make_user(rt, client, "troll")
    status = await post(client, troll, "something nasty")
    report_id = rt.ids.next_id()
    await rt.store.write(
        report_rows.insert,
        {
            "id": report_id,
            "account_id": int(alice.id),
            "target_account_id": int(troll.id),
            "status_ids": [status["id"]],
            "comment": "please look at this",
            "category": "spam",
            "now": now_ms(),
        },
    )
    await log_in(client, "mia")
    html = await html_of(client, "/admin/reports")
    assert "please look at this" in html and f'href="/@troll/{status["id"]}"' in html
    response = await submit(client, "/admin/reports", f"/admin/reports/{report_id}/resolve", {})
    assert response.status_code == 303
    assert await _column(rt, "SELECT action_taken_at FROM reports WHERE id = $1", report_id)
    assert "please look at this" not in await html_of(client, "/admin/reports")
    assert "please look at this" in await html_of(client, "/admin/reports?resolved=1")
    # Suspending revokes the account's tokens and hides its profile.
    response = await submit(client, "/admin/accounts", f"/admin/accounts/{troll.id}/suspend", {})
    assert response.status_code == 303
    assert await _column(rt, "SELECT suspended_at FROM accounts WHERE id = $1", int(troll.id))
    me = await client.get("/api/v1/accounts/verify_credentials", headers=troll.headers)
    assert me.status_code == 401
    await html_of(client, "/@troll", 404)
    assert "suspended" in await html_of(client, "/admin/accounts?status=suspended")
    response = await submit(client, "/admin/accounts", f"/admin/accounts/{troll.id}/unsuspend", {})
    assert (
        await _column(rt, "SELECT suspended_at FROM accounts WHERE id = $1", int(troll.id)) is None
    )
    response = await submit(client, "/admin/accounts", f"/admin/accounts/{troll.id}/silence", {})
    assert await _column(rt, "SELECT silenced_at FROM accounts WHERE id = $1", int(troll.id))
    # A moderator cannot act on an admin, nor on themself.
    admin_id = await local_user(rt, "chief", role="admin")
    response = await submit(client, "/admin/accounts", f"/admin/accounts/{admin_id}/suspend", {})
    assert response.status_code == 403


async def test_domain_blocks_and_instance_settings(rt: Runtime, client: Any) -> None:
    await local_user(rt, "boss", role="admin")
    await log_in(client, "boss")
    form = {
        "action": "add",
        "domain": "Spam.Example",
        "severity": "suspend",
        "public_comment": "spam",
    }
    response = await submit(client, "/admin/domain_blocks", "/admin/domain_blocks", form)
    assert response.status_code == 303
    assert (
        await _column(rt, "SELECT severity FROM domain_blocks WHERE domain = 'spam.example'")
        == "suspend"
    )
    assert "spam.example" in await html_of(client, "/admin/domain_blocks")
    bad = {"action": "add", "domain": "not a domain!", "severity": "suspend"}
    response = await submit(client, "/admin/domain_blocks", "/admin/domain_blocks", bad)
    assert response.status_code == 422
    response = await submit(
        client,
        "/admin/domain_blocks",
        "/admin/domain_blocks",
        {"action": "remove", "domain": "spam.example"},
    )
    assert response.status_code == 303
    assert await _column(rt, "SELECT COUNT(*) FROM domain_blocks") == 0
    # Rules and the about page's description.
    await submit(
        client, "/admin/settings", "/admin/settings", {"action": "add_rule", "text": "No spam"}
    )
    await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {
            "action": "description",
            "extended_description": "<p>A quiet place</p><script>x()</script>",
        },
    )
    about = await html_of(client, "/about")
    assert "No spam" in about and "A quiet place" in about and "<script>" not in about
    rule_id = await _column(rt, "SELECT id FROM instance_rules WHERE text = 'No spam'")
    await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {"action": "remove_rule", "rule_id": str(rule_id)},
    )
    assert "No spam" not in await html_of(client, "/about")
    # Title, description and registrations: what apps read, and what sign-up allows.
    form = {
        "action": "site",
        "title": "Quiet Place",
        "description": "Small and calm",
        "registrations": "closed",
    }
    response = await submit(client, "/admin/settings", "/admin/settings", form)
    assert response.status_code == 303
    instance = await (await client.get("/api/v2/instance")).get_json()
    assert instance["title"] == "Quiet Place" and instance["description"] == "Small and calm"
    assert instance["registrations"]["enabled"] is False
    v1 = await (await client.get("/api/v1/instance")).get_json()
    assert v1["title"] == "Quiet Place" and v1["registrations"] is False
    assert "Quiet Place" in await html_of(client, "/about")
    app_token = await app_only_token(client)
    signup = {
        "username": "late",
        "email": "late@example.org",
        "password": "long enough pw",
        "agreement": "true",
    }
    refused = await client.post(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {app_token}"}, form=signup
    )
    assert refused.status_code == 403
    assert "closed" in (await refused.get_json())["error"]
    bad = await submit(client, "/admin/settings", "/admin/settings", {**form, "registrations": "x"})
    assert bad.status_code == 422
    bad = await submit(client, "/admin/settings", "/admin/settings", {**form, "title": " "})
    assert bad.status_code == 422
    form["registrations"] = "open"
    await submit(client, "/admin/settings", "/admin/settings", form)
    instance = await (await client.get("/api/v2/instance")).get_json()
    assert instance["registrations"]["enabled"] is True
    allowed = await client.post(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {app_token}"}, form=signup
    )
    assert allowed.status_code == 200, await allowed.get_data(as_text=True)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (200, 20, 20, 255)).save(out, "PNG")
    return out.getvalue()


async def test_custom_emoji_announcements_and_jobs(rt: Runtime, client: Any) -> None:
    from tests.oauth_flow import csrf_from

    await local_user(rt, "boss", role="admin")
    await log_in(client, "boss")
    token = csrf_from(await html_of(client, "/admin/custom_emojis"))
    response = await client.post(
        "/admin/custom_emojis",
        form={"csrf_token": token, "shortcode": "blobcat"},
        files={"image": _upload(_png(), "blobcat.png")},
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    html = await html_of(client, "/admin/custom_emojis")
    assert ":blobcat:" in html and "enabled" in html
    emoji_id = await _column(rt, "SELECT id FROM custom_emojis WHERE shortcode = 'blobcat'")
    await submit(client, "/admin/custom_emojis", f"/admin/custom_emojis/{emoji_id}/disable", {})
    assert await _column(rt, "SELECT disabled FROM custom_emojis WHERE id = $1", emoji_id)
    response = await client.post(
        "/admin/custom_emojis",
        form={"csrf_token": token, "shortcode": "notanimage"},
        files={"image": _upload(b"plain text", "x.png")},
    )
    assert response.status_code == 422
    # Announcements.
    await submit(
        client,
        "/admin/announcements",
        "/admin/announcements",
        {"text": "Maintenance at https://status.example"},
    )
    html = await html_of(client, "/admin/announcements")
    assert 'href="https://status.example"' in html
    announcement_id = await _column(rt, "SELECT id FROM announcements")
    await submit(
        client, "/admin/announcements", f"/admin/announcements/{announcement_id}/delete", {}
    )
    assert await _column(rt, "SELECT COUNT(*) FROM announcements") == 0
    # The job queue: a parked job is listed per kind and can be retried.
    job_id = rt.ids.next_id()

    async def parked(conn: Any) -> None:
        await job_rows.enqueue(
            conn, job_id=job_id, kind="test.parked", payload={}, now=now_ms(), max_attempts=3
        )
        await job_rows.park(conn, job_id, error="gave up", now=now_ms())
        await conn.execute(
            "INSERT INTO unavailable_domains (domain, since) VALUES ('gone.example', 1)"
        )

    await rt.store.write(parked)
    html = await html_of(client, "/admin/jobs")
    assert "test.parked" in html and "gave up" in html and "gone.example" in html
    response = await submit(client, "/admin/jobs", f"/admin/jobs/{job_id}/retry", {})
    assert response.status_code == 303
    assert await _column(rt, "SELECT state FROM jobs WHERE id = $1", job_id) == "pending"
    response = await submit(client, "/admin/jobs", f"/admin/jobs/{job_id}/retry", {})
    assert response.status_code == 404


def _upload(data: bytes, name: str) -> Any:
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name, content_type="image/png")
