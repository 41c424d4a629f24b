"""JSON nested too deep or too large, wherever it comes in: request bodies, inbox
deliveries, fetched documents, WebFinger, key sets and streaming commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import open_websocket_url

from tests.conftest import make_config
from tests.fakes.remote import AP, JRD, RemoteServer
from tests.social import make_user
from wildebeest_trio import jsonbounds
from wildebeest_trio.config import Config
from wildebeest_trio.federation.fetch import DocumentRefused, fetch_document
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.federation.lookup import LookupFailed, fetch_object, webfinger
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.access_jwt import AccessDenied, parse_jwks

pytest_plugins = ("tests.fakes.fixtures",)

# What the issue sent: ~1,100 levels of `[`, past Python's recursion limit.
VERY_DEEP = b"[" * 1100 + b"]" * 1100


def nested(levels: int, leaf: Any = 1) -> Any:
    """`levels` arrays around `leaf`, built without recursion."""
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def deep_text(levels: int) -> bytes:
    return b"[" * levels + b"1" + b"]" * levels


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # The hostile server (`remote`) listens on 127.0.0.1.
    return make_config(tmp_path, database_url, allow_private_addresses=True)


# The loader -------------------------------------------------------------------------------


def test_depth_is_bounded_as_rails_bounds_it() -> None:
    assert jsonbounds.loads(deep_text(100), max_bytes=10_000) == nested(100)
    assert jsonbounds.loads(deep_text(100).decode(), max_bytes=10_000) == nested(100)
    for refused in (deep_text(101), deep_text(101).decode(), VERY_DEEP, b"{" * 2000):
        with pytest.raises(jsonbounds.JsonRefused):
            jsonbounds.loads(refused, max_bytes=10_000)
    # Objects count as arrays do; brackets inside strings do not.
    deep_object = b'{"a":' * 101 + b"1" + b"}" * 101
    with pytest.raises(jsonbounds.JsonRefused):
        jsonbounds.loads(deep_object, max_bytes=10_000)
    brackets = json.dumps({"text": "[" * 5000}).encode()
    assert jsonbounds.loads(brackets, max_bytes=10_000) == {"text": "[" * 5000}
    assert jsonbounds.depth({"a": [1, {"b": []}], "c": 2}) == 4
    assert jsonbounds.depth("scalar") == 0


def test_size_and_malformed_input_are_refused() -> None:
    with pytest.raises(jsonbounds.JsonRefused, match="larger"):
        jsonbounds.loads(b"[" + b"1," * 600 + b"1]", max_bytes=1000)
    for bad in (b"", b"{", b"NaN", b'"\xff"', b'"\\ud800"', b"[1e400]"):
        with pytest.raises(ValueError):
            jsonbounds.loads(bad, max_bytes=1000)


# Requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/inbox", "/users/alice/inbox"])
async def test_deep_inbox_delivery_is_a_400(rt: Runtime, client: Any, path: str) -> None:
    await make_user(rt, client, "alice")
    for body in (VERY_DEEP, json.dumps({"actor": "x", "object": nested(150)}).encode()):
        response = await client.post(
            path, data=body, headers={"Content-Type": "application/activity+json"}
        )
        assert response.status_code == 400, await response.get_data(as_text=True)
        assert "error" in await response.get_json()


async def test_deep_api_bodies_are_a_400(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    for path in ("/api/v1/statuses", "/api/v2/filters", "/api/v1/apps"):
        for body in (
            VERY_DEEP,
            json.dumps({"status": "hi", "title": "t", "extra": nested(101)}).encode(),
        ):
            response = await client.post(
                path, data=body, headers={**alice.headers, "Content-Type": "application/json"}
            )
            assert response.status_code == 400, (path, await response.get_data(as_text=True))
            assert "error" in await response.get_json()
    # Within the bound the body is read as usual.
    response = await client.post(
        "/api/v1/statuses",
        data=json.dumps({"status": "hi", "extra": nested(90)}).encode(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200


async def test_deep_streaming_command_is_answered_malformed(
    rt: Runtime, client: Any, live_server: str
) -> None:
    alice = await make_user(rt, client, "alice")
    url = live_server.replace("http://", "ws://") + f"/api/v1/streaming?access_token={alice.token}"
    async with open_websocket_url(url) as ws:
        for command in (VERY_DEEP.decode(), json.dumps({"type": "subscribe", "x": nested(200)})):
            await ws.send_message(command)
            with trio.fail_after(5):
                answer = json.loads(await ws.get_message())
            assert answer == {"error": "Malformed message", "status": 400}
        # The connection still takes commands.
        await ws.send_message(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        with trio.fail_after(5):
            assert json.loads(await ws.get_message())["error"] == "Unknown stream type"


# Documents from other servers -------------------------------------------------------------


async def test_deep_fetched_documents_are_refused(rt: Runtime, remote: RemoteServer) -> None:
    await ensure_instance_actor(rt)  # fetches are signed with its key
    origin = remote.base
    shallow_enough = {"id": f"{origin}/deep", "type": "Note", "tag": nested(90)}
    too_deep = {**shallow_enough, "tag": nested(150)}
    remote.put_file(f"{origin}/deep", json.dumps(shallow_enough), AP)
    assert (await fetch_document(rt, f"{origin}/deep"))["type"] == "Note"
    assert (await fetch_object(rt, f"{origin}/deep"))["type"] == "Note"
    for body in (VERY_DEEP, json.dumps(too_deep).encode()):
        remote.put_file(f"{origin}/deep", body, AP)
        with pytest.raises(DocumentRefused):
            await fetch_document(rt, f"{origin}/deep")
        with pytest.raises(LookupFailed):
            await fetch_object(rt, f"{origin}/deep")
    remote.put_file(f"{origin}/.well-known/webfinger", VERY_DEEP, JRD)
    with pytest.raises(LookupFailed):
        await webfinger(rt, "bob", origin.removeprefix("http://"))


def test_deep_key_set_is_refused() -> None:
    for body in (VERY_DEEP, json.dumps({"keys": [nested(150)]}).encode()):
        with pytest.raises(AccessDenied):
            parse_jwks(body)
