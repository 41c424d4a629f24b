"""Web Push: the subscription API, both encodings against a local push service, VAPID, retries."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_ece
import jwt
import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import make_config
from tests.fakes.instance import settle
from tests.fakes.remote import RemoteServer
from tests.oauth_flow import register_app, token_for
from wildebeest_trio.config import Config
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import push_crypto, web_push
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import web_push as push_rows

pytest_plugins = ("tests.fakes.fixtures",)

PASSWORD = "correct horse battery"
PATH = "/api/v1/push/subscription"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # The push service of these tests listens on 127.0.0.1.
    return make_config(
        tmp_path, database_url, allow_private_addresses=True, contact_email="admin@example.org"
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Subscriber:
    """A browser's push keys: the private key stays here, the public half goes to the server."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@pytest.fixture
def push_service(remote: RemoteServer) -> RemoteServer:
    """A fake push service: it keeps every message it takes, with 201 Created."""
    remote.accept_status = 201
    return remote


def _answer_once(push_service: RemoteServer, status: int) -> None:
    """The next message is answered `status`, asking to retry after two minutes."""
    push_service.answer(push_service.base, status, headers={"Retry-After": "120"}, times=1)


@pytest.fixture
async def accounts(rt: Runtime) -> dict[str, int]:
    alice = await create_local_account(rt, "alice", "alice@example.org", password=PASSWORD)
    bob = await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    return {"alice": alice.account_id, "bob": bob.account_id}


async def _token(client: Any, scope: str = "read write follow push") -> str:
    app = await register_app(client, scopes=scope)
    return await token_for(client, app, "alice@example.org", PASSWORD, scope=scope)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _subscribe(client: Any, token: str, endpoint: str, sub: Subscriber, **extra: str) -> Any:
    form = {
        "subscription[endpoint]": endpoint,
        "subscription[keys][p256dh]": sub.p256dh,
        "subscription[keys][auth]": b64url(sub.auth),
        **extra,
    }
    return await client.post(PATH, form=form, headers=_bearer(token))


def _notification(sender: int, kind: str = "mention", n: int = 1) -> dict[str, Any]:
    return {
        "id": str(1_000_000_000_000_000_000 + n),
        "type": kind,
        "account": {
            "id": str(sender),
            "username": "bob",
            "display_name": "Bob",
            "avatar_static": "https://example.org/bob.png",
            "note": "<p>Bob's bio</p>",
        },
        "status": {"spoiler_text": "", "content": "<p>Hello &amp; welcome, <a>@alice</a></p>"},
    }


async def _queue(rt: Runtime, account_id: int, notification: dict[str, Any]) -> int:
    async def unit(conn: Connection) -> int:
        return await web_push.queue_push(
            conn, rt.ids, account_id=account_id, notification=notification
        )

    queued = await rt.store.write(unit)
    rt.wake_jobs()
    return queued


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch(
            "SELECT * FROM jobs WHERE kind = $1 ORDER BY id", web_push.PUSH.name
        )

    return await rt.store.read(unit)


async def _pushed(rt: Runtime, push_service: RemoteServer) -> tuple[dict[str, str], bytes]:
    """Run the workers until one message reached the push service and no job is left; its
    headers and body."""

    async def done() -> bool:
        return len(push_service.received) == 1 and not await _jobs(rt)

    await settle(rt, done)
    message = push_service.received[0]
    return message.headers, message.body


def _check_vapid(
    authorization: str, endpoint_origin: str, server_key: str, *, standard: bool, crypto_key: str
) -> dict[str, Any]:
    if standard:
        scheme, _, rest = authorization.partition(" ")
        assert scheme == "vapid"
        fields = dict(part.split("=", 1) for part in rest.split(","))
        token, key = fields["t"], fields["k"]
    else:
        scheme, _, token = authorization.partition(" ")
        assert scheme == "WebPush"
        key = dict(p.split("=", 1) for p in crypto_key.split(";"))["p256ecdsa"]
    assert key == server_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), push_crypto.b64url_decode(key)
    )
    assert jwt.get_unverified_header(token) == {"typ": "JWT", "alg": "ES256"}
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=endpoint_origin)
    assert time.time() + 12 * 3600 - 60 <= claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"] == "mailto:admin@example.org"
    return claims


