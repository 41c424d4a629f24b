"""Followers synchronization (FEP-8fcf), as Mastodon does it: deliveries addressed to
followers carry `Collection-Synchronization` (the XOR of the SHA-256 of the follower URIs on
the receiving origin), `/users/<name>/followers_synchronization` serves a signed requester
the followers on its own origin, and a receiver whose digest differs fetches that and
repairs its follows. Two live instances (A on each backend, B on SQLite) and a fake peer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.instance import drain, queued_deliveries
from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config
from tests.fakes.remote import RemoteActor, RemoteServer, signed_headers
from tests.fakes.rows import account_id_of, add_follower, rows
from tests.social import User, get, make_user, post
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.federation.outbox import dispatch_pending
from wildebeest_trio.inbox.followers_sync import SYNCHRONIZE
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.signatures import sign_request
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)

AP = "application/activity+json"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


def xor_digest(uris: list[str]) -> str:
    total = bytearray(32)
    for uri in uris:
        for i, byte in enumerate(hashlib.sha256(uri.encode()).digest()):
            total[i] ^= byte
    return total.hex()


def header_params(value: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in value.split(", "))


async def test_a_lost_follow_is_repaired_between_two_instances(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    carol = await make_user(b.rt, b.client, "carol")
    remote_alice = await follow_accepted(b, bob, a, alice)
    await follow_accepted(b, carol, a, alice)
    # A loses bob's follow without telling B (a restore from an old backup, say).
    bob_on_a = await account_id_of(a.rt, f"{b.rt.config.base_url}/users/bob")

    async def forget(conn: Connection) -> None:
        await conn.execute("DELETE FROM follows WHERE account_id = $1", bob_on_a)

    await a.rt.store.write(forget)
    # alice's next followers-only post reaches carol with A's digest (carol alone), B sees
    # it differs, reads A's partial collection and drops the follow A no longer has.
    await post(a.client, alice, "For my followers", visibility="private")

    async def following() -> bool:
        _, rels = await get(
            b.client, bob, f"/api/v1/accounts/relationships?id[]={remote_alice['id']}"
        )
        return not rels[0]["following"]

    await eventually(following, "B dropping bob's follow of alice")
    # carol still follows, on both sides.
    code, found = await get(a.client, alice, f"/api/v1/accounts/{alice.id}/followers")
    assert code == 200 and [f["acct"] for f in found] == [f"carol@{b.host}"]


async def followed_from_two_origins(
    local: Runtime, api: Any, remote: RemoteServer
) -> tuple[User, RemoteActor, RemoteActor]:
    """alice, followed by bob (on 127.0.0.1) and carol (on localhost: another origin)."""
    alice = await make_user(local, api, "alice")
    bob, carol = remote.actor("bob"), remote.actor("carol", host="localhost")
    for actor in (bob, carol):
        await refresh_actor(local, actor.uri)
        await add_follower(local, await account_id_of(local, actor.uri), int(alice.id))
    return alice, bob, carol


async def test_followers_addressed_deliveries_carry_the_digest(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice, bob, carol = await followed_from_two_origins(local, api, remote)
    await post(api, alice, "Followers only", visibility="private")
    await post(api, alice, "Public", visibility="public")
    await dispatch_pending(local)
    jobs = await queued_deliveries(local)
    private, public = [
        [j for j in jobs if json.loads(j["body"])["object"]["content"] == c]
        for c in ("<p>Followers only</p>", "<p>Public</p>")
    ]
    alice_uri = f"{local.config.base_url}/users/alice"
    by_inbox = {
        j["inbox"]: header_params(j["headers"]["Collection-Synchronization"]) for j in private
    }
    # One shared inbox per origin (127.0.0.1 and localhost are two), each its own digest.
    assert by_inbox[f"{remote.origin(0)}/inbox"] == {
        "collectionId": f'"{alice_uri}/followers"',
        "digest": f'"{xor_digest([bob.uri])}"',
        "url": f'"{alice_uri}/followers_synchronization"',
    }
    localhost = f"{remote.origin(0, 'localhost')}/inbox"
    assert by_inbox[localhost]["digest"] == f'"{xor_digest([carol.uri])}"'
    # A public post is addressed to followers too (cc), but a follower the sender lost sees
    # nothing it should not: Mastodon synchronizes on followers-only posts alone.
    assert public and not any(
        "Collection-Synchronization" in (j.get("headers") or {}) for j in public
    )


async def test_the_partial_collection_is_served_to_its_origin_only(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    _, bob, _carol = await followed_from_two_origins(local, api, remote)
    path = "/users/alice/followers_synchronization"
    response = await api.get(path, headers={"Accept": AP})
    assert response.status_code == 401
    url = f"{local.config.base_url}{path}"
    headers = {"Accept": AP}
    headers.update(
        sign_request("GET", url, headers, None, key_id=bob.key_id, private_key=bob.private_pem)
    )
    response = await api.get(path, headers=headers)
    assert response.status_code == 200
    document = await response.get_json()
    assert document["type"] == "OrderedCollection"
    assert document["id"] == url
    assert document["orderedItems"] == [bob.uri]  # not carol: another origin


async def sync_delivery(
    api: Any, rt: Runtime, actor: RemoteActor, remote: RemoteServer, url: str, digest: str
) -> int:
    """Deliver a Like from `actor` with a Collection-Synchronization header."""
    activity = remote.activity(actor, "Like", f"{rt.config.base_url}/users/nobody/statuses/1")
    body = json.dumps(activity).encode()
    headers = signed_headers(rt, "/inbox", body, actor.key_id, actor.private_pem)
    headers["Collection-Synchronization"] = (
        f'collectionId="{actor.followers}", digest="{digest}", url="{url}"'
    )
    response = await api.post("/inbox", data=body, headers=headers)
    return int(response.status_code)


async def test_receiving_a_digest_that_differs_repairs_the_follows(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice, dave, erin = [await make_user(local, api, n) for n in ("alice", "dave", "erin")]
    carol = remote.actor("carol")
    await refresh_actor(local, carol.uri)
    carol_id = await account_id_of(local, carol.uri)
    # alice follows carol here; carol's server lost it. dave has no follow here but carol's
    # server has one; erin's request was accepted there but the Accept never came.
    await add_follower(local, int(alice.id), carol_id)
    response = await api.post(f"/api/v1/accounts/{carol_id}/follow", headers=erin.headers)
    assert response.status_code == 200
    base = local.config.base_url
    partial = remote.put(
        {
            "id": f"{carol.uri}/followers_synchronization",
            "type": "OrderedCollection",
            "orderedItems": [f"{base}/users/dave", f"{base}/users/erin"],
        }
    )
    # The same digest as ours: nothing to do.
    ours = xor_digest([f"{base}/users/alice"])
    assert await sync_delivery(api, local, carol, remote, partial["id"], ours) == 202
    await drain(local)
    assert await drain(local, (SYNCHRONIZE.name,)) == 0
    # A header naming a URL on another origin is ignored.
    elsewhere = "http://elsewhere.test/followers_synchronization"
    assert await sync_delivery(api, local, carol, remote, elsewhere, "00") == 202
    await drain(local)
    assert await drain(local, (SYNCHRONIZE.name,)) == 0

    wanted = xor_digest([f"{base}/users/dave", f"{base}/users/erin"])
    assert await sync_delivery(api, local, carol, remote, partial["id"], wanted) == 202
    await drain(local)
    assert await drain(local, (SYNCHRONIZE.name,)) == 1
    assert remote.gets(partial["id"]) == 1

    async def relationship(user: User) -> dict[str, Any]:
        _, rels = await get(api, user, f"/api/v1/accounts/relationships?id[]={carol_id}")
        return dict(rels[0])

    assert (await relationship(alice))["following"] is False
    assert (await relationship(erin))["following"] is True
    assert (await relationship(dave))["following"] is False
    # Undo of alice's follow (ours) and of dave's (theirs, unknown here) go to carol.
    await dispatch_pending(local)
    undos = [json.loads(j["body"]) for j in await queued_deliveries(local)]
    undone = sorted((u["actor"], u["object"]["object"]) for u in undos if u["type"] == "Undo")
    assert undone == [(f"{base}/users/alice", carol.uri), (f"{base}/users/dave", carol.uri)]
    follows = await rows(
        local, "SELECT account_id FROM follows WHERE target_account_id = $1", carol_id
    )
    assert [r["account_id"] for r in follows] == [int(erin.id)]
