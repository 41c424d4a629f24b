"""Streaming: SSE and the multiplexed WebSocket against a live server; events across processes."""

from __future__ import annotations

import array
import fcntl
import json
import termios
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket_url
from wsproto.frame_protocol import FrameProtocol, Opcode

from tests.oauth_flow import register_app, token_for
from wildebeest_trio.http.ws_direct import DirectFrames
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.streaming.hub import QUEUE_SIZE, StreamHub, StreamMessage, Subscription
from wildebeest_trio.streaming.relay import publish

PASSWORD = "correct horse battery"


async def _token(rt: Runtime, scope: str = "read") -> str:
    from wildebeest_trio.http import create_app

    await create_local_account(rt, "streamer", "s@example.org", password=PASSWORD)
    app = create_app(rt)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        registered = await register_app(client, scopes="read write")
        return await token_for(client, registered, "s@example.org", PASSWORD, scope=scope)


def test_hub_fans_out_and_cuts_off_slow_readers() -> None:
    hub = StreamHub()
    fast, slow = Subscription(), Subscription()
    hub.subscribe(fast, "timeline:public", ["public"])
    hub.subscribe(slow, "timeline:public", ["public"])
    for i in range(300):
        hub.publish_local("timeline:public", "update", str(i))
        if i < 250:
            fast.receive.receive_nowait()
    assert slow.overflowed and not fast.overflowed
    hub.drop(fast)
    hub.drop(slow)
    assert hub.connections() == 0


