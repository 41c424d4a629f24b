"""Behind a reverse proxy: the client's address and scheme, the rate limits keyed on them,
and HSTS over https."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.conftest import make_config
from tests.oauth_flow import csrf_from
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import (
    DEFAULT_TRUSTED_PROXIES,
    Config,
    ConfigError,
    load_config,
    parse_networks,
)
from wildebeest_trio.http import create_app
from wildebeest_trio.http.auth import RateLimiter
from wildebeest_trio.http.proxy import client_address, forwarded_scheme
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.services.tokens import issue_cli_token

PASSWORD = "correct horse battery"
PROXY = {"client": ("127.0.0.1", 40000)}  # a proxy on the same machine (trusted by default)
STRANGER = {"client": ("203.0.113.5", 40000)}  # not a trusted proxy
HSTS = "max-age=63072000; includeSubDomains"


async def _fresh_window(needed: float = 40.0) -> None:
    """Wait for the next 5-minute rate-limit window if this one ends within `needed` s, so
    a test's requests all count in one window."""
    left = 300 - time.time() % 300
    if left < needed:
        await trio.sleep(left + 0.1)


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in values.items()]


def test_the_client_is_the_right_most_untrusted_hop() -> None:
    trusted = parse_networks(DEFAULT_TRUSTED_PROXIES)

    def client(peer: str, **headers: str) -> str | None:
        return client_address(peer, _headers(**headers), trusted)

    assert client("127.0.0.1", x_forwarded_for="198.51.100.7") == "198.51.100.7"
    # The client wrote the left part; the proxy appended the address it saw.
    assert client("127.0.0.1", x_forwarded_for="192.0.2.1, 198.51.100.7") == "198.51.100.7"
    # A chain of trusted proxies is walked through.
    assert client("10.0.0.2", x_forwarded_for="198.51.100.7, 10.0.0.1") == "198.51.100.7"
    # Every hop trusted: the left-most, where the request came from.
    assert client("127.0.0.1", x_forwarded_for="10.1.1.1, 192.168.0.9") == "10.1.1.1"
    # A hop that is no address ends the walk at the proxy that wrote it.
    assert client("127.0.0.1", x_forwarded_for="192.0.2.1, unknown") == "127.0.0.1"
    # Ports, brackets, IPv4-mapped peers.
    assert client("::ffff:127.0.0.1", x_forwarded_for="198.51.100.7:5555") == "198.51.100.7"
    assert client("::1", x_forwarded_for="[2001:db8::17]:4711") == "2001:db8::17"
    # RFC 7239 when there is no X-Forwarded-For.
    forwarded = 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711";proto=https'
    assert client("127.0.0.1", forwarded=forwarded) == "2001:db8:cafe::17"
    assert forwarded_scheme(_headers(forwarded=forwarded)) == "https"
    assert forwarded_scheme(_headers(x_forwarded_proto="http, https")) == "https"
    assert forwarded_scheme(_headers(x_forwarded_proto="gopher")) is None
    # An untrusted peer's headers are ignored, as are all when no proxy is trusted.
    assert client("203.0.113.5", x_forwarded_for="198.51.100.7") == "203.0.113.5"
    assert client_address("127.0.0.1", _headers(x_forwarded_for="198.51.100.7"), ()) == (
        "127.0.0.1"
    )