# The API -----------------------------------------------------------------------------------


async def test_subscription_lifecycle(
    client: Any, accounts: dict[str, int], push_service: RemoteServer
) -> None:
    token = await _token(client)
    sub = Subscriber()
    endpoint = f"{push_service.base}/push/abc"
    for method in ("get", "put"):
        missing = await getattr(client, method)(PATH, headers=_bearer(token))
        assert missing.status_code == 404

    response = await _subscribe(
        client,
        token,
        endpoint,
        sub,
        **{
            "subscription[standard]": "true",
            "data[alerts][mention]": "true",
            "data[alerts][admin.sign_up]": "1",
            "data[policy]": "followed",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    body = await response.get_json()
    instance = await (await client.get("/api/v2/instance")).get_json()
    assert isinstance(body["id"], int)
    assert body["endpoint"] == endpoint
    assert body["standard"] is True
    assert body["policy"] == "followed"
    assert body["server_key"] == instance["configuration"]["vapid"]["public_key"]
    assert set(body["alerts"]) == set(web_push.ALERT_TYPES)
    assert {k for k, v in body["alerts"].items() if v} == {"mention", "admin.sign_up"}
    assert await (await client.get(PATH, headers=_bearer(token))).get_json() == body

    # PUT changes only `data`: the alerts given (others false) and the policy.
    response = await client.put(
        PATH,
        json={
            "subscription": {"endpoint": "https://elsewhere.example/x"},
            "data": {"alerts": {"favourite": True, "follow": "true"}, "policy": "all"},
        },
        headers=_bearer(token),
    )
    assert response.status_code == 200
    updated = await response.get_json()
    assert updated["endpoint"] == endpoint
    assert updated["id"] == body["id"]
    assert updated["policy"] == "all"
    assert {k for k, v in updated["alerts"].items() if v} == {"favourite", "follow"}

    # One per token: POST again replaces it.
    again = await (await _subscribe(client, token, endpoint + "2", sub)).get_json()
    assert again["id"] != body["id"]
    assert again["standard"] is False
    assert not any(again["alerts"].values())
    assert (await (await client.get(PATH, headers=_bearer(token))).get_json())["endpoint"] == (
        endpoint + "2"
    )

    deleted = await client.delete(PATH, headers=_bearer(token))
    assert deleted.status_code == 200
    assert await deleted.get_json() == {}
    assert (await client.get(PATH, headers=_bearer(token))).status_code == 404


async def test_json_body_and_one_subscription_per_token(
    client: Any, rt: Runtime, accounts: dict[str, int]
) -> None:
    first, second = await _token(client), await _token(client)
    sub = Subscriber()
    for token, path in ((first, "/one"), (second, "/two")):
        response = await client.post(
            PATH,
            json={
                "subscription": {
                    "endpoint": f"https://push.example{path}",
                    "keys": {"p256dh": sub.p256dh, "auth": b64url(sub.auth)},
                    "standard": True,
                },
                "data": {"alerts": {"mention": True}},
            },
            headers=_bearer(token),
        )
        assert response.status_code == 200, await response.get_data(as_text=True)
    rows = await rt.store.read(push_rows.for_account, accounts["alice"])
    assert sorted(r["endpoint"] for r in rows) == [
        "https://push.example/one",
        "https://push.example/two",
    ]


async def test_invalid_subscriptions(client: Any, accounts: dict[str, int]) -> None:
    token = await _token(client)
    sub = Subscriber()
    good = {
        "subscription[endpoint]": "https://push.example/x",
        "subscription[keys][p256dh]": sub.p256dh,
        "subscription[keys][auth]": b64url(sub.auth),
    }
    not_on_curve = b64url(b"\x04" + b"\x01" * 64)
    cases = [
        {"subscription[keys][auth]": b64url(os.urandom(15))},
        {"subscription[keys][p256dh]": not_on_curve},
        {"subscription[keys][p256dh]": b64url(os.urandom(33))},
        {"subscription[keys][p256dh]": "!!!"},
        {"subscription[endpoint]": "not a url"},
        {"subscription[endpoint]": "ftp://push.example/x"},
        {"subscription[endpoint]": "https://user:pw@push.example/x"},
        {"subscription[endpoint]": "https://push.example:99999/x"},
        {"subscription[endpoint]": ""},
        {"data[policy]": "everyone"},
    ]
    for change in cases:
        response = await client.post(PATH, form={**good, **change}, headers=_bearer(token))
        assert response.status_code == 422, (change, await response.get_data(as_text=True))
    assert (await client.post(PATH, form=good, headers=_bearer(token))).status_code == 200

    read_only = await _token(client, scope="read")
    assert (await client.post(PATH, form=good, headers=_bearer(read_only))).status_code == 403
    assert (await client.get(PATH)).status_code == 401


@pytest.mark.parametrize(
    ("settings", "endpoint", "reason"),
    [
        ({}, "http://127.0.0.1:9/push", "private or loopback"),
        # The tests' servers reach loopback only (WB_OUTBOUND_ALLOW).
        ({"allow_private_addresses": True}, "https://93.184.216.34/push", "WB_OUTBOUND_ALLOW"),
    ],
)
async def test_refused_endpoints(
    tmp_path: Path, database_url: str, settings: dict[str, Any], endpoint: str, reason: str
) -> None:
    from wildebeest_trio.assembly import open_server_runtime

    config = make_config(tmp_path, database_url, **settings)
    async with open_server_runtime(config) as rt:
        account = await create_local_account(rt, "carol", "carol@example.org", password=PASSWORD)
        sub = Subscriber()
        with pytest.raises(web_push.InvalidSubscription, match=reason):
            await web_push.subscribe(
                rt,
                token_id=1,
                account_id=account.account_id,
                endpoint=endpoint,
                p256dh=sub.p256dh,
                auth=b64url(sub.auth),
                standard=True,
                alerts={},
                policy=None,
            )


async def test_subscription_dies_with_its_token(
    client: Any, rt: Runtime, accounts: dict[str, int]
) -> None:
    app = await register_app(client)
    token = await token_for(client, app, "alice@example.org", PASSWORD)
    sub = Subscriber()
    assert (await _subscribe(client, token, "https://push.example/x", sub)).status_code == 200
    revoked = await client.post(
        "/oauth/revoke",
        form={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token},
    )
    assert revoked.status_code == 200
    assert await rt.store.read(push_rows.for_account, accounts["alice"]) == []
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"])) == 0


async def test_api_level_needs_the_lower_levels(client: Any) -> None:
    from wildebeest_trio.version import api_level

    assert "standard_web_push" in client.app.extensions["wildebeest.features"]
    # Standard push alone does not lift the level: levels 2 and 3 must hold too.
    assert api_level(frozenset({"pkce", "standard_web_push"})) == 1
    assert api_level(frozenset({"grouped_notifications", "pkce", "standard_web_push"})) == 4


# Delivery --------------------------------------------------------------------------------


@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "aesgcm"])
async def test_delivery_decrypts_with_the_subscriber_key(
    client: Any,
    rt: Runtime,
    accounts: dict[str, int],
    push_service: RemoteServer,
    standard: bool,
) -> None:
    token = await _token(client)
    sub = Subscriber()
    endpoint = f"{push_service.base}/push/abc"
    created = await (
        await _subscribe(
            client,
            token,
            endpoint,
            sub,
            **{"subscription[standard]": str(standard).lower(), "data[alerts][mention]": "true"},
        )
    ).get_json()
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"], "favourite")) == 0
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"])) == 1

    headers, body = await _pushed(rt, push_service)
    assert headers["ttl"] == "172800"
    assert headers["urgency"] == "normal"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["host"] == push_service.base.removeprefix("http://")
    if standard:
        assert headers["content-encoding"] == "aes128gcm"
        assert "encryption" not in headers
        plain = http_ece.decrypt(
            body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm"
        )
    else:
        assert headers["content-encoding"] == "aesgcm"
        salt = push_crypto.b64url_decode(headers["encryption"].removeprefix("salt="))
        fields = dict(p.split("=", 1) for p in headers["crypto-key"].split(";"))
        plain = http_ece.decrypt(
            body,
            salt=salt,
            private_key=sub.key,
            dh=push_crypto.b64url_decode(fields["dh"]),
            auth_secret=sub.auth,
            version="aesgcm",
        )
    _check_vapid(
        headers["authorization"],
        push_service.base,
        created["server_key"],
        standard=standard,
        crypto_key=headers.get("crypto-key", ""),
    )
    import json

    message = json.loads(plain)
    assert message == {
        "preferred_locale": "en",
        "notification_id": "1000000000000000001",
        "notification_type": "mention",
        "icon": "https://example.org/bob.png",
        "title": "You were mentioned by Bob",
        "body": "Hello & welcome, @alice",
    }
    assert "access_token" not in message


