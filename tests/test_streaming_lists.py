"""List timelines update live (SSE and WebSocket), and every stream name Mastodon documents
carries what it should: `user:notification`, `public:media`, `public:local:media`,
`public:remote`, `public:remote:media`, `hashtag:local`, `direct`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer
from tests.social import act, follow, follow_remote, make_user, post
from tests.test_inbox_streams import _post, _until
from tests.test_media_api import photo, upload
from tests.test_streaming_statuses import _open
from wildebeest_trio.config import Config
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # The fake remote server listens on 127.0.0.1.
    return make_config(tmp_path, database_url, allow_private_addresses=True)


def _ids(events: list[tuple[str, Any]], kind: str = "update") -> list[str]:
    return [d["id"] if isinstance(d, dict) else d for e, d in events if e == kind]


async def _settle() -> None:
    await trio.sleep(0.5)


async def test_list_stream_over_sse_and_websocket(
    rt: Runtime, client: Any, live_server: str
) -> None:
    ann = await make_user(rt, client, "ann")
    ben = await make_user(rt, client, "ben")
    cat = await make_user(rt, client, "cat")
    await follow(client, ann, ben)
    await follow(client, ann, cat)
    code, friends = await act(client, ann, "/api/v1/lists", title="Friends", replies_policy="list")
    assert code == 200
    code, _ = await act(
        client, ann, f"/api/v1/lists/{friends['id']}/accounts", account_ids=[ben.id]
    )
    assert code == 200
    ws_url = live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={ann.token}"
    async with trio.open_nursery() as nursery, open_websocket_url(ws_url) as ws:
        sse = await _open(
            nursery, live_server, f"/api/v1/streaming/list?list={friends['id']}", ann.token
        )
        await ws.send_message(
            json.dumps({"type": "subscribe", "stream": "list", "list": friends["id"]})
        )
        with trio.fail_after(10):
            while rt.streams.connections() < 2:
                await trio.sleep(0.05)
        await _settle()
        shown = await post(client, ben, "ben in the list")
        await post(client, cat, "cat is not in it")
        cats = await post(client, cat, "a thread")
        await post(client, ben, "@cat a reply outside the list", in_reply_to_id=cats["id"])
        gone = await post(client, ben, "soon gone")
        assert (
            await client.delete(f"/api/v1/statuses/{gone['id']}", headers=ben.headers)
        ).status_code == 200
        with trio.fail_after(10):
            message = json.loads(await ws.get_message())
        await _settle()
        nursery.cancel_scope.cancel()
    assert _ids(sse) == [shown["id"], gone["id"]]
    assert _ids(sse, "delete") == [gone["id"]]
    assert message["stream"] == ["list", friends["id"]] and message["event"] == "update"
    assert json.loads(message["payload"])["id"] == shown["id"]

    # Someone else's list, a missing one, and no list at all.
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        for query, status in ((f"list={friends['id']}", 401), ("list=12345", 401), ("", 400)):
            response = await http.get(
                f"/api/v1/streaming/list?{query}", headers={"Authorization": f"Bearer {cat.token}"}
            )
            assert response.status_code == status, query
            assert "error" in response.json()
    cat_url = (
        live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={cat.token}"
    )
    async with open_websocket_url(cat_url) as ws:
        await ws.send_message(
            json.dumps({"type": "subscribe", "stream": "list", "list": friends["id"]})
        )
        with trio.fail_after(10):
            refused = json.loads(await ws.get_message())
    assert refused == {"error": "Not authorized to stream this list", "status": 401}


async def test_every_documented_stream_name(
    rt: Runtime, client: Any, live_server: str, remote: RemoteServer
) -> None:
    ann = await make_user(rt, client, "ann")
    ben = await make_user(rt, client, "ben")
    bob = remote.actor("bob")
    await follow_remote(client, rt, ann, bob)  # so that bob's posts are taken in
    response = await client.post(
        "/api/v1/media", headers=ben.headers, files={"file": upload(photo(), "cat.jpg")}
    )
    media_id = (await response.get_json())["id"]
    names = {
        "notification": "/api/v1/streaming/user/notification",
        "media": "/api/v1/streaming/public?only_media=true",
        "local_media": "/api/v1/streaming/public/local?only_media=true",
        "remote": "/api/v1/streaming/public/remote",
        "remote_media": "/api/v1/streaming/public/remote?only_media=true",
        "tag_local": "/api/v1/streaming/hashtag/local?tag=trio",
        "direct": "/api/v1/streaming/direct",
    }
    ws_url = live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={ann.token}"
    async with trio.open_nursery() as nursery, open_websocket_url(ws_url) as ws:
        got = {
            key: await _open(nursery, live_server, path, ann.token) for key, path in names.items()
        }
        for stream in ("public:media", "public:remote:media", "hashtag:local", "direct"):
            command = {"type": "subscribe", "stream": stream, "tag": "trio"}
            await ws.send_message(json.dumps(command))
        await _settle()
        await follow(client, ben, ann)
        plain = await post(client, ben, "words only #trio")
        pictured = await post(client, ben, "a picture", media_ids=[media_id])
        secret = await post(client, ben, "@ann just us", visibility="direct")
        note = remote.note(
            bob,
            content="<p>from afar #trio</p>",
            tag=[{"type": "Hashtag", "name": "#trio", "href": "http://127.0.0.1/tags/trio"}],
        )
        create = remote.activity(bob, "Create", note)
        assert await _post(live_server, rt, create, bob.key_id, bob.private_pem) == 202
        attachment = {
            "type": "Document",
            "mediaType": "image/png",
            "url": f"{bob.uri}/files/pic.png",
            "name": "a picture from afar",
        }
        pictured_note = remote.note(bob, content="<p>seen from afar</p>", attachment=[attachment])
        create = remote.activity(bob, "Create", pictured_note)
        assert await _post(live_server, rt, create, bob.key_id, bob.private_pem) == 202
        await _until(got["remote"], 2)
        await _until(got["remote_media"], 1)
        wire: list[dict[str, Any]] = []
        with trio.move_on_after(2):
            while True:
                wire.append(json.loads(await ws.get_message()))
        nursery.cancel_scope.cancel()

    assert _ids(got["local_media"]) == [pictured["id"]]
    # Local and remote statuses with media, nothing else.
    # (The inbox may take the two remote posts in either order.)
    assert sorted(d["uri"] for e, d in got["media"] if e == "update") == sorted(
        [pictured["uri"], pictured_note["id"]]
    )
    remote_uris = sorted(d["uri"] for e, d in got["remote"] if e == "update")
    assert remote_uris == sorted([note["id"], pictured_note["id"]])
    assert [d["uri"] for e, d in got["remote_media"] if e == "update"] == [pictured_note["id"]]
    assert _ids(got["tag_local"]) == [plain["id"]]  # the remote #trio is not local
    # A `direct` stream hears of conversations, not of bare statuses (as Mastodon's).
    conversation = [d for e, d in got["direct"] if e == "conversation"]
    assert [c["last_status"]["id"] for c in conversation] == [secret["id"]]
    assert [a["acct"] for a in conversation[0]["accounts"]] == ["ben"]
    assert conversation[0]["unread"] is True and _ids(got["direct"]) == []
    notified = [d["type"] for e, d in got["notification"] if e == "notification"]
    # The direct mention from a stranger waits as a notification request (Mastodon's
    # default policy); the follow is notified.
    assert notified == ["follow"]
    on_the_wire = {
        (tuple(m["stream"]), json.loads(m["payload"]).get("id"))
        for m in wire
        if m.get("event") == "update"
    }
    assert (("public:media",), pictured["id"]) in on_the_wire
    assert (("hashtag:local", "trio"), plain["id"]) in on_the_wire
    assert any(m.get("event") == "conversation" and m["stream"] == ["direct"] for m in wire)
    assert any(stream == ("public:remote:media",) for stream, _ in on_the_wire)
