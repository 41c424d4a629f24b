"""Statuses reach live streams as Mastodon sends them; visibility and blocks hold there too."""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio

from tests.social import act, follow, make_user, post
from wildebeest_trio.runtime import Runtime


async def _collect(
    base: str,
    path: str,
    token: str,
    into: list[tuple[str, Any]],
    ready: trio.Event,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Read an SSE stream into `into` as (event, data) pairs until cancelled."""
    path, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    params["access_token"] = token
    async with (
        httpx.AsyncClient(base_url=base, timeout=None) as client,
        client.stream("GET", path, params=params) as response,
    ):
        assert response.status_code == 200
        event = None
        async for line in response.aiter_lines():
            if line == ":)":
                ready.set()
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                data = line[6:]
                into.append((event, json.loads(data) if data.startswith("{") else data))


async def _open(nursery: trio.Nursery, base: str, path: str, token: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    ready = trio.Event()
    nursery.start_soon(_collect, base, path, token, events, ready)
    with trio.fail_after(5):
        await ready.wait()
    return events


async def _settle() -> None:
    await trio.sleep(0.5)


async def test_statuses_reach_the_right_streams(rt: Runtime, client: Any, live_server: str) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await follow(client, bob, alice)
    status, _ = await act(client, carol, f"/api/v1/accounts/{alice.id}/block")
    assert status == 200
    async with trio.open_nursery() as nursery:
        public = await _open(nursery, live_server, "/api/v1/streaming/public/local", bob.token)
        bob_home = await _open(nursery, live_server, "/api/v1/streaming/user", bob.token)
        carol_public = await _open(nursery, live_server, "/api/v1/streaming/public", carol.token)
        tagged = await _open(
            nursery, live_server, "/api/v1/streaming/hashtag?tag=Wildebeest", carol.token
        )
        hello = await post(client, alice, "Hello #wildebeest")
        secret = await post(client, alice, "followers only", visibility="private")
        await post(client, bob, "bob says hi #wildebeest")
        edited = await client.put(
            f"/api/v1/statuses/{hello['id']}",
            headers=alice.headers,
            json={"status": "Hello again #wildebeest"},
        )
        assert edited.status_code == 200
        deleted = await client.delete(f"/api/v1/statuses/{secret['id']}", headers=alice.headers)
        assert deleted.status_code == 200
        await _settle()
        nursery.cancel_scope.cancel()
    public_ids = [(e, d["id"] if isinstance(d, dict) else d) for e, d in public]
    assert ("update", hello["id"]) in public_ids
    assert ("status.update", hello["id"]) in public_ids
    assert all(d != secret["id"] for _, d in public_ids if _ == "update")
    home_ids = [(e, d["id"] if isinstance(d, dict) else d) for e, d in bob_home]
    assert ("update", hello["id"]) in home_ids
    assert ("update", secret["id"]) in home_ids  # bob follows alice
    assert ("delete", secret["id"]) in home_ids
    # carol blocks alice: nothing of alice's reaches carol, bob's post does.
    carol_authors = {d["account"]["username"] for e, d in carol_public if e == "update"}
    assert carol_authors == {"bob"}
    assert {d["account"]["username"] for e, d in tagged if e == "update"} == {"bob"}
    payload = next(d for e, d in public if e == "update")
    # The same anonymous rendering for every reader, as Mastodon sends it.
    assert "favourited" not in payload and payload["content"].startswith("<p>Hello")


def _mastodon_py_listener(base: str, token: str, received: list[Any], stop: Any) -> None:
    from mastodon import Mastodon, StreamListener

    class Listener(StreamListener):
        def on_update(self, status: Any) -> None:
            received.append(status)
            stop.set()

    api = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
    handle = api.stream_public(Listener(), run_async=True, local=True, reconnect_async=False)
    stop.wait(10)
    handle.close()


async def test_mastodon_py_stream_listener(rt: Runtime, client: Any, live_server: str) -> None:
    import threading

    alice = await make_user(rt, client, "alice")
    received: list[Any] = []
    stop = threading.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            trio.to_thread.run_sync, _mastodon_py_listener, live_server, alice.token, received, stop
        )
        with trio.fail_after(10):  # until the listener has subscribed, however loaded the machine
            while rt.streams.connections() == 0:
                await trio.sleep(0.05)
        posted = await post(client, alice, "streamed to Mastodon.py")
    assert [s["id"] for s in received] == [int(posted["id"])] or [
        str(s["id"]) for s in received
    ] == [posted["id"]]
