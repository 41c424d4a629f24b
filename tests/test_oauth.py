"""OAuth 2 as the Mastodon apps use it, and its security edges."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.oauth_flow import (
    authorize,
    code_from_redirect,
    csrf_from,
    pkce_pair,
    register_app,
    sign_in,
    token_for,
)
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

PASSWORD = "correct horse battery"


@pytest.fixture
async def alice(rt: Runtime) -> str:
    await create_local_account(rt, "alice", "alice@example.org", password=PASSWORD)
    return "alice@example.org"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_app_form_and_json(client: Any) -> None:
    form = await register_app(client, "https://elk.example/callback")
    assert form["client_id"] and form["client_secret"]
    assert form["redirect_uri"] == "https://elk.example/callback"
    assert form["redirect_uris"] == ["https://elk.example/callback"]
    assert form["scopes"] == ["read", "write", "follow", "push"]
    assert form["vapid_key"]
    # Elk and the Android app send JSON, with several redirect URIs as an array.
    response = await client.post(
        "/api/v1/apps",
        json={
            "client_name": "Elk",
            "scopes": "read write follow push",
            "redirect_uris": [
                "https://elk.zone/api/x/oauth",
                "com.tapbots.Ivory.19300:/request_token",
            ],
        },
    )
    body = await response.get_json()
    assert response.status_code == 200
    assert body["redirect_uris"][1] == "com.tapbots.Ivory.19300:/request_token"
    assert body["redirect_uri"] == "\n".join(body["redirect_uris"])


@pytest.mark.parametrize(
    "payload",
    [
        {"client_name": "", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
        {"client_name": "x", "redirect_uris": "javascript:alert(1)"},
        {"client_name": "x", "redirect_uris": "data:text/html,hi"},
        {"client_name": "x", "redirect_uris": "not a uri"},
        {"client_name": "x"},
        {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read root"},
    ],
)
async def test_register_app_rejects_bad_input(client: Any, payload: dict[str, str]) -> None:
    response = await client.post("/api/v1/apps", form=payload)
    assert response.status_code == 422
    assert "error" in await response.get_json()


async def test_authorization_code_with_pkce(client: Any, alice: str) -> None:
    app = await register_app(client, "https://client.example/cb")
    assert (await sign_in(client, alice, PASSWORD)).status_code == 302
    verifier, challenge = pkce_pair()
    response = await authorize(client, app, challenge=challenge, scope="read write")
    assert response.status_code == 302
    code, query = code_from_redirect(response)
    assert query["state"] == ["xyz"]
    assert response.headers["Location"].startswith("https://client.example/cb?")

    wrong = await client.post(
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": "https://client.example/cb",
            "code_verifier": "x" * 50,
        },
    )
    assert wrong.status_code == 400
    assert (await wrong.get_json())["error"] == "invalid_grant"

    # The failed attempt used the code up: a new authorization is needed.
    response = await authorize(client, app, challenge=challenge, scope="read write")
    code, _ = code_from_redirect(response)
    token = await client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": "https://client.example/cb",
            "code_verifier": verifier,
            "scope": "read write",
        },
    )
    assert token.status_code == 200
    body = await token.get_json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert isinstance(body["created_at"], int)
    me = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"])
    )
    assert me.status_code == 200
    account = await me.get_json()
    assert account["username"] == "alice"
    assert account["source"]["privacy"] == "public"
    assert account["role"]["name"] == ""


async def test_code_reuse_revokes_the_token(client: Any, alice: str) -> None:
    app = await register_app(client, "https://client.example/cb")
    await sign_in(client, alice, PASSWORD)
    code, _ = code_from_redirect(await authorize(client, app))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": app["redirect_uri"],
    }
    first = await (await client.post("/oauth/token", form=form)).get_json()
    assert (
        await client.get(
            "/api/v1/accounts/verify_credentials", headers=bearer(first["access_token"])
        )
    ).status_code == 200
    again = await client.post("/oauth/token", form=form)
    assert again.status_code == 400
    assert (await again.get_json())["error"] == "invalid_grant"
    after = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(first["access_token"])
    )
    assert after.status_code == 401


async def test_redirect_uri_must_be_registered(client: Any, alice: str) -> None:
    app = await register_app(client, "https://client.example/cb")
    await sign_in(client, alice, PASSWORD)
    args = {
        "client_id": app["client_id"],
        "redirect_uri": "https://evil.example/cb",
        "response_type": "code",
        "scope": "read",
    }
    response = await client.get("/oauth/authorize?" + urlencode(args))
    assert response.status_code == 400
    assert "Location" not in response.headers
    code, _ = code_from_redirect(await authorize(client, app, scope="read"))
    token = await client.post(
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": "https://evil.example/cb",
        },
    )
    assert token.status_code == 400


async def test_scope_must_be_registered_and_secret_checked(client: Any, alice: str) -> None:
    app = await register_app(client, "https://client.example/cb", scopes="read")
    await sign_in(client, alice, PASSWORD)
    args = {
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "response_type": "code",
        "scope": "read write",
    }
    assert (await client.get("/oauth/authorize?" + urlencode(args))).status_code == 400
    code, _ = code_from_redirect(await authorize(client, app, scope="read"))
    bad_secret = await client.post(
        "/oauth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": "wrong",
        },
    )
    assert bad_secret.status_code == 401
    assert (await bad_secret.get_json())["error"] == "invalid_client"


async def test_deny_redirects_with_access_denied(client: Any, alice: str) -> None:
    app = await register_app(client, "myapp://oauth")
    await sign_in(client, alice, PASSWORD)
    response = await authorize(client, app, decision="deny")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("myapp://oauth?error=access_denied")


async def test_authorize_requires_login_and_keeps_the_request(client: Any, alice: str) -> None:
    app = await register_app(client)
    args = {
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "response_type": "code",
        "scope": "read",
    }
    response = await client.get("/oauth/authorize/?" + urlencode(args))  # toot's trailing slash
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign_in?next=%2Foauth%2Fauthorize")


async def test_forms_without_csrf_token_are_refused(client: Any, alice: str) -> None:
    response = await client.post("/auth/sign_in", form={"email": alice, "password": PASSWORD})
    assert response.status_code == 403
    page = await client.get("/auth/sign_in")
    good = csrf_from(await page.get_data(as_text=True))
    forged = await client.post(
        "/auth/sign_in", form={"email": alice, "password": PASSWORD, "csrf_token": good + "x"}
    )
    assert forged.status_code == 403


async def test_wrong_password_and_open_redirect(client: Any, alice: str) -> None:
    page = await client.get("/auth/sign_in")
    token = csrf_from(await page.get_data(as_text=True))
    bad = await client.post(
        "/auth/sign_in", form={"email": alice, "password": "nope", "csrf_token": token}
    )
    assert bad.status_code == 401
    assert "Invalid e-mail address or password" in await bad.get_data(as_text=True)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        ok = await client.post(
            "/auth/sign_in",
            form={"email": alice, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert ok.headers["Location"] == "/"
    session_cookie = ok.headers.get("Set-Cookie", "")
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


async def test_password_grant_client_credentials_and_revoke(client: Any, alice: str) -> None:
    app = await register_app(client)
    form = {
        "grant_type": "password",
        "username": alice,
        "password": PASSWORD,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": "read write",
    }
    response = await client.post("/oauth/token", form=form)
    assert response.status_code == 200
    user_token = (await response.get_json())["access_token"]
    wrong = await client.post("/oauth/token", form={**form, "password": "nope"})
    assert (await wrong.get_json())["error"] == "invalid_grant"

    app_token = (
        await (
            await client.post(
                "/oauth/token",
                form={
                    "grant_type": "client_credentials",
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                    "scope": "read",
                },
            )
        ).get_json()
    )["access_token"]
    verify = await client.get("/api/v1/apps/verify_credentials", headers=bearer(app_token))
    assert (await verify.get_json())["name"] == "Test client"
    no_user = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(app_token))
    assert no_user.status_code == 422

    other = await register_app(client)
    not_yours = await client.post(
        "/oauth/revoke",
        form={
            "client_id": other["client_id"],
            "client_secret": other["client_secret"],
            "token": user_token,
        },
    )
    assert not_yours.status_code == 403
    revoked = await client.post(
        "/oauth/revoke",
        form={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "token": user_token,
        },
    )
    assert revoked.status_code == 200 and await revoked.get_json() == {}
    gone = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert gone.status_code == 401
    assert await gone.get_json() == {"error": "The access token is invalid"}


async def test_password_grant_can_be_switched_off(tmp_path: Any, database_url: str) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app

    config = make_config(tmp_path, database_url, oauth_password_grant=False)
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            registered = await register_app(client)
            response = await client.post(
                "/oauth/token",
                form={
                    "grant_type": "password",
                    "username": "x",
                    "password": "y",
                    "client_id": registered["client_id"],
                    "client_secret": registered["client_secret"],
                },
            )
            assert (await response.get_json())["error"] == "unsupported_grant_type"
            meta = await (await client.get("/.well-known/oauth-authorization-server")).get_json()
            assert "password" not in meta["grant_types_supported"]


async def test_scopes_are_enforced(client: Any, alice: str) -> None:
    app = await register_app(client)
    read_only = await token_for(client, app, alice, PASSWORD, scope="read")
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(read_only))
    ).status_code == 200
    patch = await client.patch(
        "/api/v1/accounts/update_credentials", headers=bearer(read_only), form={"display_name": "x"}
    )
    assert patch.status_code == 403
    assert await patch.get_json() == {"error": "This action is outside the authorized scopes"}
    granular = await token_for(client, app, alice, PASSWORD, scope="write:accounts")
    assert (
        await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=bearer(granular),
            form={"display_name": "x"},
        )
    ).status_code == 200
    assert (await client.get("/api/v1/preferences", headers=bearer(granular))).status_code == 403
    assert (await client.get("/api/v1/preferences")).status_code == 401
    assert (await client.get("/api/v1/preferences", headers=bearer("garbage"))).status_code == 401


async def test_well_known_oauth_metadata(client: Any, rt: Runtime) -> None:
    meta = await (await client.get("/.well-known/oauth-authorization-server")).get_json()
    base = rt.config.base_url
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "client_credentials"} <= set(meta["grant_types_supported"])
    assert "read:statuses" in meta["scopes_supported"]


async def test_authorized_apps_page_revokes(client: Any, alice: str) -> None:
    app = await register_app(client)
    token = await token_for(client, app, alice, PASSWORD)
    page = await client.get("/settings/applications")
    html = await page.get_data(as_text=True)
    assert "Test client" in html
    app_id = html.split('action="/settings/applications/')[1].split("/")[0]
    revoked = await client.post(
        f"/settings/applications/{app_id}/revoke", form={"csrf_token": csrf_from(html)}
    )
    assert revoked.status_code == 303
    gone = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert gone.status_code == 401


async def test_rate_limits(tmp_path: Any, database_url: str) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app

    config = make_config(tmp_path, database_url, rate_limits=True)
    async with open_server_runtime(config) as rt:
        await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            first = await client.get("/api/v1/instance")
            assert first.headers["X-RateLimit-Limit"] == "300"
            assert first.headers["X-RateLimit-Remaining"] == "299"
            assert first.headers["X-RateLimit-Reset"].endswith("Z")
            page = await client.get("/auth/sign_in")
            token = csrf_from(await page.get_data(as_text=True))
            statuses = []
            for _ in range(12):
                response = await client.post(
                    "/auth/sign_in",
                    form={"email": "bob@example.org", "password": "wrong", "csrf_token": token},
                )
                statuses.append(response.status_code)
            assert statuses[:10] == [401] * 10
            assert statuses[10:] == [429, 429]
            assert int(response.headers["Retry-After"]) > 0


async def test_code_exchange_needs_the_authorizations_redirect_uri(client: Any, alice: str) -> None:
    """RFC 6749 4.1.3, as Doorkeeper: missing is invalid_request, another is invalid_grant."""
    app = await register_app(client, "https://client.example/cb\nhttps://client.example/other")
    await sign_in(client, alice, PASSWORD)
    code, _ = code_from_redirect(
        await authorize(client, app, redirect_uri="https://client.example/cb")
    )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
    }
    missing = await client.post("/oauth/token", form=form)
    assert missing.status_code == 400
    assert (await missing.get_json())["error"] == "invalid_request"
    other = await client.post(
        "/oauth/token", form={**form, "redirect_uri": "https://client.example/other"}
    )
    assert other.status_code == 400
    assert (await other.get_json())["error"] == "invalid_grant"
    # Refused exchanges did not use the code up.
    right = await client.post(
        "/oauth/token", form={**form, "redirect_uri": "https://client.example/cb"}
    )
    assert right.status_code == 200, await right.get_data(as_text=True)


async def test_force_login_link_signs_nobody_out(rt: Runtime, client: Any, alice: str) -> None:
    """`force_login=true` shows the sign-in form; only submitting it switches accounts."""
    await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    app = await register_app(client)
    await sign_in(client, alice, PASSWORD)
    args = {
        "client_id": app["client_id"],
        "redirect_uri": app["redirect_uri"],
        "response_type": "code",
        "scope": "read",
    }
    response = await client.get("/oauth/authorize?" + urlencode({**args, "force_login": "true"}))
    assert response.status_code == 302
    # The link changed nothing: alice is still signed in.
    assert (await client.get("/settings/profile")).status_code == 200
    live = "SELECT count(*) FROM web_sessions WHERE revoked_at IS NULL"
    assert await rt.store.read(lambda conn: conn.fetchval(live)) == 1
    form_page = await client.get(response.headers["Location"])
    html = await form_page.get_data(as_text=True)
    assert form_page.status_code == 200
    assert 'action="/auth/sign_in"' in html and "@alice" in html

    target = re.search(r'name="next" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    switched = await client.post(
        "/auth/sign_in",
        form={
            "email": "bob@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_from(html),
            "next": target,
        },
    )
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/oauth/authorize?" + urlencode(args)
    consent = await client.get(switched.headers["Location"])
    assert "Signed in as <strong>@bob</strong>" in await consent.get_data(as_text=True)
    # The browser holds one session: alice's ended when bob's began.
    owners = await rt.store.read(
        lambda conn: conn.fetch(
            "SELECT a.username FROM web_sessions s JOIN accounts a ON a.id = s.account_id "
            "WHERE s.revoked_at IS NULL"
        )
    )
    assert [row["username"] for row in owners] == ["bob"]
