"""Deleting an upload before it is posted (4.4), and featuring hashtags from the tag (4.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.social import act, get, make_user, token_with
from tests.test_media_api import counts, photo, stored_files, upload
from wildebeest_trio.runtime import Runtime


async def _upload(client: Any, headers: dict[str, str]) -> str:
    response = await client.post(
        "/api/v1/media", headers=headers, files={"file": upload(photo(), "cat.jpg")}
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def test_delete_an_unattached_upload(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    ben = await make_user(rt, client, "ben")
    loose = await _upload(client, ann.headers)
    posted = await _upload(client, ann.headers)
    planned = await _upload(client, ann.headers)
    code, _ = await act(client, ann, "/api/v1/statuses", status="pic", media_ids=[posted])
    assert code == 200
    at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, _ = await act(
        client, ann, "/api/v1/statuses", status="later", media_ids=[planned], scheduled_at=at
    )
    assert code == 200
    files_before = len(stored_files(rt))

    response = await client.delete(f"/api/v1/media/{loose}", headers=ben.headers)
    assert response.status_code == 404  # not ben's
    response = await client.delete(f"/api/v1/media/{loose}", headers=ann.headers)
    assert response.status_code == 200 and await response.get_json() == {}
    assert (await client.get(f"/api/v1/media/{loose}", headers=ann.headers)).status_code == 404
    assert len(stored_files(rt)) < files_before
    response = await client.delete(f"/api/v1/media/{loose}", headers=ann.headers)
    assert response.status_code == 404
    for used in (posted, planned):
        response = await client.delete(f"/api/v1/media/{used}", headers=ann.headers)
        assert response.status_code == 422, used
        assert "used by a status" in (await response.get_json())["error"]
    assert (await counts(rt))[0] == 2
    read_only = await token_with(client, ann, "read")
    response = await client.delete(
        f"/api/v1/media/{posted}", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
    assert (await client.delete(f"/api/v1/media/{posted}")).status_code == 401


async def test_feature_and_unfeature_a_hashtag(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    code, tag = await act(client, ann, "/api/v1/tags/Trio/feature")
    assert code == 200
    assert tag["name"] == "Trio" and tag["featuring"] is True and tag["following"] is False
    code, again = await act(client, ann, "/api/v1/tags/trio/feature")
    assert code == 200 and again["featuring"] is True
    code, featured = await get(client, ann, "/api/v1/featured_tags")
    assert [f["name"] for f in featured] == ["Trio"]
    code, shown = await get(client, ann, "/api/v1/tags/trio")
    assert shown["featuring"] is True
    code, anonymous = await get(client, None, "/api/v1/tags/trio")
    assert "featuring" not in anonymous

    code, tag = await act(client, ann, "/api/v1/tags/trio/unfeature")
    assert code == 200 and tag["featuring"] is False
    assert (await get(client, ann, "/api/v1/featured_tags"))[1] == []
    code, tag = await act(client, ann, "/api/v1/tags/trio/unfeature")
    assert code == 200 and tag["featuring"] is False

    code, body = await act(client, ann, "/api/v1/tags/neverused/unfeature")
    assert code == 404
    code, body = await act(client, ann, "/api/v1/tags/bad tag/feature")
    assert code in (404, 422) and "error" in body
    for i in range(10):
        assert (await act(client, ann, f"/api/v1/tags/tag{i}x/feature"))[0] == 200
    code, body = await act(client, ann, "/api/v1/tags/eleventh/feature")
    assert code == 422 and "at most 10" in body["error"]
    read_only = await token_with(client, ann, "read")
    response = await client.post(
        "/api/v1/tags/trio/feature", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
