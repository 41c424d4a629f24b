"""Security keys and passkeys (WebAuthn) as a second sign-in factor, at the HTTP level with
a software key (tests/browser/test_security_keys_browser.py drives Chromium's virtual one)."""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import pyotp

from tests.oauth_flow import csrf_from, sign_in
from tests.social import PASSWORD
from tests.web_helpers import html_of, local_user, log_in, submit
from tests.webauthn_authenticator import SoftKey, b64
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import account_settings, totp


def form_of(page: str, kind: str) -> tuple[dict[str, Any], str]:
    """The options and the signed challenge of the page's WebAuthn form (`create`/`get`)."""
    match = re.search(rf'data-webauthn="{kind}" data-options="([^"]*)"', page)
    assert match, f"no {kind} form on the page"
    ticket = re.search(r'name="challenge" value="([^"]*)"', page)
    assert ticket
    return json.loads(html.unescape(match.group(1))), html.unescape(ticket.group(1))


async def turn_on_totp(rt: Runtime, account_id: int) -> str:
    """Two-factor with an app, on (through the same service as the page); the secret."""
    user = await account_settings.user_of(rt, account_id)
    setup = await totp.begin_setup(rt, user["user_id"], "alice")
    await totp.confirm_setup(rt, user["user_id"], pyotp.TOTP(setup.secret).now())
    return setup.secret


def soft_key(rt: Runtime) -> SoftKey:
    return SoftKey(urlsplit(rt.config.base_url).hostname or "", rt.config.base_url)


async def add_key(
    client: Any, key: SoftKey, nickname: str, changes: dict[str, str] | None = None
) -> Any:
    page = await html_of(client, "/settings/security_keys")
    options, ticket = form_of(page, "create")
    form = {
        "csrf_token": csrf_from(page),
        "nickname": nickname,
        "challenge": ticket,
        "credential": key.create(options),
    }
    form.update(changes or {})
    return await client.post("/settings/security_keys", form=form)


async def password_step(client: Any) -> str:
    """Sign out and give the password; the second step's page."""
    client.cookie_jar.clear()
    response = await sign_in(client, "alice@example.org", PASSWORD, "/settings/account")
    assert response.headers["Location"].startswith("/auth/two_factor")
    return await html_of(client, "/auth/two_factor")


async def answer(client: Any, page: str, credential: str, ticket: str | None = None) -> Any:
    _, own = form_of(page, "get")
    return await client.post(
        "/auth/two_factor/webauthn",
        form={
            "csrf_token": csrf_from(page),
            "challenge": own if ticket is None else ticket,
            "credential": credential,
            "next": "/settings/account",
        },
    )


async def test_a_key_needs_the_app_first(rt: Runtime, client: Any) -> None:
    """As Mastodon: keys come after two-factor with an app."""
    await local_user(rt, "alice")
    await log_in(client, "alice")
    page = await html_of(client, "/settings/security_keys")
    assert "data-webauthn" not in page
    assert "turn on two-factor authentication with an app" in page
    refused = await submit(
        client,
        "/settings/security_keys",
        "/settings/security_keys",
        {"nickname": "key", "challenge": "x.y", "credential": "{}"},
    )
    assert refused.status_code == 422
    assert "with an app first" in await refused.get_data(as_text=True)


