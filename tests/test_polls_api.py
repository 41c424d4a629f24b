"""Polls through the Mastodon API: posting, reading, voting, editing, and their end."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from tests.social import User, act, follow, get, make_user, post, token_with
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import polls
from wildebeest_trio.store import Connection, outbox

POLL = {"options": ["tea", "coffee", "water"], "expires_in": 3600}


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await make_user(rt, client, "alice")


@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await make_user(rt, client, "bob")


@pytest.fixture
async def carol(rt: Runtime, client: Any, bob: User) -> User:
    return await make_user(rt, client, "carol")


async def _rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch(sql, *args)

    return await rt.store.read(unit)


async def _expire(rt: Runtime, poll_id: str) -> None:
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE polls SET expires_at = $1 WHERE id = $2", now_ms() - 1000, int(poll_id)
        )

    await rt.store.write(unit)


async def test_post_with_poll_returns_the_poll_entity(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    before = now_ms()
    status = await post(client, alice, "Which drink?", poll={**POLL, "multiple": True})
    poll = status["poll"]
    assert set(poll) == {
        "id",
        "expires_at",
        "expired",
        "multiple",
        "votes_count",
        "voters_count",
        "options",
        "emojis",
        "voted",
        "own_votes",
    }
    assert poll["expired"] is False and poll["multiple"] is True
    assert poll["options"] == [
        {"title": "tea", "votes_count": 0},
        {"title": "coffee", "votes_count": 0},
        {"title": "water", "votes_count": 0},
    ]
    assert poll["votes_count"] == 0 and poll["voters_count"] == 0
    assert poll["voted"] is True and poll["own_votes"] == []  # the author counts as voted
    assert poll["emojis"] == []
    # The end is a durable job due when the poll expires.
    jobs = await _rows(rt, "SELECT run_at, payload FROM jobs WHERE kind = 'poll.end'")
    assert len(jobs) == 1 and json.loads(jobs[0]["payload"]) == {"poll_id": int(poll["id"])}
    assert before + 3600_000 <= jobs[0]["run_at"] <= now_ms() + 3600_000

    # Everyone who sees the status sees the poll, anonymous viewers without `voted`.
    code, shown = await get(client, bob, f"/api/v1/statuses/{status['id']}")
    assert code == 200 and shown["poll"]["voted"] is False and shown["poll"]["own_votes"] == []
    code, anonymous = await get(client, None, f"/api/v1/polls/{poll['id']}")
    assert code == 200 and "voted" not in anonymous and "own_votes" not in anonymous


async def test_form_encoded_poll_and_timelines_carry_it(
    rt: Runtime, client: Any, alice: User
) -> None:
    response = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        form=[
            ("status", "Form poll"),
            ("poll[options][]", "yes"),
            ("poll[options][]", "no"),
            ("poll[expires_in]", "300"),
            ("poll[hide_totals]", "true"),
        ],
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    status = await response.get_json()
    assert [o["title"] for o in status["poll"]["options"]] == ["yes", "no"]
    code, home = await get(client, alice, "/api/v1/timelines/home")
    assert code == 200 and home[0]["poll"]["id"] == status["poll"]["id"]
    code, public = await get(client, None, "/api/v1/timelines/public")
    assert public[0]["poll"]["options"][0]["votes_count"] is None  # hidden totals


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"poll": {"options": ["only"], "expires_in": 600}}, "more than one item"),
        ({"poll": {"options": ["a", "b", "c", "d", "e"], "expires_in": 600}}, "more than 4"),
        ({"poll": {"options": ["a", "x" * 51], "expires_in": 600}}, "50 characters"),
        ({"poll": {"options": ["a", "a"], "expires_in": 600}}, "duplicate"),
        ({"poll": {"options": ["a", "b"], "expires_in": 60}}, "too soon"),
        ({"poll": {"options": ["a", "b"], "expires_in": 2629747}}, "too far"),
        ({"poll": {"options": ["a", "b"]}}, "too far"),
        ({"poll": {"options": ["a", "b"], "expires_in": "soon"}}, "integer"),
        ({"poll": {"options": ["a", "b"], "expires_in": 600}, "media_ids": ["1"]}, "media"),
    ],
)
async def test_bad_polls_are_422(
    rt: Runtime, client: Any, alice: User, fields: dict[str, Any], message: str
) -> None:
    code, body = await act(client, alice, "/api/v1/statuses", status="Poll?", **fields)
    assert code == 422 and message in body["error"], body
    assert await _rows(rt, "SELECT id FROM polls") == []


async def test_voting(rt: Runtime, client: Any, alice: User, bob: User, carol: User) -> None:
    status = await post(client, alice, "Pick", poll=POLL)
    poll_id = status["poll"]["id"]
    code, body = await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["1"])
    assert code == 200, body
    assert body["voted"] is True and body["own_votes"] == [1]
    assert body["votes_count"] == 1 and body["voters_count"] == 1
    assert [o["votes_count"] for o in body["options"]] == [0, 1, 0]
    # Recorded for federation in the vote's unit.
    events = [e for e in await rt.store.read(outbox.pending) if e["event"] == "poll.voted"]
    assert len(events) == 1 and events[0]["object_id"] == int(status["id"])
    assert json.loads(events[0]["payload"])["choices"] == [1]

    # Already voted, own poll, out of range, several choices on a single-choice poll.
    code, body = await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert code == 422 and "already voted" in body["error"]
    code, body = await act(client, alice, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert code == 422 and "own polls" in body["error"]
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["3"])
    assert code == 422 and "does not exist" in body["error"]
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["0", "2"])
    assert code == 422
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=[])
    assert code == 422
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["x"])
    assert code == 422
    assert len(await _rows(rt, "SELECT id FROM poll_votes")) == 1

    # The status shows the viewer's votes.
    code, shown = await get(client, bob, f"/api/v1/statuses/{status['id']}")
    assert shown["poll"]["own_votes"] == [1] and shown["poll"]["voted"] is True

    # Expired polls take no votes.
    await _expire(rt, poll_id)
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert code == 422 and "ended" in body["error"]
    code, shown = await get(client, carol, f"/api/v1/polls/{poll_id}")
    assert shown["expired"] is True and shown["voted"] is False


async def test_multiple_choice_and_hidden_totals(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    status = await post(
        client, alice, "Pick many", poll={**POLL, "multiple": True, "hide_totals": True}
    )
    poll_id = status["poll"]["id"]
    code, body = await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["0", "2"])
    assert code == 200 and body["own_votes"] == [0, 2]
    assert body["votes_count"] == 2 and body["voters_count"] == 1
    assert [o["votes_count"] for o in body["options"]] == [None, None, None]
    code, body = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert body["votes_count"] == 3 and body["voters_count"] == 2
    # Hidden from everyone while the poll runs, its author included (as on Mastodon); the
    # totals of the whole poll stay, as there.
    code, mine = await get(client, alice, f"/api/v1/polls/{poll_id}")
    assert [o["votes_count"] for o in mine["options"]] == [None, None, None]
    assert mine["votes_count"] == 3
    code, in_status = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert [o["votes_count"] for o in in_status["poll"]["options"]] == [None, None, None]
    await _expire(rt, poll_id)
    code, ended = await get(client, carol, f"/api/v1/polls/{poll_id}")
    assert [o["votes_count"] for o in ended["options"]] == [2, 0, 1]


async def test_poll_visibility_follows_its_status(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    await follow(client, bob, alice)
    status = await post(client, alice, "Followers only", poll=POLL, visibility="private")
    poll_id = status["poll"]["id"]
    code, _ = await get(client, bob, f"/api/v1/polls/{poll_id}")
    assert code == 200
    for viewer in (carol, None):
        code, body = await get(client, viewer, f"/api/v1/polls/{poll_id}")
        assert code == 404 and body == {"error": "Record not found"}
    code, _ = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert code == 404
    for bad in ("123", "nope", "99999999999999999999"):
        code, _ = await get(client, bob, f"/api/v1/polls/{bad}")
        assert code == 404
        code, _ = await act(client, bob, f"/api/v1/polls/{bad}/votes", choices=["0"])
        assert code == 404
    # Deleting the status takes the poll away.
    code, _ = await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["0"])
    assert code == 200
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    code, _ = await get(client, bob, f"/api/v1/polls/{poll_id}")
    assert code == 404


async def test_scopes(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    status = await post(client, alice, "Scoped", poll=POLL)
    poll_id = status["poll"]["id"]
    read_only = await token_with(client, bob, "read")
    response = await client.post(
        f"/api/v1/polls/{poll_id}/votes",
        headers={"Authorization": f"Bearer {read_only}"},
        json={"choices": ["0"]},
    )
    assert response.status_code == 403
    write_only = await token_with(client, bob, "write:statuses")
    response = await client.get(
        f"/api/v1/polls/{poll_id}", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    response = await client.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": ["0"]})
    assert response.status_code == 401


async def test_editing_the_poll_resets_votes_when_options_change(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(client, alice, "Edit me", poll=POLL)
    poll_id = status["poll"]["id"]
    await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["0"])

    # Same options, a new duration: the votes stay.
    response = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "Edit me", "poll": {**POLL, "expires_in": 7200}},
    )
    edited = await response.get_json()
    assert response.status_code == 200 and edited["poll"]["votes_count"] == 1
    assert edited["edited_at"] is not None

    # New options: every vote goes.
    response = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "Edit me", "poll": {"options": ["red", "blue"], "expires_in": 600}},
    )
    edited = await response.get_json()
    assert edited["poll"]["id"] == poll_id
    assert [o["title"] for o in edited["poll"]["options"]] == ["red", "blue"]
    assert edited["poll"]["votes_count"] == 0
    code, shown = await get(client, bob, f"/api/v1/polls/{poll_id}")
    assert shown["voted"] is False and shown["own_votes"] == []

    # An edit without a poll removes it.
    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "No poll"}
    )
    assert (await response.get_json())["poll"] is None
    code, _ = await get(client, bob, f"/api/v1/polls/{poll_id}")
    assert code == 404

    # And one with a poll adds one.
    response = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "x", "poll": POLL},
    )
    assert (await response.get_json())["poll"]["options"][0]["title"] == "tea"


async def test_the_end_notifies_author_and_voters_once(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    status = await post(client, alice, "Ends", poll=POLL)
    poll_id = status["poll"]["id"]
    await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["2"])
    await _expire(rt, poll_id)

    async def due(conn: Connection) -> int:
        return await conn.execute("UPDATE jobs SET run_at = $1 WHERE kind = 'poll.end'", 0)

    await rt.store.write(due)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(20):
            while await _rows(rt, "SELECT id FROM jobs WHERE kind = 'poll.end'"):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()

    rows = await _rows(
        rt,
        "SELECT account_id, from_account_id, status_id FROM notifications "
        "WHERE type = 'poll' ORDER BY account_id",
    )
    assert sorted(r["account_id"] for r in rows) == sorted([int(alice.id), int(bob.id)])
    assert all(r["from_account_id"] == int(alice.id) for r in rows)
    assert all(r["status_id"] == int(status["id"]) for r in rows)
    ended = [e for e in await rt.store.read(outbox.pending) if e["event"] == "poll.ended"]
    assert len(ended) == 1 and ended[0]["object_id"] == int(status["id"])
    # A second run (a stale job) changes nothing.
    await polls.end_poll(rt, {"poll_id": int(poll_id)})
    again = await _rows(rt, "SELECT id FROM notifications WHERE type = 'poll'")
    assert len(again) == 2


async def test_a_job_woken_early_waits(rt: Runtime, client: Any, alice: User) -> None:
    status = await post(client, alice, "Not yet", poll=POLL)
    from wildebeest_trio.jobs import RetryLater

    with pytest.raises(RetryLater):
        await polls.end_poll(rt, {"poll_id": int(status["poll"]["id"])})
    assert await _rows(rt, "SELECT id FROM notifications") == []


async def test_overdue_polls_are_ended_by_the_scheduler_net(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(client, alice, "Lost job", poll=POLL)
    await act(client, bob, f"/api/v1/polls/{status['poll']['id']}/votes", choices=["0"])

    async def lose_job(conn: Connection) -> None:
        await conn.execute("DELETE FROM jobs WHERE kind = 'poll.end'")
        await conn.execute("UPDATE polls SET expires_at = $1", now_ms() - 3600_000)

    await rt.store.write(lose_job)
    assert await polls.end_overdue(rt) == 1
    assert await polls.end_overdue(rt) == 0
    rows = await _rows(rt, "SELECT account_id FROM notifications WHERE type = 'poll'")
    assert sorted(r["account_id"] for r in rows) == sorted([int(alice.id), int(bob.id)])


async def test_voting_on_a_blocked_authors_poll_is_forbidden(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(client, alice, "Blocked?", poll=POLL)
    code, _ = await act(client, bob, f"/api/v1/accounts/{alice.id}/block")
    assert code == 200
    path = f"/api/v1/polls/{status['poll']['id']}/votes"
    code, body = await act(client, bob, path, choices=["0"])
    assert code == 403 and "error" in body
    assert await _rows(rt, "SELECT id FROM poll_votes") == []
