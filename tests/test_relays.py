"""ActivityPub relays against a small relay on 127.0.0.1 and two live instances: the admin
adds a relay on the admin page, the relay accepts the Follow (Mastodon's style: of the
Public collection, at its inbox; LitePub's: of its actor), our public posts reach it, and
what it relays from the second instance (a forwarded, LD-signed Create; an Announce)
appears on ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.peers import Instance, eventually, peer_config
from tests.fakes.remote import RemoteActor, RemoteServer, deliver, wait_for
from tests.social import User, get, make_user, post
from tests.web_helpers import html_of, local_user, log_in, submit
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.serializers.activitypub import AS_PUBLIC

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def _state(side: Instance, inbox: str) -> str | None:
    rows = await side.rt.store.read(
        lambda conn: conn.fetch("SELECT state FROM relays WHERE inbox_url = $1", inbox)
    )
    return str(rows[0]["state"]) if rows else None


async def join(
    side: Instance, relay: RemoteServer, actor: RemoteActor, address: str, style: str
) -> dict[str, Any]:
    """An admin of `side` adds the relay on the admin page; the relay accepts the Follow it
    receives; the Follow."""
    await local_user(side.rt, "boss", role="admin")
    await log_in(side.client, "boss")
    response = await submit(
        side.client, "/admin/relays", "/admin/relays", {"address": address, "style": style}
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    instance_actor = f"{side.rt.config.base_url}/actor"

    def follow() -> Any:
        return next(
            (
                r
                for r in relay.received
                if r.activity.get("type") == "Follow" and r.activity["actor"] == instance_actor
            ),
            None,
        )

    await wait_for(lambda: follow() is not None)
    request = follow()
    sent, inbox = request.activity, request.url
    assert await _state(side, inbox) == "pending"
    assert "pending" in await html_of(side.client, "/admin/relays")
    accept = relay.activity(actor, "Accept", sent)
    assert await deliver(side.client, side.rt, actor, accept) == 202
    await eventually(lambda: _is(_state(side, inbox), "accepted"), "the relay's Accept")
    assert "accepted" in await html_of(side.client, "/admin/relays")
    return sent


async def _is(read: Any, value: str) -> bool:
    return bool(await read == value)


def _creates(relay: RemoteServer, text: str) -> list[dict[str, Any]]:
    return [
        r.activity
        for r in relay.received
        if r.activity.get("type") == "Create" and text in json.dumps(r.activity)
    ]


async def _on_public_timeline(side: Instance, viewer: User, uri: str) -> dict[str, Any] | None:
    code, found = await get(side.client, viewer, "/api/v1/timelines/public?limit=40")
    assert code == 200
    return next((s for s in found if s["uri"] == uri), None)


async def _people(
    a: Instance, b: Instance, remote: RemoteServer, name: str
) -> tuple[User, User, RemoteActor]:
    """alice on A, bob on B, and the relay's actor."""
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    return alice, bob, remote.actor(name, actor_type="Application")


async def test_a_mastodon_style_relay_carries_posts_both_ways(
    a: Instance, b: Instance, remote: RemoteServer
) -> None:
    alice, bob, relay = await _people(a, b, remote, "relay")
    follow = await join(a, remote, relay, f"{remote.base}/inbox", "mastodon")
    assert follow["object"] == AS_PUBLIC
    await join(b, remote, relay, f"{remote.base}/inbox", "mastodon")

    # Our public post reaches the relay (a followers-only one does not).
    mine = await post(a.client, alice, "Hello relay from A")
    await post(a.client, alice, "Only for followers", visibility="private")
    await wait_for(lambda: bool(_creates(remote, "Hello relay from A")))
    assert _creates(remote, "Hello relay from A")[0]["object"]["id"] == mine["uri"]
    assert _creates(remote, "Only for followers") == []

    # B's public post reaches the relay, LD-signed; the relay forwards it to A as it came,
    # signed over HTTP by the relay: nobody on A follows bob, yet it is taken in.
    theirs = await post(b.client, bob, "Relayed from B")
    await wait_for(lambda: bool(_creates(remote, "Relayed from B")))
    (create,) = _creates(remote, "Relayed from B")
    assert "signature" in create
    assert await deliver(a.client, a.rt, relay, create) == 202
    seen = await eventually(
        lambda: _on_public_timeline(a, alice, theirs["uri"]), "the relayed post on A"
    )
    assert seen["account"]["acct"] == f"bob@{b.host}"
    assert seen["reblog"] is None

    # Removing the relay sends the Undo of our Follow; nothing more goes to it.
    await log_in(a.client, "boss")
    relay_id = await a.rt.store.read(lambda conn: conn.fetchval("SELECT id FROM relays"))
    response = await submit(a.client, "/admin/relays", f"/admin/relays/{relay_id}/delete", {})
    assert response.status_code == 303
    await wait_for(
        lambda: any(
            r.activity.get("type") == "Undo" and r.activity["object"]["id"] == follow["id"]
            for r in remote.received
        )
    )
    logged = await a.rt.store.read(
        lambda conn: conn.fetch(
            "SELECT action FROM admin_action_logs WHERE target_type = 'Relay' ORDER BY id"
        )
    )
    assert [r["action"] for r in logged] == ["create", "destroy"]


