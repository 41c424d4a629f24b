"""Notifications reaching clients: Mastodon.py against a live server, the streaming API,
and Web Push jobs queued with the notification."""

from __future__ import annotations

import base64
import json
from typing import Any

import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.social import act, follow, make_user, post
from tests.test_clients import PASSWORD
from tests.test_statuses_clients import _login
from tests.test_streaming_statuses import _open
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import web_push
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonNotFoundError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    cid = _login(base, "cid@example.org")
    ann_id = str(ann.me()["id"])
    ben.account_follow(ann_id)
    liked = ann.status_post("like me")
    ben.status_favourite(liked["id"])
    cid.status_favourite(liked["id"])
    mention = ben.status_post("@ann hello")

    notes = ann.notifications()
    assert [n["type"] for n in notes] == ["mention", "favourite", "favourite", "follow"]
    assert str(notes[0]["status"]["id"]) == str(mention["id"])
    assert notes[0]["account"]["acct"] == "ben"
    assert [n["type"] for n in ann.notifications(types=["mention"])] == ["mention"]
    assert "follow" not in [n["type"] for n in ann.notifications(exclude_types=["follow"])]
    one = ann.notifications(id=notes[1]["id"])
    assert str(one["id"]) == str(notes[1]["id"])
    # Paging with Mastodon.py's own cursor handling.
    first = ann.notifications(limit=2)
    rest = ann.fetch_next(first)
    assert [str(n["id"]) for n in list(first) + list(rest)] == [str(n["id"]) for n in notes]

    grouped = ann.grouped_notifications()
    kinds = [(g["type"], g["notifications_count"]) for g in grouped["notification_groups"]]
    assert kinds == [("mention", 1), ("favourite", 2), ("follow", 1)]
    assert str(grouped["notification_groups"][1]["status_id"]) == str(liked["id"])
    assert ann.notifications_unread_count()["count"] == 4

    ann.notifications_dismiss(notes[0]["id"])
    assert len(ann.notifications()) == 3
    try:
        ann.notifications(id=notes[0]["id"])
        raise AssertionError("a dismissed notification is gone")
    except MastodonNotFoundError:
        pass
    ann.notifications_clear()
    assert list(ann.notifications()) == []


async def test_mastodon_py_notifications(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben", "cid"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)


async def test_notification_events_reach_streams(
    rt: Runtime, client: Any, live_server: str
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    mine = await post(client, alice, "stream me")
    async with trio.open_nursery() as nursery:
        only = await _open(nursery, live_server, "/api/v1/streaming/user/notification", alice.token)
        user = await _open(nursery, live_server, "/api/v1/streaming/user", alice.token)
        bobs = await _open(nursery, live_server, "/api/v1/streaming/user/notification", bob.token)
        await act(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
        await follow(client, bob, alice)
        with trio.fail_after(10):
            while len(only) < 2 or len([e for e, _ in user if e == "notification"]) < 2:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert [(e, d["type"]) for e, d in only] == [
        ("notification", "favourite"),
        ("notification", "follow"),
    ]
    favourite = only[0][1]
    assert favourite["status"]["id"] == mine["id"]
    assert favourite["account"]["username"] == "bob"
    # The recipient's own view of the status, as Mastodon renders it for them.
    assert favourite["status"]["favourited"] is False
    listed = await (await client.get("/api/v1/notifications", headers=alice.headers)).get_json()
    assert {d["id"] for _, d in only} == {n["id"] for n in listed}
    assert [d["type"] for e, d in user if e == "notification"] == ["favourite", "follow"]
    assert bobs == []


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_push_jobs_are_queued_for_wanted_types(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    key = ec.generate_private_key(ec.SECP256R1())
    p256dh = _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    response = await client.post(
        "/api/v1/push/subscription",
        headers=alice.headers,
        form={
            "subscription[endpoint]": "https://push.example.net/send/abc",
            "subscription[keys][p256dh]": p256dh,
            "subscription[keys][auth]": _b64url(b"0123456789abcdef"),
            "data[alerts][favourite]": "true",
            "data[alerts][mention]": "false",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    mine = await post(client, alice, "push me")
    await act(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await post(client, bob, "@alice not pushed")

    async def jobs(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1", web_push.PUSH.name)

    queued = await rt.store.read(jobs)
    assert len(queued) == 1
    payload = json.loads(queued[0]["payload"])
    notes = await (await client.get("/api/v1/notifications", headers=alice.headers)).get_json()
    favourite = next(n for n in notes if n["type"] == "favourite")
    assert payload["message"]["notification_id"] == favourite["id"]
    assert payload["message"]["notification_type"] == "favourite"
    assert payload["message"]["title"] == "bob favorited your post"
    assert payload["message"]["body"] == "push me"
