"""Featured tags: featuring, the entity's counts, suggestions, and another account's list."""

from __future__ import annotations

from typing import Any

from tests.social import act, get, make_user, post, token_with
from wildebeest_trio.runtime import Runtime


async def test_featured_tags_count_public_use(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    await post(client, ann, "first #Trio")
    await post(client, ann, "second #trio #python")
    await post(client, ann, "secret #trio", visibility="private")
    await post(client, ann, "more #python")
    await post(client, ann, "once #rust")
    last = await post(client, ann, "unlisted #trio", visibility="unlisted")
    await post(client, bob, "not ann's #trio")

    code, suggested = await get(client, ann, "/api/v1/featured_tags/suggestions")
    assert code == 200
    # trio: 4 uses (private ones count for suggestions), python: 2, rust: 1.
    assert [t["name"] for t in suggested] == ["Trio", "python", "rust"]
    assert suggested[0]["following"] is False and len(suggested[0]["history"]) == 7

    code, body = await act(client, ann, "/api/v1/featured_tags", name="#TRIO")
    assert code == 200, body
    assert body["name"] == "Trio"
    assert body["url"] == f"{rt.config.base_url}/@ann/tagged/trio"
    assert body["statuses_count"] == "3"  # public and unlisted, not private
    assert body["last_status_at"] == last["created_at"][:10]
    code, body2 = await act(client, ann, "/api/v1/featured_tags", name="Golang")
    assert code == 200 and body2["statuses_count"] == "0" and body2["last_status_at"] is None

    code, mine = await get(client, ann, "/api/v1/featured_tags")
    assert [t["id"] for t in mine] == [body["id"], body2["id"]]
    code, theirs = await get(client, None, f"/api/v1/accounts/{ann.id}/featured_tags")
    assert code == 200 and theirs == mine
    code, suggested = await get(client, ann, "/api/v1/featured_tags/suggestions")
    assert [t["name"] for t in suggested] == ["python", "rust"]

    code, dup = await act(client, ann, "/api/v1/featured_tags", name="trio")
    assert code == 422 and "taken" in dup["error"]
    response = await client.delete(f"/api/v1/featured_tags/{body['id']}", headers=bob.headers)
    assert response.status_code == 404  # not bob's
    response = await client.delete(f"/api/v1/featured_tags/{body['id']}", headers=ann.headers)
    assert response.status_code == 200 and await response.get_json() == {}
    code, mine = await get(client, ann, "/api/v1/featured_tags")
    assert [t["name"] for t in mine] == ["Golang"]


async def test_featured_tag_errors(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    for bad in ("", "123", "no spaces", "#"):
        code, body = await act(client, ann, "/api/v1/featured_tags", name=bad)
        assert code == 422, (bad, body)
    for i in range(10):
        assert (await act(client, ann, "/api/v1/featured_tags", name=f"tag{i}a"))[0] == 200
    code, body = await act(client, ann, "/api/v1/featured_tags", name="eleventh")
    assert code == 422 and "at most 10" in body["error"]
    assert (await client.delete("/api/v1/featured_tags/1", headers=ann.headers)).status_code == 404
    assert (await client.delete("/api/v1/featured_tags/x", headers=ann.headers)).status_code == 404
    assert (await get(client, None, "/api/v1/accounts/999/featured_tags"))[0] == 404
    read_only = await token_with(client, ann, "read")
    response = await client.post(
        "/api/v1/featured_tags",
        headers={"Authorization": f"Bearer {read_only}"},
        json={"name": "ok"},
    )
    assert response.status_code == 403
    write_only = await token_with(client, ann, "write")
    response = await client.get(
        "/api/v1/featured_tags", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    response = await client.get(
        f"/api/v1/accounts/{ann.id}/featured_tags",
        headers={"Authorization": f"Bearer {write_only}"},
    )
    assert response.status_code == 403
