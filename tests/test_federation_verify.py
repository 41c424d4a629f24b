"""Inbox verification between two live instances: real keys, real fetches, real signatures."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.fakes.remote import signed_post
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.federation.verify import (
    DeliveryRefused,
    host_of,
    read_delivery,
    verify_delivery,
)
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import peers
from wildebeest_trio.signatures import generate_rsa_keypair
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows

PASSWORD = "correct horse battery"


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A second instance (its own database) that receives deliveries from `rt`."""
    config = make_config(
        tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}", allow_private_addresses=True
    )
    async with open_server_runtime(config) as other:
        await ensure_instance_actor(other)
        yield other


async def _alice(rt: Runtime) -> tuple[str, str]:
    await create_local_account(rt, "alice", "alice@example.org", password=PASSWORD)
    key_id = f"{rt.config.base_url}/users/alice#main-key"
    pem = await rt.store.read(account_rows.private_key_of, key_id)
    assert pem is not None
    return key_id, pem


def _activity(rt: Runtime, **extra: Any) -> dict[str, Any]:
    actor = f"{rt.config.base_url}/users/alice"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#follows/1",
        "type": "Follow",
        "actor": actor,
        "object": "https://elsewhere.example/users/bob",
        **extra,
    }


async def test_a_signed_delivery_verifies_and_caches_the_actor(
    rt: Runtime, live_server: str, receiver: Runtime
) -> None:
    key_id, pem = await _alice(rt)
    inbox = f"{receiver.config.base_url}/inbox"
    body = json.dumps(_activity(rt)).encode()
    verified = await verify_delivery(
        receiver, read_delivery("POST", inbox, signed_post(inbox, body, key_id, pem), body)
    )
    assert verified.actor_uri == f"{live_server}/users/alice"
    assert verified.key.key_id == key_id
    cached = await receiver.store.read(account_rows.actor_by_uri, verified.actor_uri)
    assert cached is not None
    assert cached["domain"] == rt.config.domain and cached["username"] == "alice"
    assert cached["inbox_url"] == f"{live_server}/users/alice/inbox"
    assert rt.config.domain in await peers(receiver)


async def test_hostile_deliveries_are_refused(
    rt: Runtime, live_server: str, receiver: Runtime
) -> None:
    key_id, pem = await _alice(rt)
    inbox = f"{receiver.config.base_url}/inbox"
    body = json.dumps(_activity(rt)).encode()
    good = signed_post(inbox, body, key_id, pem)
    other_key = generate_rsa_keypair()[0]
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        ("tampered body", good, body.replace(b"Follow", b"Block"), 401),
        ("unsigned", {"Content-Type": "application/activity+json"}, body, 401),
        ("forged with another key", signed_post(inbox, body, key_id, other_key), body, 401),
        ("stale date", signed_post(inbox, body, key_id, pem, now=time.time() - 7200), body, 401),
        ("not JSON", good, b"{nope", 400),
        ("oversized", good, b" " * (1024 * 1024 + 1), 413),
    ]
    impostor = json.dumps(_activity(rt, actor="https://elsewhere.example/users/bob")).encode()
    cases.append(
        ("someone else's activity", signed_post(inbox, impostor, key_id, pem), impostor, 401)
    )
    create = json.dumps(
        _activity(
            rt,
            type="Create",
            id=f"{live_server}/users/alice/s/1",
            object={"id": "https://elsewhere.example/notes/1", "type": "Note"},
        )
    ).encode()
    cases.append(
        ("object from another origin", signed_post(inbox, create, key_id, pem), create, 403)
    )
    for name, headers, payload, status in cases:
        with pytest.raises(DeliveryRefused) as refused:
            await verify_delivery(receiver, read_delivery("POST", inbox, headers, payload))
        assert refused.value.status == status, name


async def test_rotated_key_is_fetched_again(
    rt: Runtime, live_server: str, receiver: Runtime
) -> None:
    key_id, _ = await _alice(rt)
    await refresh_actor(receiver, f"{live_server}/users/alice")  # cache the old key
    new_private, new_public = generate_rsa_keypair()

    async def rotate(conn: Connection) -> None:
        await conn.execute(
            "UPDATE keypairs SET private_key_pem = $1, public_key_pem = $2 WHERE key_id = $3",
            new_private,
            new_public,
            key_id,
        )

    await rt.store.write(rotate)
    inbox = f"{receiver.config.base_url}/inbox"
    body = json.dumps(_activity(rt)).encode()
    verified = await verify_delivery(
        receiver, read_delivery("POST", inbox, signed_post(inbox, body, key_id, new_private), body)
    )
    assert verified.key.public_key_pem == new_public


async def test_private_addresses_are_not_fetched_by_default(
    rt: Runtime, live_server: str, tmp_path: Path
) -> None:
    key_id, pem = await _alice(rt)
    config = make_config(tmp_path / "c", f"sqlite:///{tmp_path / 'c.db'}")
    async with open_server_runtime(config) as strict:
        await ensure_instance_actor(strict)
        inbox = f"{strict.config.base_url}/inbox"
        body = json.dumps(_activity(rt)).encode()
        with pytest.raises(DeliveryRefused) as refused:
            signed = signed_post(inbox, body, key_id, pem)
            await verify_delivery(strict, read_delivery("POST", inbox, signed, body))
        assert refused.value.status == 401
        assert "private or loopback" in str(refused.value)


def test_hosts_under_the_actors_origin_are_read_as_urlsplit_reads_them() -> None:
    """The origin checks skip parsing URLs under the actor's origin: never with another
    answer than parsing them (user info, other ports, case, lookalike hosts)."""
    urls = [
        "https://a.example/users/x",
        "https://A.example/users/x#main-key",
        "https://a.example",
        "https://a.example?x=1",
        "https://a.example#y",
        "https://a.example.evil/x",
        "https://a.examplex/",
        "https://a.example@b.example/x",
        "https://a.example:443/x",
        "http://a.example/x",
        "HTTPS://a.example/x",
        " https://a.example/x",
        "https://a.example\t/x",
        "",
    ]
    for actor in ("https://a.example/users/alice", "https://A.Example/users/alice"):
        body = json.dumps({"actor": actor}).encode()
        delivery = read_delivery("POST", "https://here/inbox", {}, body)
        assert delivery.actor_host == "a.example"
        for url in [*urls, f"{actor}/statuses/1"]:
            assert delivery.host_of(url) == host_of(url), (actor, url)
