"""Fake remote servers for the inbox tests: actors with real keys, notes to fetch, and
signed deliveries to the instance under test."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response
from quart_trio import QuartTrio

from tests.conftest import free_port, make_config
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.inbox_consumer import apply_due
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.signatures import generate_rsa_keypair, sign_request
from wildebeest_trio.store import Connection

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
CONTEXT = [AS, "https://w3id.org/security/v1"]


@dataclass
class RemoteActor:
    """An actor on a fake server, with its private key."""

    uri: str
    name: str
    private_pem: str
    host: str

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def followers(self) -> str:
        return f"{self.uri}/followers"


@dataclass
class RemoteServer:
    """One HTTP server answering for documents on one or more origins (same port)."""

    port: int
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    unavailable: set[str] = field(default_factory=set)  # ids answered with 503
    hanging: set[str] = field(default_factory=set)  # ids never answered while listed
    fetches: Counter[str] = field(default_factory=Counter)  # GETs per URL
    counter: int = 0

    def origin(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def put(self, document: dict[str, Any]) -> dict[str, Any]:
        """Serve a document at its id."""
        self.documents[document["id"]] = document
        return document

    def actor(
        self,
        name: str,
        *,
        host: str = "127.0.0.1",
        locked: bool = False,
        also_known_as: list[str] | None = None,
        actor_type: str = "Person",
        summary: str = "",
    ) -> RemoteActor:
        private_pem, public_pem = generate_rsa_keypair()
        origin = self.origin(host)
        uri = f"{origin}/users/{name}"
        self.put(
            {
                "@context": CONTEXT,
                "id": uri,
                "type": actor_type,
                "preferredUsername": name,
                "name": name.title(),
                "summary": summary,
                "inbox": f"{uri}/inbox",
                "outbox": f"{uri}/outbox",
                "followers": f"{uri}/followers",
                "following": f"{uri}/following",
                "endpoints": {"sharedInbox": f"{origin}/inbox"},
                "manuallyApprovesFollowers": locked,
                "alsoKnownAs": also_known_as or [],
                "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
            }
        )
        return RemoteActor(uri, name, private_pem, f"{host}:{self.port}")

    def next_id(self, actor: RemoteActor, kind: str) -> str:
        self.counter += 1
        return f"{actor.uri}/{kind}/{self.counter}"

    def note(
        self, actor: RemoteActor, content: str = "<p>Hello</p>", **extra: Any
    ) -> dict[str, Any]:
        """A public Note by `actor` (served, so it can be fetched)."""
        note_id = self.next_id(actor, "statuses")
        note: dict[str, Any] = {
            "id": note_id,
            "type": "Note",
            "attributedTo": actor.uri,
            "content": content,
            "published": "2026-01-01T00:00:00Z",
            "to": [PUBLIC],
            "cc": [actor.followers],
            "url": note_id,
        }
        note.update(extra)
        return self.put(note)

    def activity(self, actor: RemoteActor, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": CONTEXT,
            "id": self.next_id(actor, "activities"),
            "type": kind,
            "actor": actor.uri,
            "object": obj,
            **extra,
        }


@pytest.fixture
async def remote(nursery: trio.Nursery) -> AsyncIterator[RemoteServer]:
    """A fake remote server serving its documents as ActivityStreams JSON."""
    port = free_port()
    state = RemoteServer(port)
    app = QuartTrio("remote")

    @app.route("/<path:path>", methods=["GET"])
    async def document(path: str) -> Response:
        from quart import request

        url = f"http://{request.headers.get('Host')}/{path}"
        state.fetches[url] += 1
        while url in state.hanging:
            await trio.sleep(0.05)
        if url in state.unavailable:
            return Response("", status=503)
        found = state.documents.get(url)
        if found is None:
            return Response("", status=404)
        return Response(json.dumps(found), content_type="application/activity+json")

    @app.route("/<path:path>", methods=["POST"])
    async def inbox(path: str) -> Response:
        return Response("", status=202)

    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    await nursery.start(serve, app, config)
    yield state


@pytest.fixture
async def local(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    """The instance under test, allowed to fetch from 127.0.0.1 (the fake remotes)."""
    from wildebeest_trio.federation.instance_actor import ensure_instance_actor

    config = make_config(tmp_path, database_url, allow_private_addresses=True)
    async with open_server_runtime(config) as rt:
        await ensure_instance_actor(rt)
        yield rt


@pytest.fixture
async def api(local: Runtime) -> AsyncIterator[Any]:
    """A test client of the instance under test."""
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    await ensure_instance_keys(local)
    app = create_app(local)
    async with app.test_app() as test_app:
        yield test_app.test_client()


def signed_headers(
    rt: Runtime, path: str, body: bytes, key_id: str, private_pem: str, **options: Any
) -> dict[str, str]:
    url = f"{rt.config.base_url}{path}"
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        sign_request("POST", url, headers, body, key_id=key_id, private_key=private_pem, **options)
    )
    return headers


async def deliver(
    client: Any,
    rt: Runtime,
    actor: RemoteActor,
    activity: dict[str, Any],
    *,
    path: str = "/inbox",
    signer: RemoteActor | None = None,
    **options: Any,
) -> int:
    """POST an activity signed by `signer` (default: its actor); the status code."""
    body = json.dumps(activity).encode()
    by = signer or actor
    headers = signed_headers(rt, path, body, by.key_id, by.private_pem, **options)
    response = await client.post(path, data=body, headers=headers)
    return int(response.status_code)


async def drain(rt: Runtime) -> int:
    """Apply every due inbox job now (as the inbox consumer would); how many ran."""
    ran = 0
    while claimed := await apply_due(rt, "test", limit=10):
        ran += claimed
    return ran


async def rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(sql, *args)]

    return await rt.store.read(unit)


async def account_id_of(rt: Runtime, uri: str) -> int:
    found = await rows(rt, "SELECT id FROM accounts WHERE uri = $1", uri)
    assert found, uri
    return int(found[0]["id"])