async def test_a_litepub_relay_is_followed_as_an_actor_and_its_announces_bring_posts(
    a: Instance, b: Instance, remote: RemoteServer
) -> None:
    alice, bob, relay = await _people(a, b, remote, "litepub")
    follow = await join(a, remote, relay, relay.uri, "litepub")
    assert follow["object"] == relay.uri
    assert remote.received[0].url == f"{relay.uri}/inbox"

    mine = await post(a.client, alice, "Hello LitePub")
    await wait_for(lambda: bool(_creates(remote, "Hello LitePub")))
    assert _creates(remote, "Hello LitePub")[0]["object"]["id"] == mine["uri"]

    # The relay announces bob's post on B: A fetches it from B; no boost by the relay.
    theirs = await post(b.client, bob, "Announced by the relay")
    announce = remote.activity(relay, "Announce", theirs["uri"], to=[AS_PUBLIC])
    assert await deliver(a.client, a.rt, relay, announce) == 202
    seen = await eventually(
        lambda: _on_public_timeline(a, alice, theirs["uri"]), "the announced post on A"
    )
    assert seen["account"]["acct"] == f"bob@{b.host}"
    code, statuses = await get(a.client, alice, "/api/v1/timelines/public?limit=40")
    assert code == 200
    assert not any(s["reblog"] for s in statuses)


async def test_a_relay_that_rejects_us_gets_nothing(a: Instance, remote: RemoteServer) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    relay = remote.actor("closed", actor_type="Application")
    await local_user(a.rt, "boss", role="admin")
    await log_in(a.client, "boss")
    inbox = f"{remote.base}/inbox"
    response = await submit(
        a.client, "/admin/relays", "/admin/relays", {"address": inbox, "style": "mastodon"}
    )
    assert response.status_code == 303
    await wait_for(lambda: bool(remote.of_type("Follow")))
    (follow,) = remote.of_type("Follow")
    reject = remote.activity(relay, "Reject", follow.activity["id"])
    assert await deliver(a.client, a.rt, relay, reject) == 202
    await eventually(lambda: _is(_state(a, inbox), "rejected"), "the relay's Reject")
    assert "rejected" in await html_of(a.client, "/admin/relays")
    await post(a.client, alice, "Not for that relay")
    # Once the post's event is dispatched and its deliveries are done, the relay has none.
    await eventually(lambda: _settled(a), "the post's deliveries done")
    assert _creates(remote, "Not for that relay") == []


async def _settled(side: Instance) -> bool:
    """Whether every outbox event went out and every delivery job is done."""

    async def unit(conn: Any) -> int:
        events = await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL")
        jobs = await conn.fetchval("SELECT COUNT(*) FROM jobs WHERE kind = $1", DELIVER.name)
        return int(events) + int(jobs)

    return await side.rt.store.read(unit) == 0


async def test_only_admins_manage_relays(a: Instance, remote: RemoteServer) -> None:
    await local_user(a.rt, "mia", role="moderator")
    await log_in(a.client, "mia")
    await html_of(a.client, "/admin/relays", 403)
    await local_user(a.rt, "boss", role="admin")
    await log_in(a.client, "boss")
    response = await submit(
        a.client, "/admin/relays", "/admin/relays", {"address": "ftp://x", "style": "mastodon"}
    )
    assert response.status_code == 422
    assert await a.rt.store.read(lambda conn: conn.fetch("SELECT id FROM relays")) == []
