"""Sign-up, profiles and lookups through the Mastodon API and the sign-up page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_config
from tests.oauth_flow import app_only_token, csrf_from, register_app, token_for
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import (
    AccountError,
    create_local_account,
    modify_local_account,
)

PASSWORD = "correct horse battery"
# Mastodon's words for its password rule (8 to 72 characters).
TOO_SHORT = "is too short (minimum is 8 characters)"
TOO_LONG = "is too long (maximum is 72 characters)"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def alice_token(rt: Runtime, client: Any) -> str:
    await create_local_account(rt, "alice", "alice@example.org", password=PASSWORD)
    app = await register_app(client)
    return await token_for(client, app, "alice@example.org", PASSWORD)


async def test_sign_up_through_the_api(client: Any) -> None:
    app_token = await app_only_token(client)
    response = await client.post(
        "/api/v1/accounts",
        headers=bearer(app_token),
        form={
            "username": "newbie",
            "email": "newbie@example.org",
            "password": "long enough pw",
            "agreement": "true",
            "locale": "en",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    token = (await response.get_json())["access_token"]
    me = await (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).get_json()
    assert me["username"] == "newbie"
    again = await client.post(
        "/api/v1/accounts",
        headers=bearer(app_token),
        json={
            "username": "NEWBIE",
            "email": "other@example.org",
            "password": "long enough pw",
            "agreement": True,
        },
    )
    assert again.status_code == 422
    body = await again.get_json()
    assert body["error"].startswith("Validation failed")
    assert body["details"]["username"][0]["error"] == "ERR_TAKEN"
    no_agreement = await client.post(
        "/api/v1/accounts",
        headers=bearer(app_token),
        json={"username": "other", "email": "other@example.org", "password": "long enough pw"},
    )
    assert (await no_agreement.get_json())["details"]["agreement"][0]["error"] == "ERR_ACCEPTED"
    short = await client.post(
        "/api/v1/accounts",
        headers=bearer(app_token),
        json={
            "username": "other",
            "email": "other@example.org",
            "password": "short",
            "agreement": True,
        },
    )
    assert (await short.get_json())["details"]["password"][0]["error"] == "ERR_TOO_SHORT"
    assert (await client.post("/api/v1/accounts", form={"username": "x"})).status_code == 401


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("seven77", {"error": "ERR_TOO_SHORT", "description": TOO_SHORT}),
        ("x" * 73, {"error": "ERR_TOO_LONG", "description": TOO_LONG}),
        ("é" * 73, {"error": "ERR_TOO_LONG", "description": TOO_LONG}),
    ],
    ids=["short", "long", "long-in-two-byte-characters"],
)
async def test_sign_up_password_length_is_mastodons(
    rt: Runtime, client: Any, password: str, problem: dict[str, str]
) -> None:
    app_token = await app_only_token(client)
    payload = {"username": "pw", "email": "pw@example.org", "agreement": True}
    refused = await client.post(
        "/api/v1/accounts", headers=bearer(app_token), json={**payload, "password": password}
    )
    assert refused.status_code == 422
    body = await refused.get_json()
    assert body["details"] == {"password": [problem]}
    assert body["error"] == f"Validation failed: Password {problem['description']}"
    # 8 and 72 characters are both fine (72 two-byte characters too: characters count).
    for i, fine in enumerate(("eight888", "y" * 72, "é" * 72)):
        ok = await client.post(
            "/api/v1/accounts",
            headers=bearer(app_token),
            json={**payload, "username": f"pw{i}", "email": f"pw{i}@example.org", "password": fine},
        )
        assert ok.status_code == 200, await ok.get_data(as_text=True)
    # The command line, the settings page and reset links follow the same rule.
    with pytest.raises(AccountError, match="maximum is 72"):
        await create_local_account(rt, "cli", "cli@example.org", password="z" * 73)
    with pytest.raises(AccountError, match="maximum is 72"):
        await modify_local_account(rt, "pw0", password="z" * 73)


@pytest.mark.parametrize("mode", [None, "approval", "closed"])
async def test_sign_up_modes(tmp_path: Any, database_url: str, mode: str | None) -> None:
    # None: the server's default, which is approval.
    config = make_config(tmp_path, database_url, registrations=mode)
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            app_token = await app_only_token(client)
            payload = {
                "username": "waiting",
                "email": "w@example.org",
                "password": "long enough pw",
                "agreement": True,
            }
            response = await client.post(
                "/api/v1/accounts", headers=bearer(app_token), json=payload
            )
            if mode == "closed":
                assert response.status_code == 403
                return
            assert response.status_code == 422  # a reason is required
            payload["reason"] = "I like wildebeest"
            response = await client.post(
                "/api/v1/accounts", headers=bearer(app_token), json=payload
            )
            token = (await response.get_json())["access_token"]
            # Not usable until an admin approves.
            me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
            assert me.status_code == 401
            await modify_local_account(rt, "waiting", approve=True)
            me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
            assert me.status_code == 200
            instance = await (await client.get("/api/v2/instance")).get_json()
            assert instance["registrations"]["approval_required"] is True


async def test_sign_up_page(client: Any) -> None:
    page = await client.get("/auth/sign_up")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="agreement"' in html
    form = {
        "username": "webby",
        "email": "webby@example.org",
        "password": "long enough pw",
        "agreement": "1",
        "csrf_token": csrf_from(html),
    }
    done = await client.post("/auth/sign_up", form=form)
    assert done.status_code == 200
    assert "log in now" in await done.get_data(as_text=True)
    dup = await client.post("/auth/sign_up", form=form)
    assert dup.status_code == 422
    assert "already taken" in await dup.get_data(as_text=True)


async def test_update_credentials_renders_and_persists(
    rt: Runtime, client: Any, alice_token: str
) -> None:
    await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(alice_token),
        form={
            "display_name": "Alice <Wonder>",
            "note": "Hi @bob and @nobody!\n"
            "See https://example.com/a/very/long/path/that/goes/on #Trio",
            "locked": "true",
            "bot": "1",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://alice.example",
            "fields_attributes[1][name]": "Pronouns",
            "fields_attributes[1][value]": "she/her",
            "source[privacy]": "unlisted",
            "source[language]": "en",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    me = await response.get_json()
    assert me["display_name"] == "Alice <Wonder>"
    assert me["locked"] is True and me["bot"] is True
    note = me["note"]
    assert note.startswith('<p>Hi <span class="h-card"')
    assert f'href="{rt.config.base_url}/@bob"' in note
    assert "@nobody" in note and "nobody</span>" not in note  # unknown: left as text
    assert '<span class="invisible">https://</span>' in note
    assert 'class="mention hashtag" rel="tag">#<span>Trio</span>' in note
    assert "<br>" in note
    assert me["source"]["note"].startswith("Hi @bob")
    assert me["source"]["privacy"] == "unlisted"
    assert [f["name"] for f in me["fields"]] == ["Site", "Pronouns"]
    assert 'href="https://alice.example"' in me["fields"][0]["value"]
    assert me["source"]["fields"][0]["value"] == "https://alice.example"
    prefs = await (await client.get("/api/v1/preferences", headers=bearer(alice_token))).get_json()
    assert prefs["posting:default:visibility"] == "unlisted"
    assert prefs["posting:default:language"] == "en"
    # Read back through another endpoint: it was stored, not just echoed.
    shown = await (await client.get(f"/api/v1/accounts/{me['id']}")).get_json()
    assert shown["display_name"] == "Alice <Wonder>" and shown["bot"] is True


@pytest.mark.parametrize(
    "form",
    [
        {"display_name": "x" * 31},
        {"note": "x" * 501},
        {"source[privacy]": "secret"},
        {"locked": "perhaps"},
        {
            **{f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)},
            **{f"fields_attributes[{i}][value]": "v" for i in range(5)},
        },
    ],
)
async def test_update_credentials_rejects_bad_input(
    client: Any, alice_token: str, form: dict[str, str]
) -> None:
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=bearer(alice_token), form=form
    )
    assert response.status_code == 422
    assert "error" in await response.get_json()


async def test_account_entity_and_lookup(rt: Runtime, client: Any, alice_token: str) -> None:
    me = await (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(alice_token))
    ).get_json()
    for key in (
        "id",
        "username",
        "acct",
        "display_name",
        "locked",
        "bot",
        "discoverable",
        "group",
        "created_at",
        "note",
        "url",
        "uri",
        "avatar",
        "avatar_static",
        "header",
        "header_static",
        "followers_count",
        "following_count",
        "statuses_count",
        "last_status_at",
        "emojis",
        "fields",
    ):
        assert key in me, key
    assert isinstance(me["id"], str)
    assert me["created_at"].endswith("T00:00:00.000Z")
    assert me["url"] == f"{rt.config.base_url}/@alice"
    assert me["uri"] == f"{rt.config.base_url}/users/alice"
    for acct in ("alice", "@alice", f"alice@{rt.config.domain}", "ALICE"):
        found = await client.get("/api/v1/accounts/lookup", query_string={"acct": acct})
        assert (await found.get_json())["id"] == me["id"], acct
    assert (
        await client.get("/api/v1/accounts/lookup", query_string={"acct": "ghost"})
    ).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup")).status_code == 400
    for bad in ("0", "abc", "9" * 30):
        response = await client.get(f"/api/v1/accounts/{bad}")
        assert response.status_code == 404
        assert await response.get_json() == {"error": "Record not found"}


async def test_userinfo_needs_profile_scope(client: Any, rt: Runtime) -> None:
    await create_local_account(rt, "carol", "carol@example.org", password=PASSWORD)
    app = await register_app(client, scopes="profile read")
    token = await token_for(client, app, "carol@example.org", PASSWORD, scope="profile")
    info = await (await client.get("/oauth/userinfo", headers=bearer(token))).get_json()
    assert info["preferred_username"] == "carol"
    assert info["sub"] == f"{rt.config.base_url}/users/carol"
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status_code == 200


def _png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


async def test_avatar_and_header_upload(rt: Runtime, client: Any, alice_token: str) -> None:
    from quart.datastructures import FileStorage

    files = {
        "avatar": FileStorage(
            io_bytes(_png(800, 600)), filename="me.png", content_type="image/png"
        ),
        "header": FileStorage(
            io_bytes(_png(3000, 1000)), filename="h.png", content_type="image/png"
        ),
    }
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(alice_token),
        files=files,
        form={"display_name": "Pictured"},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    me = await response.get_json()
    assert me["avatar"].startswith(f"{rt.config.base_url}/system/avatars/")
    assert me["header"].startswith(f"{rt.config.base_url}/system/headers/")
    assert me["avatar_static"] == me["avatar"]
    served = await client.get(me["avatar"].removeprefix(rt.config.base_url))
    assert served.status_code == 200
    from PIL import Image

    image = Image.open(io_bytes(await served.get_data()))
    assert image.size == (400, 400)
    header = Image.open(
        io_bytes(await (await client.get(me["header"].removeprefix(rt.config.base_url))).get_data())
    )
    assert header.size == (1500, 500)
    bad = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(alice_token),
        files={
            "avatar": FileStorage(
                io_bytes(b"not an image at all"), filename="x.png", content_type="image/png"
            )
        },
    )
    assert bad.status_code == 422
    assert "not an image" in (await bad.get_json())["error"]
    # The failed upload changed nothing.
    still = await (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(alice_token))
    ).get_json()
    assert still["avatar"] == me["avatar"]


def io_bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)
