"""The inbox routes: what is accepted (202, one durable job per activity id) and what is
refused with which status, changing nothing."""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import trio

from tests.conftest import serve_instance
from tests.fakes.instance import drain
from tests.fakes.remote import PUBLIC, RemoteServer, deliver, signed_headers
from tests.fakes.rows import rows
from tests.social import get, make_user
from wildebeest_trio import jsonbounds, jsonld
from wildebeest_trio.federation import verify
from wildebeest_trio.federation.inbox import INBOX
from wildebeest_trio.http.unread_body import DRAIN_SECONDS
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import domain_blocks
from wildebeest_trio.signatures import generate_rsa_keypair
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    return await rows(rt, "SELECT * FROM jobs WHERE kind = $1", INBOX.name)


async def _state(rt: Runtime) -> tuple[int, int, int]:
    jobs = await _jobs(rt)
    seen = await rows(rt, "SELECT uri FROM inbox_activities")
    statuses = await rows(rt, "SELECT id FROM statuses")
    return len(jobs), len(seen), len(statuses)


async def test_a_signed_activity_is_stored_once_and_applied(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, follow) == 202
    # A replay (the sender retrying) is answered the same and not queued again.
    assert await deliver(api, local, bob, follow) == 202
    jobs = await _jobs(local)
    assert len(jobs) == 1
    assert json.loads(jobs[0]["payload"])["activity"]["id"] == follow["id"]
    assert await drain(local) == 1
    status, followers = await get(api, alice, f"/api/v1/accounts/{alice.id}/followers")
    assert status == 200
    assert [f["acct"] for f in followers] == [f"bob@{bob.host}"]
    assert await deliver(api, local, bob, follow) == 202
    assert await drain(local) == 0


