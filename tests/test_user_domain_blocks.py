"""User-level domain blocks: the API, their effect on timelines, follows, notifications and
relationships."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.rows import accept_our_request, add_follower, remote_account, remote_status
from tests.social import act, get, make_user, token_with
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.notifications import notify
from wildebeest_trio.store import Connection
from wildebeest_trio.store import account_domain_blocks as block_rows


async def _rows(rt: Runtime, sql: str, *args: Any) -> list[dict]:
    async def unit(conn: Connection) -> list[dict]:
        return await conn.fetch(sql, *args)

    return await rt.store.read(unit)


async def _send(client: Any, user: Any, method: str, domain: str | None) -> tuple[int, Any]:
    body = {} if domain is None else {"domain": domain}
    response = await client.open(
        "/api/v1/domain_blocks", method=method, headers=user.headers, form=body
    )
    return response.status_code, await response.get_json()


async def test_blocking_a_domain_hides_it_everywhere(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    zed = await remote_account(rt, "zed", "spam.example")
    yan = await remote_account(rt, "yan", "fine.example")
    zed_status = await remote_status(rt, zed, "spam.example", "<p>#cats buy now</p>")
    yan_status = await remote_status(rt, yan, "fine.example", "<p>hello</p>")
    for target in (zed, yan):
        assert (await act(client, ann, f"/api/v1/accounts/{target}/follow"))[0] == 200
        await accept_our_request(rt, int(ann.id), target)
    await add_follower(rt, zed, int(ann.id))

    async def notify_unit(conn: Connection) -> None:
        await notify(conn, rt.ids, account_id=int(ann.id), type="follow", from_account_id=zed)

    await rt.store.write(notify_unit)

    code, home = await get(client, ann, "/api/v1/timelines/home")
    assert {s["id"] for s in home} == {str(zed_status), str(yan_status)}

    assert await _send(client, ann, "POST", "Spam.Example") == (200, {})
    assert await _send(client, ann, "POST", "spam.example") == (200, {})  # idempotent

    code, home = await get(client, ann, "/api/v1/timelines/home")
    assert [s["id"] for s in home] == [str(yan_status)]
    code, public = await get(client, ann, "/api/v1/timelines/public")
    assert [s["id"] for s in public] == [str(yan_status)]
    code, public = await get(client, None, "/api/v1/timelines/public")  # others still see it
    assert {s["id"] for s in public} == {str(zed_status), str(yan_status)}

    # Follows both ways are gone, federated as Undo (ours) and Reject (theirs).
    follows_left = "SELECT id FROM follows WHERE account_id = $1 OR target_account_id = $1"
    assert await _rows(rt, follows_left, zed) == []
    events = await _rows(
        rt,
        "SELECT event, payload FROM outbox WHERE event IN ('follow.deleted', "
        "'follow_request.rejected') ORDER BY id",
    )
    assert [(e["event"], json.loads(e["payload"]).get("target_account_id")) for e in events] in (
        [("follow.deleted", zed), ("follow_request.rejected", None)],
        [("follow_request.rejected", None), ("follow.deleted", zed)],
    )
    assert await _rows(rt, "SELECT id FROM notifications WHERE from_account_id = $1", zed) == []

    code, rels = await get(client, ann, f"/api/v1/accounts/relationships?id[]={zed}&id[]={yan}")
    assert code == 200
    assert [(r["id"], r["domain_blocking"], r["following"]) for r in rels] == [
        (str(zed), True, False),
        (str(yan), False, True),
    ]
    assert await rt.store.read(block_rows.blocks_account, int(ann.id), zed) is True
    assert await rt.store.read(block_rows.blocks_account, int(ann.id), yan) is False
    # Nothing new is notified from the blocked domain.
    await rt.store.write(notify_unit)
    assert await _rows(rt, "SELECT id FROM notifications WHERE from_account_id = $1", zed) == []

    code, domains = await get(client, ann, "/api/v1/domain_blocks")
    assert (code, domains) == (200, ["spam.example"])

    assert await _send(client, ann, "DELETE", "spam.example") == (200, {})
    code, domains = await get(client, ann, "/api/v1/domain_blocks")
    assert domains == []
    code, public = await get(client, ann, "/api/v1/timelines/public")
    assert {s["id"] for s in public} == {str(zed_status), str(yan_status)}


async def test_domain_blocks_are_paginated_with_links(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    for i in range(5):
        assert (await _send(client, ann, "POST", f"d{i}.example"))[0] == 200
    response = await client.get("/api/v1/domain_blocks?limit=2", headers=ann.headers)
    assert await response.get_json() == ["d4.example", "d3.example"]
    link = response.headers["Link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    next_url = link.split(";")[0].strip("<>")
    response = await client.get(next_url.removeprefix(rt.config.base_url), headers=ann.headers)
    assert await response.get_json() == ["d2.example", "d1.example"]


async def test_bad_domain_block_requests(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    assert (await _send(client, ann, "POST", None))[0] == 422
    assert (await _send(client, ann, "POST", "https://x.example/"))[0] == 422
    assert (await _send(client, ann, "POST", "a..b"))[0] == 422
    assert (await _send(client, ann, "POST", rt.config.domain))[0] == 422
    assert (await _send(client, ann, "DELETE", None))[0] == 422
    read_only = await token_with(client, ann, "read")
    response = await client.post(
        "/api/v1/domain_blocks",
        headers={"Authorization": f"Bearer {read_only}"},
        json={"domain": "x.example"},
    )
    assert response.status_code == 403
    write_only = await token_with(client, ann, "write")
    response = await client.get(
        "/api/v1/domain_blocks", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/domain_blocks")).status_code == 401
