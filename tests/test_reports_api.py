"""`POST /api/v1/reports`: the Report entity, validation, staff notifications, forwarding."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.rows import remote_account, remote_status
from tests.social import act, follow, make_user, post, token_with
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import add_rule
from wildebeest_trio.store import Connection


async def _rows(rt: Runtime, sql: str, *args: Any) -> list[dict]:
    async def unit(conn: Connection) -> list[dict]:
        return await conn.fetch(sql, *args)

    return await rt.store.read(unit)


async def test_a_report_is_stored_and_the_staff_is_notified(rt: Runtime, client: Any) -> None:
    admin = await create_local_account(rt, "boss", "boss@example.org", role="admin")
    mod = await create_local_account(rt, "modi", "modi@example.org", role="moderator")
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "buy my stuff")
    rule_id = await add_rule(rt, "No spam", "")

    code, body = await act(
        client,
        ann,
        "/api/v1/reports",
        account_id=bob.id,
        status_ids=[status["id"]],
        comment="spammy",
        rule_ids=[str(rule_id)],
        forward=True,
    )
    assert code == 200, body
    assert body["category"] == "violation"
    assert body["comment"] == "spammy"
    assert body["status_ids"] == [status["id"]]
    assert body["rule_ids"] == [str(rule_id)]
    assert body["forwarded"] is False  # bob is local: nothing to forward
    assert body["action_taken"] is False and body["action_taken_at"] is None
    assert body["target_account"]["id"] == bob.id
    assert body["created_at"].endswith("Z")

    notified = await _rows(
        rt,
        "SELECT account_id, from_account_id, report_id FROM notifications "
        "WHERE type = 'admin.report' ORDER BY account_id",
    )
    expected = {"from_account_id": int(ann.id), "report_id": int(body["id"])}
    assert notified == [
        {"account_id": admin.account_id, **expected},
        {"account_id": mod.account_id, **expected},
    ]
    assert await _rows(rt, "SELECT id FROM outbox WHERE event = 'report.created'") == []


async def test_reports_about_remote_accounts_are_forwarded_on_request(
    rt: Runtime, client: Any
) -> None:
    ann = await make_user(rt, client, "ann")
    remote = await remote_account(rt, "zed", "remote.example")
    status_id = await remote_status(rt, remote, "remote.example", "<p>spam</p>")

    code, body = await act(
        client,
        ann,
        "/api/v1/reports",
        account_id=str(remote),
        status_ids=[str(status_id)],
        category="spam",
        comment="please look",
        forward=True,
    )
    assert code == 200, body
    assert body["forwarded"] is True and body["category"] == "spam" and body["rule_ids"] is None
    events = await _rows(
        rt, "SELECT account_id, object_id, payload FROM outbox WHERE event = 'report.created'"
    )
    assert len(events) == 1
    assert events[0]["object_id"] == int(body["id"])
    assert json.loads(events[0]["payload"]) == {
        "report_id": int(body["id"]),
        "target_account_uri": "https://remote.example/users/zed",
        "status_uris": [f"https://remote.example/statuses/{status_id}"],
        "comment": "please look",
    }

    code, body = await act(client, ann, "/api/v1/reports", account_id=str(remote))
    assert code == 200 and body["forwarded"] is False and body["category"] == "other"
    assert len(await _rows(rt, "SELECT id FROM outbox WHERE event = 'report.created'")) == 1


async def test_only_statuses_the_reporter_sees_can_be_attached(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    cid = await make_user(rt, client, "cid")
    private = await post(client, bob, "followers only", visibility="private")
    direct = await post(client, bob, "psst @cid", visibility="direct")
    for hidden in (private, direct):
        code, body = await act(
            client, ann, "/api/v1/reports", account_id=bob.id, status_ids=[hidden["id"]]
        )
        # Hidden and missing look alike.
        assert code == 404 and body == {"error": "Record not found"}
    assert await _rows(rt, "SELECT id FROM reports") == []
    # Those who may see them can report them.
    code, body = await act(
        client, cid, "/api/v1/reports", account_id=bob.id, status_ids=[direct["id"]]
    )
    assert code == 200 and body["status_ids"] == [direct["id"]]
    await follow(client, ann, bob)
    code, body = await act(
        client, ann, "/api/v1/reports", account_id=bob.id, status_ids=[private["id"]]
    )
    assert code == 200 and body["status_ids"] == [private["id"]]


async def test_bad_reports_are_refused(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    own = await post(client, ann, "not bob's")

    cases = [
        ({"account_id": "999999"}, 404),
        ({"account_id": "abc"}, 404),
        ({}, 422),
        ({"account_id": bob.id, "status_ids": [own["id"]]}, 404),
        ({"account_id": bob.id, "status_ids": ["x"]}, 422),
        ({"account_id": bob.id, "comment": "x" * 1001}, 422),
        ({"account_id": bob.id, "category": "rude"}, 422),
        ({"account_id": bob.id, "category": "violation", "rule_ids": ["12345"]}, 422),
    ]
    for fields, expected in cases:
        code, body = await act(client, ann, "/api/v1/reports", **fields)
        assert code == expected, (fields, body)
        assert "error" in body
    assert await _rows(rt, "SELECT id FROM reports") == []

    read_only = await token_with(client, ann, "read")
    response = await client.post(
        "/api/v1/reports",
        headers={"Authorization": f"Bearer {read_only}"},
        json={"account_id": bob.id},
    )
    assert response.status_code == 403
    response = await client.post("/api/v1/reports", json={"account_id": bob.id})
    assert response.status_code == 401