async def test_gone_endpoint_removes_the_subscription(
    client: Any, rt: Runtime, accounts: dict[str, int], push_service: RemoteServer
) -> None:
    token = await _token(client)
    await _subscribe(
        client,
        token,
        f"{push_service.base}/push/gone",
        Subscriber(),
        **{"data[alerts][mention]": "true"},
    )
    _answer_once(push_service, 410)
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"])) == 1

    async def done() -> bool:
        return len(push_service.requests) == 1 and not await _jobs(rt)

    await settle(rt, done)
    assert (await client.get(PATH, headers=_bearer(token))).status_code == 404
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"], n=2)) == 0


async def test_stale_messages_and_revoked_tokens_are_not_sent(
    client: Any, rt: Runtime, accounts: dict[str, int], push_service: RemoteServer
) -> None:
    from wildebeest_trio.ids import now_ms
    from wildebeest_trio.store import oauth as oauth_rows

    token = await _token(client)
    created = await (
        await _subscribe(
            client,
            token,
            f"{push_service.base}/push/late",
            Subscriber(),
            **{"data[alerts][mention]": "true"},
        )
    ).get_json()
    message = web_push.web_payload(_notification(accounts["bob"]), "en")
    stale = now_ms() - 49 * 3600 * 1000
    await web_push.deliver_push(
        rt, {"subscription_id": created["id"], "queued_at": stale, "message": message}
    )
    assert len(push_service.requests) == 0

    # Queued, then the token is revoked before the job runs: nothing is sent, the row goes.
    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"])) == 1
    row = await rt.store.read(push_rows.by_id, created["id"])
    assert row is not None
    await rt.store.write(oauth_rows.revoke_token, row["access_token_id"], now_ms())

    async def count(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT COUNT(*) FROM web_push_subscriptions"))

    async def done() -> bool:
        return not await _jobs(rt) and await rt.store.read(count) == 0

    await settle(rt, done)
    assert len(push_service.requests) == 0


@pytest.mark.parametrize("status", [429, 500, 408])
async def test_retryable_answers_keep_the_job(
    client: Any, rt: Runtime, accounts: dict[str, int], push_service: RemoteServer, status: int
) -> None:
    token = await _token(client)
    await _subscribe(
        client,
        token,
        f"{push_service.base}/push/busy",
        Subscriber(),
        **{"data[alerts][mention]": "true"},
    )
    _answer_once(push_service, status)
    await _queue(rt, accounts["alice"], _notification(accounts["bob"]))

    async def retried() -> bool:
        jobs = await _jobs(rt)
        return len(push_service.requests) == 1 and bool(jobs) and jobs[0]["state"] == "pending"

    await settle(rt, retried)
    job = (await _jobs(rt))[0]
    assert job["max_attempts"] == 5
    assert job["attempts"] == 1
    if status == 429:  # Retry-After: 120
        assert job["run_at"] >= int(time.time() * 1000) + 100_000
    assert (await client.get(PATH, headers=_bearer(token))).status_code == 200


async def test_policies(
    client: Any, rt: Runtime, accounts: dict[str, int], push_service: RemoteServer
) -> None:
    token = await _token(client)
    endpoint = f"{push_service.base}/push/p"
    alice, bob = accounts["alice"], accounts["bob"]
    expected = {"none": 0, "followed": 0, "follower": 0, "all": 1}
    for n, (policy, count) in enumerate(expected.items()):
        await _subscribe(
            client,
            token,
            endpoint,
            Subscriber(),
            **{"data[alerts][mention]": "true", "data[policy]": policy},
        )
        assert await _queue(rt, alice, _notification(bob, n=n)) == count, policy

    async def follow(conn: Connection, follower: int, target: int) -> None:
        await conn.execute(
            "INSERT INTO follows (id, account_id, target_account_id, created_at) "
            "VALUES ($1, $2, $3, $4)",
            rt.ids.next_id(),
            follower,
            target,
            0,
        )

    await rt.store.write(follow, alice, bob)
    await _subscribe(
        client,
        token,
        endpoint,
        Subscriber(),
        **{"data[alerts][mention]": "true", "data[policy]": "followed"},
    )
    assert await _queue(rt, alice, _notification(bob, n=10)) == 1
    await _subscribe(
        client,
        token,
        endpoint,
        Subscriber(),
        **{"data[alerts][mention]": "true", "data[policy]": "follower"},
    )
    assert await _queue(rt, alice, _notification(bob, n=11)) == 0


# Pure parts ------------------------------------------------------------------------------


def test_payload_text() -> None:
    note = {"id": "5", "type": "follow", "account": {"username": "bob", "note": "<p>a<br>b</p>"}}
    payload = web_push.web_payload(note, None)
    assert payload["title"] == "bob is now following you"
    assert payload["body"] == "a\nb"
    long = {
        "id": 1,
        "type": "status",
        "account": {"display_name": "B"},
        "status": {"content": "<p>" + "x" * 300 + "</p>"},
    }
    body = web_push.web_payload(long, "de")["body"]
    assert len(body) == 140 and body.endswith("…")
    warned = {
        "id": 1,
        "type": "status",
        "account": {},
        "status": {"spoiler_text": "cw", "content": "secret"},
    }
    assert web_push.web_payload(warned, "en")["body"] == "cw"


# Mastodon.py -----------------------------------------------------------------------------


async def test_mastodon_py_round_trip(
    client: Any,
    rt: Runtime,
    accounts: dict[str, int],
    push_service: RemoteServer,
    live_server: str,
) -> None:
    from mastodon import Mastodon

    token = await _token(client)
    api = Mastodon(access_token=token, api_base_url=live_server, version_check_mode="none")
    endpoint = f"{push_service.base}/push/mastodon-py"

    def subscribe() -> tuple[Any, Any]:
        private, public = api.push_subscription_generate_keys()
        created = api.push_subscription_set(
            endpoint, public, mention_events=True, follow_events=False, policy="all"
        )
        return private, created

    private, created = await trio.to_thread.run_sync(subscribe)
    # Mastodon.py turns every id into a string; the wire value is an integer (checked above).
    assert int(created["id"]) >= 1
    assert created["endpoint"] == endpoint
    assert created["alerts"]["mention"] is True
    assert created["alerts"]["follow"] is False

    assert await _queue(rt, accounts["alice"], _notification(accounts["bob"])) == 1

    headers, body = await _pushed(rt, push_service)

    def decrypt() -> Any:
        return api.push_subscription_decrypt_push(
            body, private, headers["encryption"], headers["crypto-key"]
        )

    message = await trio.to_thread.run_sync(decrypt)
    assert message["notification_id"] == "1000000000000000001"
    assert message["notification_type"] == "mention"
    assert message["title"] == "You were mentioned by Bob"

    def update_and_delete() -> tuple[Any, Any]:
        updated = api.push_subscription_update(favourite_events=True, policy="follower")
        fetched = api.push_subscription()
        api.push_subscription_delete()
        return updated, fetched

    updated, fetched = await trio.to_thread.run_sync(update_and_delete)
    assert updated["alerts"]["favourite"] is True
    assert updated["policy"] == "follower"
    assert fetched["id"] == created["id"]
    assert (await client.get(PATH, headers=_bearer(token))).status_code == 404
