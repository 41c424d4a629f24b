"""The admin trends API: tags, statuses and links to review; a rejected one never trends."""

from __future__ import annotations

from typing import Any

from tests.social import make_user, post
from tests.test_admin_api import audit, call, crew
from wildebeest_trio.runtime import Runtime


async def test_review_trending_tags_and_statuses(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    status = await post(client, ann, "hello #meadows")
    await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.headers)
    _, tags = await call(client, team.mod, "GET", "/api/v1/admin/trends/tags")
    assert [(t["name"], t["requires_review"], t["trendable"]) for t in tags] == [
        ("meadows", True, True)
    ]
    _, statuses = await call(client, team.mod, "GET", "/api/v1/admin/trends/statuses")
    assert [(s["id"], s["requires_review"]) for s in statuses] == [(status["id"], True)]
    # Rejected: gone from the public trends, still listed for the admins.
    tag_id = tags[0]["id"]
    assert (await call(client, team.mod, "POST", f"/api/v1/admin/trends/tags/{tag_id}/reject"))[
        0
    ] == 200
    path = f"/api/v1/admin/trends/statuses/{status['id']}/reject"
    assert (await call(client, team.mod, "POST", path))[0] == 200
    assert await (await client.get("/api/v1/trends/tags")).get_json() == []
    assert await (await client.get("/api/v1/trends/statuses")).get_json() == []
    _, tags = await call(client, team.mod, "GET", "/api/v1/admin/trends/tags")
    assert (tags[0]["requires_review"], tags[0]["trendable"]) == (False, False)
    # Approved: trending again.
    await call(client, team.mod, "POST", f"/api/v1/admin/trends/tags/{tag_id}/approve")
    await call(client, team.mod, "POST", f"/api/v1/admin/trends/statuses/{status['id']}/approve")
    assert [t["name"] for t in await (await client.get("/api/v1/trends/tags")).get_json()] == [
        "meadows"
    ]
    assert [s["id"] for s in await (await client.get("/api/v1/trends/statuses")).get_json()] == [
        status["id"]
    ]
    # Links: none shared yet; an unknown one is a 404. A plain user may do none of it.
    assert (await call(client, team.mod, "GET", "/api/v1/admin/trends/links")) == (200, [])
    assert (await call(client, team.mod, "POST", "/api/v1/admin/trends/links/123/approve"))[
        0
    ] == 404
    assert (await call(client, team.mod, "POST", "/api/v1/admin/trends/tags/999/approve"))[0] == 404
    assert (await call(client, team.plain, "GET", "/api/v1/admin/trends/tags"))[0] == 403
    assert (await call(client, team.plain, "GET", "/api/v1/admin/trends/links"))[0] == 403
    assert [a[1:] for a in await audit(rt)] == [
        ("reject", "Tag"),
        ("reject", "Status"),
        ("approve", "Tag"),
        ("approve", "Status"),
    ]
