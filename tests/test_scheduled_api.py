"""Scheduled statuses through the Mastodon API: scheduling, listing, rescheduling,
cancelling, limits, and publication by the job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.social import User, act, get, make_user, post, token_with
from tests.test_media_api import photo, upload
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import scheduled
from wildebeest_trio.services.media import remove_unattached
from wildebeest_trio.store import Connection

ENTITY_KEYS = {"id", "scheduled_at", "params", "media_attachments"}
PARAM_KEYS = {
    "text",
    "poll",
    "media_ids",
    "sensitive",
    "spoiler_text",
    "visibility",
    "in_reply_to_id",
    "language",
    "application_id",
    "scheduled_at",
    "idempotency",
    "with_rate_limit",
    "quoted_status_id",
    "quote_approval_policy",
}


def at(ms_from_now: int) -> str:
    when = datetime.fromtimestamp((now_ms() + ms_from_now) / 1000, tz=UTC)
    return when.isoformat().replace("+00:00", "Z")


MINUTE = 60_000


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await make_user(rt, client, "alice")


@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await make_user(rt, client, "bob")


async def _rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch(sql, *args)

    return await rt.store.read(unit)


async def make_due(rt: Runtime, scheduled_id: str) -> dict[str, Any]:
    """Move a scheduled status into the past; the job payload that would publish it."""
    when = now_ms() - 1000

    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE scheduled_statuses SET scheduled_at = $1 WHERE id = $2", when, int(scheduled_id)
        )

    await rt.store.write(unit)
    return {"scheduled_status_id": int(scheduled_id), "scheduled_at": when}


async def schedule(client: Any, user: User, text: str, **fields: Any) -> dict[str, Any]:
    code, body = await act(
        client, user, "/api/v1/statuses", status=text, scheduled_at=at(10 * MINUTE), **fields
    )
    assert code == 200, body
    return body


async def test_schedule_list_show_reschedule_cancel(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    entity = await schedule(
        client, alice, "Later", visibility="unlisted", spoiler_text="cw", language="en"
    )
    assert set(entity) == ENTITY_KEYS and set(entity["params"]) == PARAM_KEYS
    assert entity["params"]["text"] == "Later" and entity["params"]["visibility"] == "unlisted"
    assert entity["params"]["spoiler_text"] == "cw" and entity["params"]["language"] == "en"
    assert entity["media_attachments"] == [] and entity["params"]["poll"] is None
    # Nothing is posted yet.
    code, home = await get(client, alice, "/api/v1/timelines/home")
    assert home == []
    jobs = await _rows(rt, "SELECT run_at FROM jobs WHERE kind = 'scheduled.publish'")
    assert len(jobs) == 1 and jobs[0]["run_at"] > now_ms() + 9 * MINUTE

    second = await schedule(client, alice, "Later still")
    response = await client.get("/api/v1/scheduled_statuses?limit=1", headers=alice.headers)
    listed = await response.get_json()
    assert [s["id"] for s in listed] == [second["id"]] and 'rel="next"' in response.headers["Link"]
    code, listed = await get(client, alice, "/api/v1/scheduled_statuses")
    assert [s["id"] for s in listed] == [second["id"], entity["id"]]
    code, shown = await get(client, alice, f"/api/v1/scheduled_statuses/{entity['id']}")
    assert code == 200 and shown == entity

    # Other people's are not found.
    code, theirs = await get(client, bob, "/api/v1/scheduled_statuses")
    assert theirs == []
    code, body = await get(client, bob, f"/api/v1/scheduled_statuses/{entity['id']}")
    assert code == 404 and body == {"error": "Record not found"}

    new_time = at(60 * MINUTE)
    response = await client.put(
        f"/api/v1/scheduled_statuses/{entity['id']}",
        headers=alice.headers,
        json={"scheduled_at": new_time},
    )
    moved = await response.get_json()
    assert response.status_code == 200 and moved["scheduled_at"] > entity["scheduled_at"]
    response = await client.put(
        f"/api/v1/scheduled_statuses/{entity['id']}",
        headers=alice.headers,
        json={"scheduled_at": at(MINUTE)},
    )
    assert response.status_code == 422
    response = await client.put(
        f"/api/v1/scheduled_statuses/{entity['id']}",
        headers=bob.headers,
        json={"scheduled_at": new_time},
    )
    assert response.status_code == 404

    response = await client.delete(
        f"/api/v1/scheduled_statuses/{entity['id']}", headers=alice.headers
    )
    assert response.status_code == 200 and await response.get_json() == {}
    code, _ = await get(client, alice, f"/api/v1/scheduled_statuses/{entity['id']}")
    assert code == 404
    for bad in ("nope", "123"):
        code, _ = await get(client, alice, f"/api/v1/scheduled_statuses/{bad}")
        assert code == 404


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (lambda: at(2 * MINUTE), "Validation failed: Scheduled at must be at least 5 minutes"),
        # Mastodon's exact words for a time it cannot read (toot's suite checks them).
        (lambda: "banana", "Record invalid"),
    ],
)
async def test_too_soon_or_unparseable_is_422(
    rt: Runtime, client: Any, alice: User, when: Any, message: str
) -> None:
    code, body = await act(client, alice, "/api/v1/statuses", status="x", scheduled_at=when())
    assert code == 422 and body["error"].startswith(message)
    assert await _rows(rt, "SELECT id FROM scheduled_statuses") == []


async def test_a_past_time_posts_at_once(rt: Runtime, client: Any, alice: User) -> None:
    status = await post(client, alice, "Now", scheduled_at=at(-MINUTE))
    assert status["content"] == "<p>Now</p>" and "scheduled_at" not in status


async def test_bad_drafts_are_refused_when_scheduled(rt: Runtime, client: Any, alice: User) -> None:
    code, body = await act(
        client, alice, "/api/v1/statuses", status="", scheduled_at=at(MINUTE * 9)
    )
    assert code == 422 and "blank" in body["error"]
    code, body = await act(
        client, alice, "/api/v1/statuses", status="x", media_ids=["42"], scheduled_at=at(9 * MINUTE)
    )
    assert code == 422 and "Media" in body["error"]
    code, body = await act(
        client,
        alice,
        "/api/v1/statuses",
        status="x",
        in_reply_to_id="424242",
        scheduled_at=at(9 * MINUTE),
    )
    assert code == 404 and "does not appear to exist" in body["error"]
    assert await _rows(rt, "SELECT id FROM scheduled_statuses") == []


async def test_limits(rt: Runtime, client: Any, alice: User) -> None:
    day_start = (now_ms() // 86_400_000 + 2) * 86_400_000

    async def fill(conn: Connection, count: int, start: int, step: int) -> None:
        for i in range(count):
            await conn.execute(
                "INSERT INTO scheduled_statuses (id, account_id, scheduled_at, params, "
                "created_at) VALUES ($1, $2, $3, $4, $5)",
                10_000 + start // 1000 + i,
                int(alice.id),
                start + i * step,
                json.dumps({"text": "x"}),
                now_ms(),
            )

    await rt.store.write(fill, 25, day_start + 3600_000, 60_000)
    same_day = datetime.fromtimestamp((day_start + 20 * 3600_000) / 1000, tz=UTC).isoformat()
    code, body = await act(client, alice, "/api/v1/statuses", status="x", scheduled_at=same_day)
    assert code == 422 and "25" in body["error"]
    next_day = datetime.fromtimestamp((day_start + 30 * 3600_000) / 1000, tz=UTC).isoformat()
    code, body = await act(client, alice, "/api/v1/statuses", status="x", scheduled_at=next_day)
    assert code == 200

    await rt.store.write(fill, 274, day_start + 10 * 86_400_000, 86_400_000)
    code, body = await act(
        client, alice, "/api/v1/statuses", status="x", scheduled_at=at(60 * MINUTE)
    )
    assert code == 422 and "300" in body["error"]


async def test_publication_posts_once_with_poll_and_media(
    rt: Runtime, client: Any, alice: User
) -> None:
    response = await client.post(
        "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
    )
    media = await response.get_json()
    assert response.status_code == 200, media
    entity = await schedule(client, alice, "With a photo", media_ids=[media["id"]])
    assert [m["id"] for m in entity["media_attachments"]] == [media["id"]]
    assert entity["params"]["media_ids"] == [media["id"]]

    # Waiting days for publication is not being unattached: the daily cleanup keeps it.
    async def age(conn: Connection) -> None:
        await conn.execute(
            "UPDATE media_attachments SET created_at = 1000 WHERE id = $1", int(media["id"])
        )

    await rt.store.write(age)
    assert await remove_unattached(rt) == 0

    payload = await make_due(rt, entity["id"])
    await scheduled.publish(rt, payload)
    await scheduled.publish(rt, payload)  # a job run twice publishes once
    code, home = await get(client, alice, "/api/v1/timelines/home")
    assert [s["content"] for s in home] == ["<p>With a photo</p>"]
    assert [m["id"] for m in home[0]["media_attachments"]] == [media["id"]]
    code, _ = await get(client, alice, f"/api/v1/scheduled_statuses/{entity['id']}")
    assert code == 404

    polled = await schedule(
        client, alice, "A poll later", poll={"options": ["a", "b"], "expires_in": 600}
    )
    assert polled["params"]["poll"]["options"] == ["a", "b"]
    await scheduled.publish(rt, await make_due(rt, polled["id"]))
    code, home = await get(client, alice, "/api/v1/timelines/home")
    assert home[0]["poll"]["options"][1]["title"] == "b"


async def test_stale_and_early_jobs(rt: Runtime, client: Any, alice: User) -> None:
    entity = await schedule(client, alice, "Moved")
    from wildebeest_trio.jobs import RetryLater

    jobs = await _rows(rt, "SELECT payload FROM jobs WHERE kind = 'scheduled.publish'")
    payload = json.loads(jobs[0]["payload"])
    with pytest.raises(RetryLater):
        await scheduled.publish(rt, payload)
    # After a reschedule the old job does nothing.
    await scheduled.publish(rt, {**payload, "scheduled_at": payload["scheduled_at"] - 1})
    code, shown = await get(client, alice, f"/api/v1/scheduled_statuses/{entity['id']}")
    assert code == 200 and shown["id"] == entity["id"]


async def test_unpublishable_is_dropped(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    parent = await post(client, bob, "Reply to me")
    entity = await schedule(client, alice, "A reply", in_reply_to_id=parent["id"])
    assert entity["params"]["in_reply_to_id"] == parent["id"]
    response = await client.delete(f"/api/v1/statuses/{parent['id']}", headers=bob.headers)
    assert response.status_code == 200
    await scheduled.publish(rt, await make_due(rt, entity["id"]))
    assert await _rows(rt, "SELECT id FROM scheduled_statuses") == []
    code, statuses = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert code == 200 and statuses == []


async def test_scopes(rt: Runtime, client: Any, alice: User) -> None:
    entity = await schedule(client, alice, "Scoped")
    write_only = await token_with(client, alice, "write:statuses")
    response = await client.get(
        "/api/v1/scheduled_statuses", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    read_only = await token_with(client, alice, "read:statuses")
    response = await client.delete(
        f"/api/v1/scheduled_statuses/{entity['id']}",
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert response.status_code == 403
    response = await client.get("/api/v1/scheduled_statuses")
    assert response.status_code == 401


async def test_idempotency_key_returns_the_same_scheduled_status(
    rt: Runtime, client: Any, alice: User
) -> None:
    when = at(30 * MINUTE)
    answers = []
    for _ in range(2):
        response = await client.post(
            "/api/v1/statuses",
            headers={**alice.headers, "Idempotency-Key": "sched-1"},
            json={"status": "Once", "scheduled_at": when},
        )
        assert response.status_code == 200
        answers.append(await response.get_json())
    assert answers[0]["id"] == answers[1]["id"]
    assert len(await _rows(rt, "SELECT id FROM scheduled_statuses")) == 1