def test_trusted_proxies_setting() -> None:
    config = load_config(env={"WB_TRUSTED_PROXIES": "203.0.113.0/24 2001:db8::1"})
    assert config.trusted_proxies == "203.0.113.0/24, 2001:db8::1/128"
    assert load_config(env={"WB_TRUSTED_PROXIES": ""}).trusted_proxies == ""
    as_toml_list = load_config(env={}, overrides={"trusted_proxies": ["10.0.0.0/8", "::1"]})
    assert as_toml_list.trusted_proxies == "10.0.0.0/8, ::1/128"
    with pytest.raises(ConfigError, match="WB_TRUSTED_PROXIES"):
        load_config(env={"WB_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """Rate limits on (the suite turns them off elsewhere)."""
    return make_config(tmp_path, database_url, rate_limits=True)


@pytest.fixture
async def app(rt: Runtime) -> AsyncIterator[Any]:
    await ensure_instance_keys(rt)
    app = create_app(rt)
    async with app.test_app() as test_app:
        yield test_app


async def _sign_in_form(http: httpx.AsyncClient, client_ip: str) -> str:
    page = await http.get("/auth/sign_in", headers={"X-Forwarded-For": client_ip})
    return csrf_from(page.text)


async def test_failed_sign_ins_behind_the_proxy_lock_out_only_their_client(
    rt: Runtime, live_server: str
) -> None:
    """The issue's case: 25 failed sign-ins through the proxy locked everyone out."""
    await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    attacker, bob = "198.51.100.66", "198.51.100.7"
    await _fresh_window()
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        token = await _sign_in_form(http, attacker)
        statuses = []
        for i in range(26):
            response = await http.post(
                "/auth/sign_in",
                data={"email": f"x{i}@example.org", "password": "wrong", "csrf_token": token},
                headers={"X-Forwarded-For": f"192.0.2.1, {attacker}"},
            )
            statuses.append(response.status_code)
        assert statuses == [401] * 25 + [429]
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        token = await _sign_in_form(http, bob)
        response = await http.post(
            "/auth/sign_in",
            data={"email": "bob@example.org", "password": PASSWORD, "csrf_token": token},
            headers={"X-Forwarded-For": bob},
        )
        assert response.status_code == 302
    # The session records the client's address, not the proxy's.
    ips = await rt.store.read(lambda conn: conn.fetch("SELECT ip FROM web_sessions"))
    assert [row["ip"] for row in ips] == [bob]


async def test_random_bearer_strings_count_against_their_client(rt: Runtime, app: Any) -> None:
    await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    real = await issue_cli_token(rt, "bob", "read")
    client = app.test_client()
    await _fresh_window()

    async def call(ip: str, token: str) -> int:
        response = await client.get(
            "/api/v1/instance",
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": ip},
            scope_base=PROXY,
        )
        return int(response.status_code)

    statuses = [await call("198.51.100.9", secrets.token_urlsafe(32)) for _ in range(301)]
    assert 429 not in statuses[:300]
    assert statuses[300] == 429
    # Another client, and a valid token (counted per token and user), are not affected.
    assert await call("198.51.100.10", secrets.token_urlsafe(32)) == 200
    assert await call("198.51.100.9", real.token) == 200


async def test_api_traffic_cannot_evict_login_counters(rt: Runtime, app: Any) -> None:
    # A small API store, so a few distinct callers fill it.
    app.app.extensions["wildebeest.limiter"] = RateLimiter(max_keys=50)
    await _fresh_window()
    client = app.test_client()
    attacker = {"X-Forwarded-For": "198.51.100.66"}
    page = await client.get("/auth/sign_in", headers=attacker, scope_base=PROXY)
    token = csrf_from(await page.get_data(as_text=True))

    async def sign_in(i: int) -> int:
        response = await client.post(
            "/auth/sign_in",
            form={"email": f"x{i}@example.org", "password": "wrong", "csrf_token": token},
            headers=attacker,
            scope_base=PROXY,
        )
        return int(response.status_code)

    assert [await sign_in(i) for i in range(25)] == [401] * 25
    for i in range(60):
        await client.get(
            "/api/v1/instance",
            headers={
                "X-Forwarded-For": f"198.51.100.{100 + i}",
                "Authorization": f"Bearer {secrets.token_urlsafe(16)}",
            },
            scope_base=PROXY,
        )
    assert await sign_in(99) == 429


async def test_an_untrusted_peer_cannot_claim_another_address(rt: Runtime, app: Any) -> None:
    await _fresh_window()
    client = app.test_client()
    statuses = []
    for i in range(301):
        response = await client.get(
            "/api/v1/instance",
            headers={"X-Forwarded-For": f"198.51.100.{i % 250}"},
            scope_base=STRANGER,
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429


async def _hsts(client: Any, peer: dict[str, Any], **headers: str) -> tuple[str | None, str]:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    response = await client.get("/auth/sign_in", headers=sent, scope_base=peer)
    assert response.status_code == 200
    return response.headers.get("Strict-Transport-Security"), response.headers.get("Set-Cookie", "")


async def test_hsts_over_https_only(tmp_path: Path, database_url: str) -> None:
    config = make_config(tmp_path, database_url, domain="social.example")
    assert config.scheme == "https"
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            assert (await _hsts(client, PROXY, X_Forwarded_Proto="https"))[0] == HSTS
            assert (await _hsts(client, PROXY))[0] is None  # the proxy says nothing: http
            assert (await _hsts(client, STRANGER, X_Forwarded_Proto="https"))[0] is None


async def test_local_mode_cookies_turn_secure_behind_an_https_proxy(rt: Runtime, app: Any) -> None:
    assert rt.config.scheme == "http"
    client = app.test_client()
    hsts, cookie = await _hsts(client, PROXY, X_Forwarded_Proto="https")
    assert hsts is None  # a local-mode instance never pins https
    assert "Secure" in cookie
    client = app.test_client()
    _, cookie = await _hsts(client, PROXY)
    assert "Secure" not in cookie
