"""The settings pages: profile, password, e-mail, two-factor, import/export, deletion."""

from __future__ import annotations

import io
import re
import time
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.oauth_flow import csrf_from, register_app, sign_in
from tests.social import PASSWORD, follow, make_user, post
from tests.web_helpers import html_of, local_user, log_in, submit
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import account_settings

SETTINGS_PAGES = (
    "/settings/profile",
    "/settings/account",
    "/settings/two_factor",
    "/settings/security_keys",
    "/settings/export",
    "/settings/aliases",
    "/settings/delete",
    "/settings/sessions",
)


async def _value(rt: Runtime, sql: str, *args: Any) -> Any:
    return await rt.store.read(lambda conn: conn.fetchval(sql, *args))


def _png(size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def test_settings_need_a_session_and_parse(rt: Runtime, client: Any) -> None:
    await local_user(rt, "alice")
    for path in SETTINGS_PAGES:
        response = await client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/auth/sign_in?next=")
    await log_in(client, "alice")
    for path in SETTINGS_PAGES:
        await html_of(client, path)


# A form and the page it is on (the page a browser can come back to with a GET).
FORMS_AND_PAGES = (
    ("/settings/profile", "/settings/profile"),
    ("/settings/account/email", "/settings/account"),
    ("/settings/account/password", "/settings/account"),
    ("/settings/sessions/1/revoke", "/settings/sessions"),
    ("/settings/applications/1/revoke", "/settings/applications"),
    ("/settings/import", "/settings/export"),
    ("/admin/sign_ups/1/approve", "/admin/sign_ups"),
    ("/admin/custom_emojis/1/disable", "/admin/custom_emojis"),
)


async def test_a_form_posted_after_the_session_ended_comes_back_to_its_page(
    rt: Runtime, client: Any
) -> None:
    """Signing in again returns to the form's page, which answers a GET (not to the path
    the form posts to, which answers only POST), and nothing was changed meanwhile."""
    await local_user(rt, "alice")
    await log_in(client, "alice")
    token = csrf_from(await html_of(client, "/settings/account"))
    signed_out = await client.post("/auth/sign_out", form={"csrf_token": token})
    assert signed_out.status_code == 302
    for action, page in FORMS_AND_PAGES:
        response = await client.post(
            action, form={"csrf_token": token, "email": "new@example.org", "password": "x"}
        )
        assert response.status_code == 302, action
        assert response.headers["Location"] == "/auth/sign_in?" + urlencode({"next": page})
    again = await sign_in(client, "alice@example.org", PASSWORD, "/settings/account")
    assert again.headers["Location"] == "/settings/account"
    shown = await html_of(client, "/settings/account")
    assert "alice@example.org" in shown and "new@example.org" not in shown


async def test_profile_edit_with_avatar(rt: Runtime, client: Any) -> None:
    account_id = await local_user(rt, "alice")
    await log_in(client, "alice")
    token = csrf_from(await html_of(client, "/settings/profile"))
    form = {
        "csrf_token": token,
        "display_name": "Alice A.",
        "note": "I write #poems",
        "fields[0][name]": "Web",
        "fields[0][value]": "https://alice.example",
        "locked": "on",
    }
    response = await client.post(
        "/settings/profile",
        form=form,
        files={"avatar": FileStorage(io.BytesIO(_png()), "me.png", content_type="image/png")},
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    row = await rt.store.read(
        lambda conn: conn.fetchrow("SELECT * FROM accounts WHERE id = $1", account_id)
    )
    assert row["display_name"] == "Alice A." and row["locked"] and not row["bot"]
    assert row["avatar_key"] and "poems" in row["note"]
    profile = await html_of(client, "/@alice")
    assert f"/system/{row['avatar_key']}" in profile
    assert '<link rel="me" href="https://alice.example">' in profile
    # A bad image: refused, nothing changes.
    response = await client.post(
        "/settings/profile",
        form={**form, "display_name": "Changed"},
        files={"header": FileStorage(io.BytesIO(b"not an image"), "x.png")},
    )
    assert response.status_code == 422
    assert await _value(rt, "SELECT display_name FROM accounts WHERE id = $1", account_id) == (
        "Alice A."
    )
    # A forged post (no CSRF token) is refused.
    response = await client.post("/settings/profile", form={"display_name": "Forged"})
    assert response.status_code == 403


async def test_password_change(rt: Runtime, client: Any) -> None:
    await local_user(rt, "alice")
    await log_in(client, "alice")
    wrong = {
        "current_password": "nope",
        "password": "new password!",
        "password_confirmation": "new password!",
    }
    response = await submit(client, "/settings/account", "/settings/account/password", wrong)
    assert response.status_code == 422
    right = {**wrong, "current_password": PASSWORD}
    # Mastodon's length rule: 8 to 72 characters.
    long = {**right, "password": "x" * 73, "password_confirmation": "x" * 73}
    response = await submit(client, "/settings/account", "/settings/account/password", long)
    assert response.status_code == 422
    assert "maximum is 72 characters" in await response.get_data(as_text=True)
    response = await submit(client, "/settings/account", "/settings/account/password", right)
    assert response.status_code == 303
    # This browser stays signed in; the old password no longer works.
    await html_of(client, "/settings/account")
    client.cookie_jar.clear()
    assert (await sign_in(client, "alice@example.org", PASSWORD)).status_code == 401
    assert (await sign_in(client, "alice@example.org", "new password!")).status_code == 302


async def test_email_change_without_and_with_mail(
    rt: Runtime, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = await local_user(rt, "alice")
    await local_user(rt, "bob")
    await log_in(client, "alice")
    form = {"email": "alice@new.example", "current_password": PASSWORD}
    response = await submit(client, "/settings/account", "/settings/account/email", form)
    assert response.status_code == 303
    assert await _value(rt, "SELECT email FROM users WHERE account_id = $1", account_id) == (
        "alice@new.example"
    )
    taken = {"email": "bob@example.org", "current_password": PASSWORD}
    response = await submit(client, "/settings/account", "/settings/account/email", taken)
    assert response.status_code == 422
    # With mail: the address changes only once the link is followed.
    monkeypatch.setattr(account_settings, "mail_enabled", lambda rt: True)
    form = {"email": "alice@newer.example", "current_password": PASSWORD}
    response = await submit(client, "/settings/account", "/settings/account/email", form)
    assert response.status_code == 303
    assert "alice@newer.example" in await html_of(client, "/settings/account")
    assert await _value(rt, "SELECT email FROM users WHERE account_id = $1", account_id) == (
        "alice@new.example"
    )
    assert await _value(rt, "SELECT COUNT(*) FROM jobs WHERE payload LIKE '%newer.example%'") == 1
    user_id = await _value(rt, "SELECT id FROM users WHERE account_id = $1", account_id)
    link = account_settings.email_change_link(rt, user_id, "alice@newer.example")
    path = link.removeprefix(rt.config.base_url)
    await html_of(client, path)
    assert await _value(rt, "SELECT email FROM users WHERE account_id = $1", account_id) == (
        "alice@newer.example"
    )
    await html_of(client, path, 400)  # used once


async def test_two_factor_sign_in(rt: Runtime, client: Any) -> None:
    await local_user(rt, "alice")
    await log_in(client, "alice")
    response = await submit(
        client,
        "/settings/two_factor",
        "/settings/two_factor",
        {"action": "setup", "current_password": PASSWORD},
    )
    html = await response.get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html).group(1)
    assert "otpauth://totp/" in html
    # A wrong code does not turn it on.
    response = await submit(
        client,
        "/settings/two_factor",
        "/settings/two_factor",
        {"action": "confirm", "code": "000000"},
    )
    assert response.status_code == 422
    code = pyotp.TOTP(secret).now()
    response = await submit(
        client, "/settings/two_factor", "/settings/two_factor", {"action": "confirm", "code": code}
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and "Two-factor authentication is on" in html
    recovery = re.findall(r"<code>([0-9a-f]{10}-[0-9a-f]{10})</code>", html)
    assert len(recovery) == 10
    # Signing in now takes a second step.
    client.cookie_jar.clear()
    response = await sign_in(client, "alice@example.org", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/two_factor")
    assert (await client.get("/settings/account")).status_code == 302  # no session yet
    page = await html_of(client, "/auth/two_factor?next=/settings/account")
    token = csrf_from(page)
    bad = await client.post("/auth/two_factor", form={"csrf_token": token, "code": "123456"})
    assert bad.status_code == 401
    # The code used to confirm cannot be replayed; the next step's code works.
    replay = await client.post("/auth/two_factor", form={"csrf_token": token, "code": code})
    assert replay.status_code == 401
    later = pyotp.TOTP(secret).at(time.time() + 30)
    ok = await client.post(
        "/auth/two_factor", form={"csrf_token": token, "code": later, "next": "/settings/account"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/settings/account"
    await html_of(client, "/settings/account")
    # A recovery code works once.
    for expected in (302, 401):
        client.cookie_jar.clear()
        await sign_in(client, "alice@example.org", PASSWORD)
        token = csrf_from(await html_of(client, "/auth/two_factor"))
        response = await client.post(
            "/auth/two_factor", form={"csrf_token": token, "code": recovery[0]}
        )
        assert response.status_code == expected
    # Without the password step, the second step is out of reach.
    client.cookie_jar.clear()
    assert (await client.get("/auth/two_factor")).status_code == 302
    # Nor does the password grant skip it.
    app = await register_app(client)
    grant = await client.post(
        "/oauth/token",
        form={
            "grant_type": "password",
            "username": "alice@example.org",
            "password": PASSWORD,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert grant.status_code == 400
    assert (await grant.get_json())["error"] == "invalid_grant"


async def test_export_and_import(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await make_user(rt, client, "dave")
    await follow(client, alice, bob)
    await client.post(f"/api/v1/accounts/{carol.id}/block", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{bob.id}/mute", headers=alice.headers)
    await log_in(client, "alice")
    domain = rt.config.domain
    exported = {}
    for kind in ("follows", "blocks", "mutes"):
        response = await client.get(f"/settings/export/{kind}.csv")
        assert response.status_code == 200 and response.content_type.startswith("text/csv")
        exported[kind] = await response.get_data(as_text=True)
    assert exported["follows"] == (
        f"Account address,Show boosts,Notify on new posts,Languages\nbob@{domain},true,false,\n"
    )
    assert exported["blocks"] == f"carol@{domain}\n"
    assert exported["mutes"] == f"Account address,Hide notifications\nbob@{domain},true\n"
    # Dave imports alice's files: each is queued as an import (tests/test_imports.py
    # follows imports through with a second live instance).
    await log_in(client, "dave")
    for kind, form_type in (("follows", "following"), ("blocks", "blocking")):
        token = csrf_from(await html_of(client, "/settings/export"))
        response = await client.post(
            "/settings/import",
            form={"csrf_token": token, "type": form_type, "mode": "merge"},
            files={"file": FileStorage(io.BytesIO(exported[kind].encode()), f"{kind}.csv")},
        )
        assert response.status_code == 303
    html = await html_of(client, "/settings/export")
    assert html.count('<td class="state">running</td>') == 2
    token = csrf_from(html)
    response = await client.post(
        "/settings/import",
        form={"csrf_token": token, "type": "following"},
        files={"file": FileStorage(io.BytesIO(b"\xff\xfe\x00garbage"), "x.csv")},
    )
    assert response.status_code == 422


async def test_delete_account(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await follow(client, bob, alice)
    status = await post(client, alice, "soon gone")
    await log_in(client, "alice")
    response = await submit(
        client, "/settings/delete", "/settings/delete", {"current_password": "no"}
    )
    assert response.status_code == 422
    response = await submit(
        client, "/settings/delete", "/settings/delete", {"current_password": PASSWORD}
    )
    assert response.status_code == 200
    assert await _value(rt, "SELECT suspended_at FROM accounts WHERE id = $1", int(alice.id))
    assert await _value(rt, "SELECT deleted_at FROM statuses WHERE id = $1", int(status["id"]))
    assert (
        await _value(rt, "SELECT followers_count FROM accounts WHERE id = $1", int(alice.id)) == 0
    )
    assert await _value(rt, "SELECT following_count FROM accounts WHERE id = $1", int(bob.id)) == 0
    assert await _value(rt, "SELECT COUNT(*) FROM outbox WHERE event = 'account.deleted'") == 1
    await html_of(client, "/@alice", 404)
    assert (await client.get("/settings/profile")).status_code == 302
    me = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert me.status_code == 401
    client.cookie_jar.clear()
    assert (await sign_in(client, "alice@example.org", PASSWORD)).status_code == 401


async def test_totp_secret_is_stored_sealed(rt: Runtime, client: Any) -> None:
    from wildebeest_trio.services import totp

    account_id = await local_user(rt, "alice")
    user_id = await _value(rt, "SELECT id FROM users WHERE account_id = $1", account_id)
    setup = await totp.begin_setup(rt, user_id, "alice@test")
    stored = await _value(rt, "SELECT otp_secret FROM users WHERE id = $1", user_id)
    assert stored and setup.secret not in stored
    codes = await totp.confirm_setup(rt, user_id, pyotp.TOTP(setup.secret).now())
    assert len(codes) == 10
    later = pyotp.TOTP(setup.secret).at(time.time() + 30)
    assert await totp.verify(rt, user_id, later)
    assert not await totp.verify(rt, user_id, later)  # never twice
    assert await totp.verify(rt, user_id, codes[3].upper())


async def test_aliases_and_move_from_the_settings_page(rt: Runtime, client: Any) -> None:
    old = await local_user(rt, "old")
    new = await local_user(rt, "new")
    domain = rt.config.domain
    await log_in(client, "old")
    # A move to an account that does not list us as an alias is refused.
    response = await submit(
        client,
        "/settings/aliases",
        "/settings/aliases",
        {"action": "move", "acct": f"new@{domain}", "current_password": PASSWORD},
    )
    assert response.status_code == 422
    assert "alias" in (await response.get_data(as_text=True)).lower()
    # The new account names the old one; then the old one moves.
    await log_in(client, "new")
    response = await submit(
        client, "/settings/aliases", "/settings/aliases", {"action": "add", "acct": f"old@{domain}"}
    )
    assert response.status_code in (302, 303)
    old_uri = f"{rt.config.base_url}/users/old"
    assert old_uri in await html_of(client, "/settings/aliases")
    # Removing it (the page names it by its actor id) and adding it back.
    response = await submit(
        client, "/settings/aliases", "/settings/aliases", {"action": "remove", "acct": old_uri}
    )
    assert response.status_code in (302, 303)
    assert old_uri not in await html_of(client, "/settings/aliases")
    response = await submit(
        client, "/settings/aliases", "/settings/aliases", {"action": "add", "acct": f"old@{domain}"}
    )
    assert response.status_code in (302, 303)
    await log_in(client, "old")
    wrong = await submit(
        client,
        "/settings/aliases",
        "/settings/aliases",
        {"action": "move", "acct": f"new@{domain}", "current_password": "wrong password"},
    )
    assert wrong.status_code == 422
    response = await submit(
        client,
        "/settings/aliases",
        "/settings/aliases",
        {"action": "move", "acct": f"new@{domain}", "current_password": PASSWORD},
    )
    assert response.status_code in (302, 303)
    moved = await rt.store.read(
        lambda conn: conn.fetchval("SELECT moved_to_account_id FROM accounts WHERE id = $1", old)
    )
    assert moved == new
