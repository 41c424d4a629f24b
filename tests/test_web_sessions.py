"""Browser sessions: ended by inactivity, listed with their browser and address in the
settings, and revocable there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.oauth_flow import csrf_from
from tests.social import PASSWORD
from tests.web_helpers import html_of, local_user
from wildebeest_trio.http import create_app
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime

DAY_MS = 24 * 3600 * 1000
PROXY = {"client": ("127.0.0.1", 40000)}


@pytest.fixture
async def app(rt: Runtime) -> AsyncIterator[Any]:
    app = create_app(rt)
    async with app.test_app() as test_app:
        yield test_app


async def _sign_in(client: Any, name: str, user_agent: str, ip: str) -> None:
    """Sign a browser in through a proxy that reports `ip`."""
    headers = {"User-Agent": user_agent, "X-Forwarded-For": ip}
    page = await client.get("/auth/sign_in", headers=headers, scope_base=PROXY)
    response = await client.post(
        "/auth/sign_in",
        form={
            "email": f"{name}@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_from(await page.get_data(as_text=True)),
            "next": "/",
        },
        headers=headers,
        scope_base=PROXY,
    )
    assert response.status_code == 302


async def _signed_in(client: Any) -> bool:
    response = await client.get("/settings/profile")
    return bool(response.status_code == 200)


async def _last_seen(rt: Runtime) -> int:
    return int(await rt.store.read(lambda c: c.fetchval("SELECT last_seen_at FROM web_sessions")))


async def _set_last_seen(rt: Runtime, when: int) -> None:
    await rt.store.write(lambda c: c.execute("UPDATE web_sessions SET last_seen_at = $1", when))


async def test_sessions_end_after_their_idle_period(rt: Runtime, app: Any) -> None:
    assert rt.config.session_idle_days == 14
    await local_user(rt, "alice")
    browser = app.test_client()
    await _sign_in(browser, "alice", "Firefox", "198.51.100.1")
    # Used 13 days ago: still signed in, and the use is recorded.
    await _set_last_seen(rt, now_ms() - 13 * DAY_MS)
    assert await _signed_in(browser)
    touched = await _last_seen(rt)
    assert touched > now_ms() - 60_000
    # Within the minute, another page writes nothing.
    assert await _signed_in(browser)
    assert await _last_seen(rt) == touched
    # Unused for 15 days: signed out.
    await _set_last_seen(rt, now_ms() - 15 * DAY_MS)
    assert not await _signed_in(browser)


async def test_sessions_are_listed_and_revocable(rt: Runtime, app: Any) -> None:
    await local_user(rt, "alice")
    await local_user(rt, "bob")
    laptop, phone, bobs = app.test_client(), app.test_client(), app.test_client()
    await _sign_in(laptop, "alice", "Mozilla/5.0 (X11; Linux) Firefox/128.0", "198.51.100.1")
    await _sign_in(phone, "alice", "Mozilla/5.0 (iPhone) Safari/604.1", "2001:db8::7")
    await _sign_in(bobs, "bob", "curl/8", "198.51.100.3")

    html = await html_of(laptop, "/settings/sessions")
    assert "Firefox/128.0" in html and "198.51.100.1" in html
    assert "Safari/604.1" in html and "2001:db8::7" in html
    assert "curl/8" not in html  # bob's session is his own
    ids = [part.split("/")[0] for part in html.split('action="/settings/sessions/')[1:]]
    assert len(ids) == 2
    rows = await rt.store.read(
        lambda c: c.fetch("SELECT id, user_agent FROM web_sessions ORDER BY id")
    )
    phone_id = next(str(r["id"]) for r in rows if "iPhone" in r["user_agent"])
    laptop_id = next(str(r["id"]) for r in rows if "Linux" in r["user_agent"])
    row_of = {sid: next(r for r in html.split("<tr") if f"/{sid}/revoke" in r) for sid in ids}
    assert "(this browser)" in row_of[laptop_id] and "(this browser)" not in row_of[phone_id]

    # Another account cannot end alice's sessions; nor can a form without its token.
    bob_html = await html_of(bobs, "/settings/sessions")
    refused = await bobs.post(
        f"/settings/sessions/{phone_id}/revoke", form={"csrf_token": csrf_from(bob_html)}
    )
    assert refused.status_code == 303
    forged = await laptop.post(f"/settings/sessions/{phone_id}/revoke", form={})
    assert forged.status_code == 403
    assert await _signed_in(phone)

    # The laptop logs the phone out, then itself.
    revoked = await laptop.post(
        f"/settings/sessions/{phone_id}/revoke", form={"csrf_token": csrf_from(html)}
    )
    assert revoked.status_code == 303
    assert not await _signed_in(phone)
    assert await _signed_in(laptop)
    html = await html_of(laptop, "/settings/sessions")
    assert "Safari/604.1" not in html
    own = await laptop.post(
        f"/settings/sessions/{laptop_id}/revoke", form={"csrf_token": csrf_from(html)}
    )
    assert own.status_code == 303
    assert own.headers["Location"] == "/auth/sign_in"
    assert "wb_session=;" in own.headers["Set-Cookie"]
    assert not await _signed_in(laptop)
    assert await _signed_in(bobs)
