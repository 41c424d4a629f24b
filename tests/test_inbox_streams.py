"""Remote posts reach live streams like local ones, on a live server whose job workers
apply what its inbox accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer, signed_headers
from tests.fakes.rows import accept_our_request, account_id_of
from tests.social import act, make_user
from tests.test_streaming_statuses import _open
from wildebeest_trio.config import Config
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # The fake remote server listens on 127.0.0.1.
    return make_config(tmp_path, database_url, allow_private_addresses=True)


async def _post(base: str, rt: Runtime, activity: dict[str, Any], key_id: str, pem: str) -> int:
    body = json.dumps(activity).encode()
    headers = signed_headers(rt, "/inbox", body, key_id, pem)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base}/inbox", content=body, headers=headers)
    return response.status_code


async def _until(events: list[tuple[str, Any]], count: int) -> None:
    with trio.fail_after(10):
        while len(events) < count:
            await trio.sleep(0.05)


async def test_remote_posts_and_deletes_reach_streams(
    rt: Runtime, client: Any, live_server: str, remote: RemoteServer
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = remote.actor("bob")
    await refresh_actor(rt, bob.uri)
    bob_id = await account_id_of(rt, bob.uri)
    status, _ = await act(client, alice, f"/api/v1/accounts/{bob_id}/follow")
    assert status == 200
    await accept_our_request(rt, int(alice.id), bob_id)
    async with trio.open_nursery() as nursery:
        home = await _open(nursery, live_server, "/api/v1/streaming/user", alice.token)
        remote_public = await _open(
            nursery, live_server, "/api/v1/streaming/public/remote", alice.token
        )
        note = remote.note(bob, content="<p>live from afar</p>")
        create = remote.activity(bob, "Create", note)
        assert await _post(live_server, rt, create, bob.key_id, bob.private_pem) == 202
        await _until(home, 1)
        await _until(remote_public, 1)
        event, payload = home[0]
        assert event == "update"
        assert payload["uri"] == note["id"] and payload["content"] == "<p>live from afar</p>"
        assert remote_public[0][1]["uri"] == note["id"]
        delete = remote.activity(bob, "Delete", {"id": note["id"], "type": "Tombstone"})
        assert await _post(live_server, rt, delete, bob.key_id, bob.private_pem) == 202
        await _until(home, 2)
        assert home[1] == ("delete", payload["id"])
        nursery.cancel_scope.cancel()