async def test_register_sign_in_with_and_remove_a_key(rt: Runtime, client: Any) -> None:
    alice = await local_user(rt, "alice")
    await log_in(client, "alice")
    secret = await turn_on_totp(rt, alice)
    key = soft_key(rt)
    added = await add_key(client, key, "  Blue   key ")
    assert added.status_code == 303, await added.get_data(as_text=True)
    assert added.headers["Location"] == "/settings/security_keys?notice=key_added"
    page = await html_of(client, "/settings/security_keys?notice=key_added")
    assert "The security key was added." in page and "<td>Blue key</td>" in page
    # The same name twice, or the same key twice, is refused.
    again = await add_key(client, soft_key(rt), "Blue key")
    assert again.status_code == 422
    assert "already have a key with that name" in await again.get_data(as_text=True)
    twice = await add_key(client, key, "Blue key 2")
    assert twice.status_code == 422
    # Sign in with it: password, then the key.
    page = await password_step(client)
    assert "Use security key" in page
    options, ticket = form_of(page, "get")
    assert [c["id"] for c in options["allowCredentials"]] == [b64(key.credential_id)]
    credential = key.get(options)
    ok = await answer(client, page, credential)
    assert ok.status_code == 302 and ok.headers["Location"] == "/settings/account"
    await html_of(client, "/settings/account")
    # The same answer does not sign in twice (its challenge died with the first use).
    page = await password_step(client)
    replay = await answer(client, page, credential, ticket)
    assert replay.status_code == 401
    assert "not accepted" in await replay.get_data(as_text=True)
    # A key the server does not know is refused; the app's code still works.
    stranger = await answer(client, page, soft_key(rt).get(form_of(page, "get")[0]))
    assert stranger.status_code == 401
    later = pyotp.TOTP(secret).at(time.time() + 30)
    by_code = await client.post(
        "/auth/two_factor", form={"csrf_token": csrf_from(page), "code": later}
    )
    assert by_code.status_code == 302
    # Removing it: gone from the list and from the sign-in page.
    page = await html_of(client, "/settings/security_keys")
    key_id = re.search(r'action="/settings/security_keys/(\d+)/delete"', page).group(1)
    path = f"/settings/security_keys/{key_id}/delete"
    removed = await client.post(path, form={"csrf_token": csrf_from(page)})
    assert removed.status_code == 303
    assert "Blue key" not in await html_of(client, "/settings/security_keys")
    gone = await client.post(path, form={"csrf_token": csrf_from(page)})
    assert gone.status_code == 404
    page = await password_step(client)
    assert "data-webauthn" not in page


async def test_turning_two_factor_off_removes_the_keys(rt: Runtime, client: Any) -> None:
    alice = await local_user(rt, "alice")
    await log_in(client, "alice")
    await turn_on_totp(rt, alice)
    assert (await add_key(client, soft_key(rt), "Blue key")).status_code == 303
    off = await submit(
        client,
        "/settings/two_factor",
        "/settings/two_factor",
        {"action": "disable", "current_password": PASSWORD},
    )
    assert off.status_code == 303
    page = await html_of(client, "/settings/security_keys")
    assert "Blue key" not in page and "data-webauthn" not in page


async def test_bad_answers_are_refused_with_4xx(rt: Runtime, client: Any) -> None:
    alice = await local_user(rt, "alice")
    await local_user(rt, "bob")
    await log_in(client, "alice")
    await turn_on_totp(rt, alice)
    key = soft_key(rt)
    elsewhere = SoftKey(key.rp_id, "https://evil.example")
    for changes in (
        {"credential": ""},
        {"credential": "not json"},
        {"credential": "[]"},
        {"credential": '{"id": 1}'},
        {"credential": json.dumps({"id": "x", "response": {}})},
        {"credential": json.dumps({"id": "x", "response": "x" * 40_000})},
        {"challenge": ""},
        {"challenge": "AAAA.forged"},
        {"challenge": "." * 1000},
        {"nickname": ""},
        {"nickname": "n" * 101},
    ):
        response = await add_key(client, key, "Blue key", changes)
        assert response.status_code == 422, (changes, response.status_code)
    # Made for another origin: refused.
    page = await html_of(client, "/settings/security_keys")
    options, ticket = form_of(page, "create")
    foreign = await client.post(
        "/settings/security_keys",
        form={
            "csrf_token": csrf_from(page),
            "nickname": "Evil",
            "challenge": ticket,
            "credential": elsewhere.create(options),
        },
    )
    assert foreign.status_code == 422
    assert (await add_key(client, key, "Blue key")).status_code == 303
    # Someone else's key id, or no such id: not found.
    await log_in(client, "bob")
    page = await html_of(client, "/settings/security_keys")
    for path in ("/settings/security_keys/1/delete", "/settings/security_keys/99999999/delete"):
        response = await client.post(path, form={"csrf_token": csrf_from(page)})
        assert response.status_code == 404, path
    # At sign-in: junk, a forged challenge, no password step.
    page = await password_step(client)
    options, ticket = form_of(page, "get")
    for credential, challenge in (
        ("", None),
        ("{", None),
        (json.dumps({"id": b64(key.credential_id)}), None),
        (json.dumps({"id": b64(key.credential_id), "response": []}), None),
        (key.get(options), "AAAA." + ticket.split(".", 1)[1]),
        (elsewhere.get(options), None),
        ("x" * 50_000, None),
    ):
        response = await answer(client, page, credential, challenge)
        assert response.status_code == 401, (credential[:40], response.status_code)
    client.cookie_jar.clear()
    page = await html_of(client, "/auth/sign_in")
    response = await client.post(
        "/auth/two_factor/webauthn",
        form={"csrf_token": csrf_from(page), "credential": key.get(options), "challenge": ticket},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign_in")
