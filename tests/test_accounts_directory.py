"""Accounts beyond one profile: several at once, the profile directory, identity proofs,
the Profile entity (4.6) with its picture deletions, and resending the confirmation e-mail."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.fakes.rows import remote_account
from tests.oauth_flow import app_only_token
from tests.social import act, get, make_user, post, token_with
from tests.test_account_flows import _link, _next_mail, mail_site, smtp  # noqa: F401
from tests.test_mailer import Inbox
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import accounts as account_rows


async def test_several_accounts_at_once(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    ben = await make_user(rt, client, "ben")
    gone = await make_user(rt, client, "gone")
    await rt.store.write(account_rows.set_account_flag, int(gone.id), "suspended_at", 1, now_ms())
    query = f"id[]={ben.id}&id[]=999&id[]={ann.id}&id[]={gone.id}&id[]=x&id[]={ben.id}"
    code, found = await get(client, None, f"/api/v1/accounts?{query}")
    assert code == 200 and [a["id"] for a in found] == [ben.id, ann.id]
    assert found[0]["acct"] == "ben" and "source" not in found[0]
    code, found = await get(client, ann, "/api/v1/accounts")
    assert code == 200 and found == []
    many = "&".join(f"id[]={i}" for i in range(41))
    code, body = await get(client, None, f"/api/v1/accounts?{many}")
    assert code == 422 and "Too many" in body["error"]
    write_only = await token_with(client, ann, "write")
    response = await client.get(
        f"/api/v1/accounts?id[]={ann.id}", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403


async def test_identity_proofs_are_empty(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    assert await get(client, None, f"/api/v1/accounts/{ann.id}/identity_proofs") == (200, [])
    code, body = await get(client, None, "/api/v1/accounts/999/identity_proofs")
    assert code == 404 and body == {"error": "Record not found"}


async def test_directory_orders_filters_and_pages(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    ben = await make_user(rt, client, "ben")
    cat = await make_user(rt, client, "cat")
    shy = await make_user(rt, client, "shy")
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=shy.headers, json={"discoverable": False}
    )
    assert response.status_code == 200
    far = await remote_account(rt, "far", "remote.example")
    hidden = await remote_account(rt, "hidden", "remote.example", discoverable=False)
    await post(client, cat, "first")
    await post(client, ann, "latest")
    assert hidden

    code, listed = await get(client, None, "/api/v1/directory")
    assert code == 200
    # Posting most recently first; those who never posted after, newest first.
    assert [a["acct"] for a in listed] == ["ann", "cat", "far@remote.example", "ben"]
    code, listed = await get(client, None, "/api/v1/directory?order=new")
    assert [a["id"] for a in listed] == [str(far), cat.id, ben.id, ann.id]
    code, listed = await get(client, None, "/api/v1/directory?local=true&order=new")
    assert [a["acct"] for a in listed] == ["cat", "ben", "ann"]

    response = await client.get("/api/v1/directory?order=new&limit=2")
    first = await response.get_json()
    assert [a["id"] for a in first] == [str(far), cat.id]
    assert 'rel="next"' in response.headers["Link"] and "offset=2" in response.headers["Link"]
    response = await client.get("/api/v1/directory?order=new&limit=2&offset=2")
    assert [a["id"] for a in await response.get_json()] == [ben.id, ann.id]
    assert 'rel="prev"' in response.headers["Link"]

    # A signed-in viewer does not see whom they block, nor themselves.
    assert (await act(client, ann, f"/api/v1/accounts/{far}/block"))[0] == 200
    code, listed = await get(client, ann, "/api/v1/directory?order=new")
    assert [a["acct"] for a in listed] == ["cat", "ben"]

    for bad in ("order=oldest", "limit=-1", "offset=-3"):
        code, body = await get(client, None, f"/api/v1/directory?{bad}")
        assert code in (400, 422) and "error" in body, bad


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


async def test_profile_entity_edits_and_picture_deletion(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    await act(client, ann, "/api/v1/featured_tags", name="trio")
    code, profile = await get(client, ann, "/api/v1/profile")
    assert code == 200
    assert profile["id"] == ann.id and profile["avatar"] is None and profile["header"] is None
    assert profile["show_media"] is True and profile["avatar_description"] == ""
    assert [t["name"] for t in profile["featured_tags"]] == ["trio"]

    response = await client.patch(
        "/api/v1/profile",
        headers=ann.headers,
        json={
            "display_name": "Ann",
            "note": "Hello @ben",
            "fields_attributes": [{"name": "site", "value": "https://example.org"}],
            "show_media": False,
            "avatar_description": "a red square",
            "attribution_domains": ["example.org"],
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    profile = await response.get_json()
    assert profile["display_name"] == "Ann" and profile["note"] == "Hello @ben"
    assert profile["fields"] == [
        {"name": "site", "value": "https://example.org", "verified_at": None}
    ]
    assert profile["show_media"] is False and profile["show_featured"] is True
    assert profile["avatar_description"] == "a red square"
    assert profile["attribution_domains"] == ["example.org"]
    code, account = await get(client, None, f"/api/v1/accounts/{ann.id}")
    assert account["display_name"] == "Ann" and account["note"].startswith("<p>")

    for name in ("avatar", "header"):
        response = await client.patch(
            "/api/v1/profile",
            headers=ann.headers,
            files={name: FileStorage(io.BytesIO(_png()), "p.png", content_type="image/png")},
        )
        assert response.status_code == 200, await response.get_data(as_text=True)
    profile = await (await client.get("/api/v1/profile", headers=ann.headers)).get_json()
    assert profile["avatar"].startswith(rt.config.base_url) and profile["header"]

    response = await client.delete("/api/v1/profile/avatar", headers=ann.headers)
    assert response.status_code == 200
    credentials = await response.get_json()
    assert credentials["avatar"] == f"{rt.config.base_url}/static/avatar.png"
    assert "source" in credentials
    response = await client.delete("/api/v1/profile/header", headers=ann.headers)
    assert (await response.get_json())["header"] == f"{rt.config.base_url}/static/header.png"
    profile = await (await client.get("/api/v1/profile", headers=ann.headers)).get_json()
    assert profile["avatar"] is None and profile["header"] is None

    response = await client.patch(
        "/api/v1/profile", headers=ann.headers, json={"display_name": "x" * 31}
    )
    assert response.status_code == 422 and "display_name" in (await response.get_json())["details"]
    response = await client.patch(
        "/api/v1/profile", headers=ann.headers, json={"header_description": "x" * 1501}
    )
    assert response.status_code == 422
    read_only = await token_with(client, ann, "read")
    response = await client.patch(
        "/api/v1/profile", headers={"Authorization": f"Bearer {read_only}"}, json={}
    )
    assert response.status_code == 403
    response = await client.delete(
        "/api/v1/profile/avatar", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/profile")).status_code == 401
    assert (await client.delete("/api/v1/profile/nose", headers=ann.headers)).status_code in (
        404,
        405,
    )


async def test_confirmation_mail_resent_through_the_api(
    mail_site: tuple[Runtime, Any, Inbox],  # noqa: F811
) -> None:
    _, client, inbox = mail_site
    app_token = await app_only_token(client, "read write")
    response = await client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {app_token}"},
        json={
            "username": "newbie",
            "email": "newbie@example.org",
            "password": "correct horse battery",
            "agreement": True,
            "locale": "en",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    token = (await response.get_json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    await _next_mail(inbox, 1)
    # Unconfirmed: the rest of the API refuses the token, these two take it.
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    ).status_code in (401, 403)
    response = await client.get("/api/v1/emails/check_confirmation", headers=headers)
    assert response.status_code == 200 and await response.get_json() is False

    response = await client.post("/api/v1/emails/confirmations", headers=headers)
    assert response.status_code == 200 and await response.get_json() == {}
    await _next_mail(inbox, 2)
    assert inbox.messages()[1]["To"] == "newbie@example.org"
    response = await client.post(
        "/api/v1/emails/confirmations", headers=headers, json={"email": "typo-fixed@example.org"}
    )
    assert response.status_code == 200
    text = await _next_mail(inbox, 3)
    assert inbox.messages()[2]["To"] == "typo-fixed@example.org"
    response = await client.post(
        "/api/v1/emails/confirmations", headers=headers, json={"email": "not an address"}
    )
    assert response.status_code == 422

    assert (await client.get(_link(text))).status_code == 200
    response = await client.get("/api/v1/emails/check_confirmation", headers=headers)
    assert await response.get_json() is True
    response = await client.post("/api/v1/emails/confirmations", headers=headers)
    assert (
        response.status_code == 403
        and "awaiting confirmation" in (await response.get_json())["error"]
    )
    assert (await client.post("/api/v1/emails/confirmations")).status_code == 401
    response = await client.post(
        "/api/v1/emails/confirmations", headers={"Authorization": f"Bearer {app_token}"}
    )
    assert response.status_code == 422