async def test_a_delivery_is_parsed_once_and_verified_once(
    api: Any, local: Runtime, remote: RemoteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the accept path the body is parsed once, the Signature header read once and
    the signature checked once (the sender's key already known)."""
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    target = f"{local.config.base_url}/users/alice"
    first = remote.activity(bob, "Create", remote.note(bob, cc=[target]), to=[PUBLIC])
    assert await deliver(api, local, bob, first) == 202  # bob's key is fetched and kept
    calls: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    for module, name in ((verify, "parse_signature"), (verify, "verify_request")):
        monkeypatch.setattr(module, name, counted(name, getattr(module, name)))
    monkeypatch.setattr(jsonbounds, "loads", counted("loads", jsonbounds.loads))
    second = remote.activity(bob, "Create", remote.note(bob, cc=[target]), to=[PUBLIC])
    assert await deliver(api, local, bob, second) == 202
    assert calls == {"parse_signature": 1, "verify_request": 1, "loads": 1}
    assert len(await _jobs(local)) == 2


async def test_hostile_deliveries_change_nothing(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    mallory = remote.actor("mallory")
    target = f"{local.config.base_url}/users/alice"
    note = remote.note(bob, cc=[target])
    create = remote.activity(bob, "Create", note, to=[PUBLIC], cc=[target])
    body = json.dumps(create).encode()
    good = signed_headers(local, "/inbox", body, bob.key_id, bob.private_pem)
    before = await _state(local)

    async def post(payload: bytes, headers: dict[str, str], path: str = "/inbox") -> int:
        response = await api.post(path, data=payload, headers=headers)
        answer = await response.get_json()
        if response.status_code >= 400:
            assert "error" in answer
        return int(response.status_code)

    other_key = generate_rsa_keypair()[0]
    assert await post(body, {"Content-Type": "application/activity+json"}) == 401  # unsigned
    assert await post(body.replace(b"Hello", b"Bye!!"), good) == 401  # tampered
    forged = signed_headers(local, "/inbox", body, bob.key_id, other_key)
    assert await post(body, forged) == 401  # badly signed
    stale = signed_headers(
        local, "/inbox", body, bob.key_id, bob.private_pem, now=time.time() - 7200
    )
    assert await post(body, stale) == 401
    big = b" " * (1024 * 1024 + 1)
    assert await post(big, signed_headers(local, "/inbox", big, bob.key_id, bob.private_pem)) == 413
    junk = b"{not json"
    assert (
        await post(junk, signed_headers(local, "/inbox", junk, bob.key_id, bob.private_pem)) == 400
    )
    # Signed by mallory, claiming to be bob, without an LD signature: dropped quietly.
    assert await deliver(api, local, bob, create, signer=mallory) == 202
    # An object from another server in a Create.
    foreign = remote.activity(
        bob,
        "Create",
        {**note, "id": f"{remote.origin(host='localhost')}/users/bob/statuses/999"},
    )
    assert await deliver(api, local, bob, foreign) == 403
    # A personal inbox of nobody.
    assert await deliver(api, local, bob, create, path="/users/nobody/inbox") == 404
    assert await _state(local) == before
    assert await drain(local) == 0


async def test_a_chunked_body_past_the_limit_is_refused_as_it_passes(
    local: Runtime, nursery: trio.Nursery
) -> None:
    """A body without a declared length is read only up to the inbox's 1 MiB: past it
    the answer is 413 (and the connection closed, once the bounded wait for the rest of
    the body is over), not whenever the sender stops sending."""
    await serve_instance(local, nursery)
    host, port = local.config.listen.rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await stream.send_all(
        b"POST /inbox HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/activity+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 65536
    for _ in range(17):  # 1,088 KiB, and never the last chunk
        await stream.send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    answer = b""
    with trio.fail_after(DRAIN_SECONDS + 5):
        while b"\r\n\r\n" not in answer:
            answer += await stream.receive_some(65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert b"\r\nconnection: close\r\n" in answer.lower()
    await stream.aclose()


async def test_suspended_domains_are_refused(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")

    async def block(conn: Connection) -> None:
        await domain_blocks.block_domain(conn, local.ids, "127.0.0.1", severity="suspend")

    await local.store.write(block)
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, follow) == 403
    assert await _state(local) == (0, 0, 0)
    status, followers = await get(api, alice, f"/api/v1/accounts/{alice.id}/followers")
    assert status == 200 and followers == []


async def test_forwarded_activity_needs_the_actors_ld_signature(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    carol = remote.actor("carol")  # the forwarding server's actor
    target = f"{local.config.base_url}/users/alice"
    note = remote.note(bob, content="<p>forwarded</p>", tag=[{"type": "Mention", "href": target}])
    create = remote.activity(bob, "Create", note, to=[PUBLIC], cc=[target])
    create["object"] = copy.deepcopy(note)
    signed = jsonld.sign_ld_signature(create, bob.private_pem, bob.key_id)
    tampered = copy.deepcopy(signed)
    tampered["object"]["content"] = "<p>changed</p>"
    assert await deliver(api, local, bob, tampered, signer=carol) == 202
    assert await _state(local) == (0, 0, 0)
    assert await deliver(api, local, bob, signed, signer=carol) == 202
    assert await drain(local) == 1
    stored = await rows(local, "SELECT id FROM statuses WHERE uri = $1", note["id"])
    status, entity = await get(api, alice, f"/api/v1/statuses/{stored[0]['id']}")
    assert status == 200
    assert entity["content"] == "<p>forwarded</p>"
    assert entity["account"]["acct"] == f"bob@{bob.host}"


async def test_unknown_types_are_accepted_and_ignored(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    bob = remote.actor("bob")
    odd = remote.activity(bob, "EmojiReact", f"{local.config.base_url}/users/alice", content="x")
    assert await deliver(api, local, bob, odd) == 202
    assert await drain(local) == 1
    jobs = await _jobs(local)
    assert jobs == []  # done, not parked or retried


async def test_unsigned_deletion_of_an_unknown_actor_is_accepted_and_ignored(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    gone = f"{remote.origin()}/users/gone"
    delete = {"id": f"{gone}#delete", "type": "Delete", "actor": gone, "object": gone}
    response = await api.post(
        "/inbox",
        data=json.dumps(delete).encode(),
        headers={"Content-Type": "application/activity+json"},
    )
    # As Mastodon: no key is fetched for an actor that is gone and was never known.
    assert response.status_code == 202
    assert await _state(local) == (0, 0, 0)
    assert await rows(local, "SELECT id FROM accounts WHERE uri = $1", gone) == []


async def test_what_was_kept_of_a_sender_is_checked_again_when_storing(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    """The inbox keeps what it read of a sender (its key, its domain's standing) for its
    next deliveries, and reads it again in the transaction that stores each: a key
    changed since (by another process) is used as it is now, and a domain blocked since
    is refused with nothing stored."""
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    target = f"{local.config.base_url}/users/alice"

    def create() -> dict[str, Any]:
        return remote.activity(bob, "Create", remote.note(bob, cc=[target]), to=[PUBLIC])

    assert await deliver(api, local, bob, create()) == 202  # bob's key fetched and kept
    assert await deliver(api, local, bob, create()) == 202
    other_public = generate_rsa_keypair()[1]

    async def change_key(conn: Connection) -> None:
        await conn.execute(
            "UPDATE keypairs SET public_key_pem = $1 WHERE key_id = $2", other_public, bob.key_id
        )

    await local.store.write(change_key)
    # Checked against the stored key (which fails, so bob's actor is fetched again).
    assert await deliver(api, local, bob, create()) == 202
    keys = await rows(local, "SELECT public_key_pem FROM keypairs WHERE key_id = $1", bob.key_id)
    assert [k["public_key_pem"] for k in keys] != [other_public]
    assert len(await _jobs(local)) == 3

    async def block(conn: Connection) -> None:
        await domain_blocks.block_domain(conn, local.ids, "127.0.0.1", severity="suspend")

    await local.store.write(block)
    refused = create()
    assert await deliver(api, local, bob, refused) == 403
    assert len(await _jobs(local)) == 3
    seen = await rows(local, "SELECT uri FROM inbox_activities WHERE uri = $1", refused["id"])
    assert seen == []


async def test_the_inbox_answers_as_the_rest_of_the_application(api: Any, local: Runtime) -> None:
    """Answered before Quart, the inbox still names its request (`X-Request-Id`) and
    refuses in JSON; other methods are Quart's 405."""
    unsigned = json.dumps({"actor": "https://elsewhere.example/users/x", "type": "Like"})
    response = await api.post(
        "/inbox/", data=unsigned, headers={"Content-Type": "application/activity+json"}
    )
    assert response.status_code == 401
    assert len(response.headers["X-Request-Id"]) == 32
    assert (await response.get_json())["error"].startswith("Request not signed")
    response = await api.post("/users/nobody/inbox", data=unsigned)
    assert response.status_code == 404
    response = await api.get("/inbox")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert (await response.get_json())["error"]
