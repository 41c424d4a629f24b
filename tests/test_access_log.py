"""The access log (one line per request, secrets filtered) and the log of refused inbox
deliveries (who was refused, and why)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.fakes.remote import PUBLIC, RemoteServer, deliver, signed_headers
from tests.social import make_user
from wildebeest_trio.http.access_log import filtered_query
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import domain_blocks
from wildebeest_trio.signatures import generate_rsa_keypair
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)

PROXY = {"client": ("127.0.0.1", 40000)}


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_secret_query_values_are_filtered() -> None:
    query = "access_token=abc&limit=5&code=xyz&client_secret=s&password=p&max_id=9&q=a%20b"
    assert filtered_query(query) == (
        "access_token=[FILTERED]&limit=5&code=[FILTERED]&client_secret=[FILTERED]"
        "&password=[FILTERED]&max_id=9&q=a%20b"
    )


async def test_every_request_is_logged_without_its_secrets(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio.access")
    response = await client.get(
        "/api/v1/timelines/public?limit=5&access_token=s3cr3t-token",
        headers={"X-Forwarded-For": "198.51.100.7", "User-Agent": 'Tusky/24.1\t"forged'},
        scope_base=PROXY,
    )
    assert response.status_code == 401  # an unknown token
    missing = await client.get("/no/such/page", scope_base={"client": ("203.0.113.9", 1)})
    assert missing.status_code == 404
    lines = _lines(caplog, "wildebeest_trio.access")
    assert len(lines) == 2
    first, second = lines
    assert first.startswith(
        '198.51.100.7 "GET /api/v1/timelines/public?limit=5&access_token=[FILTERED]" 401 '
    )
    assert "s3cr3t" not in first
    assert '"Tusky/24.1\\x09\\x22forged"' in first  # control characters and quotes escaped
    assert first.endswith(response.headers["X-Request-Id"])
    assert float(first.split()[5].removesuffix("ms")) >= 0
    assert second.startswith('203.0.113.9 "GET /no/such/page" 404 ')


async def test_the_access_log_can_be_turned_off(
    tmp_path: Any, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app

    caplog.set_level(logging.INFO, logger="wildebeest_trio.access")
    config = make_config(tmp_path, database_url, access_log=False)
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            assert (await test_app.test_client().get("/health")).status_code == 200
    assert _lines(caplog, "wildebeest_trio.access") == []


async def test_refused_deliveries_are_logged_with_sender_and_reason(
    api: Any, local: Runtime, remote: RemoteServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio.federation.inbox")
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    target = f"{local.config.base_url}/users/alice"
    create = remote.activity(bob, "Create", remote.note(bob), to=[PUBLIC], cc=[target])
    body = json.dumps(create).encode()
    forged = signed_headers(local, "/inbox", body, bob.key_id, generate_rsa_keypair()[0])
    forged["X-Forwarded-For"] = "198.51.100.20"
    response = await api.post("/inbox", data=body, headers=forged, scope_base=PROXY)
    assert response.status_code == 401
    sender = repr(bob.host)
    [line] = _lines(caplog, "wildebeest_trio.federation.inbox")
    assert line.startswith(f"refused delivery from {sender}: 401 ")
    assert "Verification failed" in line
    assert f"key {bob.key_id!r}" in line and "client 198.51.100.20" in line

    caplog.clear()
    tampered = signed_headers(local, "/inbox", body, bob.key_id, bob.private_pem)
    assert (await api.post("/inbox", data=body + b" ", headers=tampered)).status_code == 401
    [line] = _lines(caplog, "wildebeest_trio.federation.inbox")
    assert line.startswith(f"refused delivery from {sender}: 401 ")
    assert "igest" in line  # the digest does not match the body

    caplog.clear()

    async def block(conn: Connection) -> None:
        await domain_blocks.block_domain(conn, local.ids, "127.0.0.1", severity="suspend")

    await local.store.write(block)
    assert await deliver(api, local, bob, create) == 403
    [line] = _lines(caplog, "wildebeest_trio.federation.inbox")
    assert line.startswith(f"refused delivery from {sender}: 403 'The domain is blocked'")
