"""Fake remote servers for the outbound federation tests.

One QuartTrio app listens on many ports, each port standing for one remote host. Every
POST is checked as Mastodon checks it (cavage or RFC 9421 signature with the sender's
public key, digest, date) and recorded with the host (port) and path it reached.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.signatures import SignatureError, parse_signature, verify_request
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import follows as follow_rows


@dataclass
class Delivery:
    """One POST a fake host accepted."""

    port: int
    path: str
    activity: dict[str, Any]
    key_id: str


@dataclass
class FakeHosts:
    """Many fake remote hosts served by one app; the keys they trust are given by the test."""

    ports: list[int] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # key id -> public PEM
    received: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    #: Ports answering this status instead of accepting.
    failing: dict[int, int] = field(default_factory=dict)
    #: POSTs that reached each port, answered or not.
    attempts: dict[int, int] = field(default_factory=dict)
    #: Documents served on GET, by port and path (WebFinger answers, actors).
    documents: dict[tuple[int, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    #: Seconds each accepted POST waits before answering (to catch a sender mid-fan-out).
    delay: float = 0.0

    def base(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def at(self, index: int, path: str | None = None) -> list[Delivery]:
        port = self.ports[index]
        return [d for d in self.received if d.port == port and (path is None or d.path == path)]

    def of_type(self, kind: str) -> list[Delivery]:
        return [d for d in self.received if d.activity.get("type") == kind]


def make_app(hosts: FakeHosts) -> QuartTrio:
    app = QuartTrio("fake-hosts")

    @app.route("/inbox", methods=["POST"])
    @app.route("/users/<name>/inbox", methods=["POST"])
    async def inbox(name: str | None = None) -> Response:
        body = await request.get_data()
        headers = list(request.headers.items())
        port = int(request.host.rsplit(":", 1)[1])
        hosts.attempts[port] = hosts.attempts.get(port, 0) + 1
        if port in hosts.failing:
            return Response("", status=hosts.failing[port])
        try:
            info = parse_signature("POST", request.path, headers)
            pem = hosts.keys.get(info.key_id)
            if pem is None:
                raise SignatureError(f"unknown key {info.key_id}")
            verify_request("POST", request.path, headers, body, public_key=pem)
        except SignatureError as exc:
            hosts.refused.append(str(exc))
            return Response(str(exc), status=401)
        if hosts.delay:
            await trio.sleep(hosts.delay)
        hosts.received.append(Delivery(port, request.path, json.loads(body), info.key_id))
        return Response("", status=202)

    @app.route("/<path:path>", methods=["GET"])
    async def document(path: str) -> Response:
        port = int(request.host.rsplit(":", 1)[1])
        found = hosts.documents.get((port, f"/{path}"))
        if found is None:
            return Response("", status=404)
        content_type, body = found
        return Response(json.dumps(body), content_type=content_type)

    return app


def distinct_ports(count: int) -> list[int]:
    """`count` free ports, all different (each socket held until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


async def start_hosts(nursery: trio.Nursery, count: int) -> FakeHosts:
    """Serve `count` fake hosts from one app; the state they share."""
    hosts = FakeHosts(ports=distinct_ports(count))
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{p}" for p in hosts.ports]
    config.accesslog = None
    config.errorlog = None
    await nursery.start(serve, make_app(hosts), config)
    return hosts


async def trust_local_key(rt: Runtime, hosts: FakeHosts, username: str) -> str:
    """Let the fake hosts verify a local account's signatures; its public PEM."""
    row = await rt.store.read(account_rows.local_actor, username)
    assert row is not None
    hosts.keys[f"{row['uri']}#main-key"] = row["public_key_pem"]
    return str(row["public_key_pem"])


async def remote_account(
    rt: Runtime,
    hosts: FakeHosts,
    index: int,
    username: str,
    *,
    shared_inbox: bool = True,
    domain: str | None = None,
    key: tuple[str, str] | None = None,
) -> int:
    """A remote account living on fake host `index`; its id."""
    base = hosts.base(index)
    uri = f"{base}/users/{username}"
    account = {
        "id": rt.ids.next_id(),
        "uri": uri,
        "username": username,
        "domain": domain or f"h{index}.test",
        "url": uri,
        "actor_type": "Person",
        "display_name": username,
        "note": "",
        "fields": "[]",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "inbox_url": f"{uri}/inbox",
        "shared_inbox_url": f"{base}/inbox" if shared_inbox else None,
        "outbox_url": f"{uri}/outbox",
        "followers_url": f"{uri}/followers",
        "following_url": f"{uri}/following",
        "featured_url": None,
        "avatar_remote_url": None,
        "header_remote_url": None,
        "also_known_as": "[]",
    }

    async def unit(conn: Connection) -> int:
        return await account_rows.upsert_remote_actor(
            conn,
            account,
            f"{uri}#main-key" if key else None,
            key[1] if key else None,
            rt.ids.next_id(),
            now_ms(),
        )

    return int(await rt.store.write(unit))


async def add_follower(rt: Runtime, follower_id: int, target_id: int) -> None:
    """Record that an account follows another (as an accepted inbound Follow would)."""

    async def unit(conn: Connection) -> None:
        await follow_rows.insert_follow(
            conn,
            {
                "id": rt.ids.next_id(),
                "account_id": follower_id,
                "target_account_id": target_id,
                "uri": None,
                "show_reblogs": True,
                "notify": False,
                "created_at": now_ms(),
            },
        )

    await rt.store.write(unit)


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    """Poll until `predicate()` is true (deliveries are asynchronous)."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.02)
