"""Statuses with media: uploads attached by `media_ids`, shown in the Status entity."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from quart.datastructures import FileStorage

from tests.social import get, make_user, post
from wildebeest_trio.runtime import Runtime


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


async def _upload(client: Any, headers: dict[str, str], version: str = "v1") -> dict[str, Any]:
    response = await client.post(
        f"/api/{version}/media",
        headers=headers,
        files={
            "file": FileStorage(io.BytesIO(_jpeg()), filename="p.jpg", content_type="image/jpeg")
        },
        form={"description": "A green field"},
    )
    assert response.status_code in (200, 202), await response.get_data(as_text=True)
    return await response.get_json()


async def test_post_with_media_and_read_it_back(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    media = await _upload(client, alice.headers)
    status = await post(client, alice, "", media_ids=[media["id"]])
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]
    attached = status["media_attachments"][0]
    assert attached["type"] == "image" and attached["description"] == "A green field"
    assert attached["url"].startswith(f"{rt.config.base_url}/system/")
    code, shown = await get(client, None, f"/api/v1/statuses/{status['id']}")
    assert code == 200 and shown["media_attachments"] == status["media_attachments"]
    # An attached upload cannot be attached again.
    again = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        json={"status": "again", "media_ids": [media["id"]]},
    )
    assert again.status_code == 422


async def test_media_ids_are_checked(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    bobs = await _upload(client, bob.headers)
    for media_ids in ([bobs["id"]], ["12345"], ["not-a-number"]):
        response = await client.post(
            "/api/v1/statuses", headers=alice.headers, json={"status": "x", "media_ids": media_ids}
        )
        assert response.status_code == 422, media_ids
    five = [(await _upload(client, alice.headers))["id"] for _ in range(5)]
    response = await client.post(
        "/api/v1/statuses", headers=alice.headers, json={"status": "x", "media_ids": five}
    )
    assert response.status_code == 422
    assert "more than 4" in (await response.get_json())["error"]
    queued = await _upload(client, alice.headers, "v2")
    if queued.get("url") is None:  # still processing: Mastodon refuses to attach it
        response = await client.post(
            "/api/v1/statuses",
            headers=alice.headers,
            json={"status": "x", "media_ids": [queued["id"]]},
        )
        assert response.status_code == 422
        assert "finished processing" in (await response.get_json())["error"]


def _mastodon_py_photo(base: str, token: str) -> dict[str, Any]:
    from mastodon import Mastodon

    api = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
    media = api.media_post(
        io.BytesIO(_jpeg()),
        mime_type="image/jpeg",
        description="From Mastodon.py",
        synchronous=True,
    )
    status = api.status_post("A photo", media_ids=[media["id"]])
    return {"media": media, "status": status, "again": api.status(status["id"])}


async def test_mastodon_py_posts_a_photo(rt: Runtime, client: Any, live_server: str) -> None:
    import trio

    alice = await make_user(rt, client, "alice")
    result = await trio.to_thread.run_sync(_mastodon_py_photo, live_server, alice.token)
    assert result["again"]["media_attachments"][0]["description"] == "From Mastodon.py"
    assert str(result["again"]["media_attachments"][0]["id"]) == str(result["media"]["id"])