async def test_sse_stream_gets_events(rt: Runtime, live_server: str) -> None:
    token = await _token(rt)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as client:
        health = await client.get("/api/v1/streaming/health")
        assert health.text == "OK"
        assert (await client.get("/api/v1/streaming/public")).status_code == 401
        async with client.stream(
            "GET", "/api/v1/streaming/public/local", params={"access_token": token}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "private, no-store"
            lines = response.aiter_lines()
            assert await lines.__anext__() == ":)"
            await publish(rt, "timeline:public:local", "update", json.dumps({"id": "1"}))
            await publish(rt, "timeline:public", "update", json.dumps({"id": "other"}))
            await publish(rt, "timeline:public:local", "delete", "1")
            seen = []
            with trio.fail_after(5):
                async for line in lines:
                    if line:
                        seen.append(line)
                    if len(seen) == 4:
                        break
            assert seen == ["event: update", 'data: {"id": "1"}', "event: delete", "data: 1"]


async def test_websocket_multiplexing(rt: Runtime, live_server: str) -> None:
    token = await _token(rt)
    url = live_server.replace("http://", "ws://") + "/api/v1/streaming"
    # masto.js sends the token as the subprotocol and needs it echoed.
    async with open_websocket_url(url, subprotocols=[token]) as ws:
        assert ws.subprotocol == token
        await ws.send_message(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Trio"}))
        await ws.send_message(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        error = json.loads(await ws.get_message())
        assert error == {"error": "Unknown stream type", "status": 400}
        await trio.sleep(0.1)
        await publish(rt, "timeline:hashtag:trio", "update", json.dumps({"id": "9"}))
        with trio.fail_after(5):
            message = json.loads(await ws.get_message())
        assert message["stream"] == ["hashtag", "Trio"]
        assert message["event"] == "update"
        assert json.loads(message["payload"]) == {"id": "9"}
    async with open_websocket_url(f"{url}?access_token={token}&stream=user") as ws:
        await trio.sleep(0.1)
        account = rt.streams  # the user stream of the token's account
        assert account.connections() == 1
    with pytest.raises(ConnectionRejected) as rejected:
        async with open_websocket_url(f"{url}?access_token=wrong"):
            pass
    assert rejected.value.status_code == 401


async def test_scopes_decide_the_streams(rt: Runtime, live_server: str) -> None:
    token = await _token(rt, scope="write")
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as client:
        response = await client.get(
            "/api/v1/streaming/user", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert "scopes" in response.json()["error"]


async def test_events_cross_processes(rt: Runtime, tmp_path: Any, nursery: trio.Nursery) -> None:
    """A second process's publish reaches this process's streams (PostgreSQL LISTEN/NOTIFY)."""
    if rt.store.dialect != "postgres":
        pytest.skip("on SQLite one process serves every stream")
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.streaming.relay import run_relay

    await nursery.start(run_relay, rt)
    subscription = Subscription()
    rt.streams.subscribe(subscription, "timeline:public", ["public"])
    other_config = make_config(tmp_path / "other", rt.config.database_url)
    async with open_server_runtime(other_config, migrate=False) as other:
        await publish(other, "timeline:public", "update", "small")
        await publish(other, "timeline:public", "update", "x" * 20_000)  # parked by reference
    with trio.fail_after(10):
        first = await subscription.receive.receive()
        second = await subscription.receive.receive()
    assert (first.event, first.payload) == ("update", "small")
    assert second.payload == "x" * 20_000
    assert other.streams.connections() == 0


def test_websocket_bytes_are_the_frame_of_the_message() -> None:
    """The pre-encoded frame a stream writes to every connection parses as that message."""
    for size in (10, 200, 70_000):  # the three length encodings
        message = StreamMessage(["hashtag", "Trio"], "update", json.dumps({"id": "x" * size}))
        client = FrameProtocol(client=True, extensions=[])
        client.receive_bytes(message.websocket_bytes())
        frames = list(client.received_frames())
        assert [(f.opcode, f.frame_finished, f.message_finished) for f in frames] == [
            (Opcode.TEXT, True, True)
        ]
        assert frames[0].payload == message.websocket_frame()


async def _raw_websocket(base: str, path: str, *, receive_buffer: int = 0) -> trio.SocketStream:
    """A WebSocket handshake on a bare socket (optionally with a tiny receive buffer)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sock = trio.socket.socket()
    if receive_buffer:
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, receive_buffer)
    await sock.connect((host, int(port)))
    stream = trio.SocketStream(sock)
    await stream.send_all(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(1)  # byte by byte: nothing after the head is read
    assert head.startswith(b"HTTP/1.1 101 ")
    return stream


async def test_a_reader_that_never_reads_delays_no_one(rt: Runtime, live_server: str) -> None:
    """One connection stops reading; a hundred others get every event at once regardless."""
    token = await _token(rt)
    path = f"/api/v1/streaming?access_token={token}&stream=public"
    url = live_server.replace("http://", "ws://") + path
    events, payload = 60, "y" * 5000  # 300 kB: far more than the stalled socket holds
    received = [0] * 100
    done = trio.Event()

    async def reader(i: int, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with open_websocket_url(url) as ws:
            task_status.started()
            while received[i] < events:
                message = json.loads(await ws.get_message())
                assert json.loads(message["payload"]) == {"n": received[i], "pad": payload}
                received[i] += 1
        if all(n == events for n in received):
            done.set()

    stalled = await _raw_websocket(live_server, path, receive_buffer=4096)
    async with stalled, trio.open_nursery() as nursery:
        for i in range(100):
            await nursery.start(reader, i)
        await trio.sleep(0.2)  # the last subscriptions are registered after the handshake
        for n in range(events):
            await publish(rt, "timeline:public", "update", json.dumps({"n": n, "pad": payload}))
        with trio.fail_after(20):
            await done.wait()
        # The stalled connection really was stuck: most of what was sent never reached it.
        queued = array.array("i", [0])
        fcntl.ioctl(stalled.socket.fileno(), termios.FIONREAD, queued)
        assert queued[0] < events * len(payload) / 2


async def test_a_reader_too_far_behind_is_cut_off(rt: Runtime, live_server: str) -> None:
    """A connection that stops reading is closed once its queue is full (even while a
    write to it is blocked), and the hub forgets it; ten others keep getting every
    event, in order."""
    token = await _token(rt)
    path = f"/api/v1/streaming?access_token={token}&stream=public"
    pad = "y" * 20_000
    got: list[list[int]] = [[] for _ in range(10)]

    async def reader(i: int, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        # Off a bare socket, all that has arrived at each read: these readers keep up.
        frames = FrameProtocol(client=True, extensions=[])
        async with await _raw_websocket(live_server, path) as stream:
            task_status.started()
            while data := await stream.receive_some(1 << 20):
                frames.receive_bytes(data)
                for frame in frames.received_frames():
                    if frame.opcode == Opcode.PING:
                        continue
                    assert frame.opcode == Opcode.TEXT and frame.message_finished
                    n = json.loads(json.loads(frame.payload)["payload"])["n"]
                    if n < 0:
                        return
                    got[i].append(n)

    stalled = await _raw_websocket(live_server, path, receive_buffer=4096)
    async with stalled:
        async with trio.open_nursery() as nursery:
            for i in range(10):
                await nursery.start(reader, i)
            await trio.sleep(0.2)  # the last subscriptions are registered after the handshake
            assert rt.streams.connections() == 11
            sent = 0
            with trio.fail_after(30):
                while rt.streams.connections() == 11:
                    body = json.dumps({"n": sent, "pad": pad})
                    await publish(rt, "timeline:public", "update", body)
                    sent += 1
                    await trio.lowlevel.checkpoint()  # the readers read as they go
            await publish(rt, "timeline:public", "update", json.dumps({"n": -1}))
        assert sent > QUEUE_SIZE
        assert got == [list(range(sent))] * 10
        # The server closed the stalled connection: reading it comes to an end.
        with trio.fail_after(10):
            try:
                while await stalled.receive_some(1 << 20):
                    pass
            except trio.BrokenResourceError:
                pass  # reset: it had not read what it was sent


async def test_frames_and_replies_interleave_whole(
    rt: Runtime, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events written straight to the socket and Hypercorn's own replies (errors for bad
    commands) share the connection without cutting into each other's frames."""
    written: list[bool] = []
    send, write_now = DirectFrames.send, DirectFrames.write_now

    async def counting_send(self: DirectFrames, frame: bytes) -> bool:
        ok = await send(self, frame)
        written.append(ok)
        return ok

    def counting_write_now(self: DirectFrames, frame: bytes, nursery: trio.Nursery) -> bool:
        ok = write_now(self, frame, nursery)
        if ok:  # one refused is queued and then sent
            written.append(ok)
        return ok

    monkeypatch.setattr(DirectFrames, "send", counting_send)
    monkeypatch.setattr(DirectFrames, "write_now", counting_write_now)
    token = await _token(rt)
    url = live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={token}"
    async with open_websocket_url(url + "&stream=public") as ws:
        await trio.sleep(0.1)
        async with trio.open_nursery() as nursery:
            for n in range(50):
                await ws.send_message(json.dumps({"type": "subscribe", "stream": "nonsense"}))
                nursery.start_soon(
                    publish,
                    rt,
                    "timeline:public",
                    "update",
                    json.dumps({"n": n, "pad": "z" * 3000}),
                )
        errors, updates = 0, []
        with trio.fail_after(10):
            while errors < 50 or len(updates) < 50:
                message = json.loads(await ws.get_message())
                if "error" in message:
                    assert message == {"error": "Unknown stream type", "status": 400}
                    errors += 1
                else:
                    updates.append(json.loads(message["payload"])["n"])
    assert sorted(updates) == list(range(50))
    # The events went the direct way: Hypercorn's internals are where this module expects.
    assert len(written) == 50 and all(written)
