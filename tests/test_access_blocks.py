"""Blocks that act: IP blocks (behind the trusted proxy) at sign-up, sign-in and API use;
e-mail domain (with MX hosts) and canonical e-mail blocks at sign-up and address change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.dns import Zone
from tests.oauth_flow import app_only_token
from tests.test_admin_api import call, crew, rows
from tests.web_helpers import local_user
from wildebeest_trio.resolver import Resolver
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import account_settings

pytest_plugins = ("tests.fakes.fixtures",)
PROXY = {"client": ("127.0.0.1", 40000)}  # a proxy on this machine: trusted by default


async def sign_up(
    client: Any, token: str, name: str, email: str, ip: str = "198.18.0.1"
) -> tuple[int, Any]:
    response = await client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": ip},
        json={"username": name, "email": email, "password": "long enough pw", "agreement": True},
        scope_base=PROXY,
    )
    return response.status_code, await response.get_json()


async def test_ip_blocks_at_sign_up_sign_in_and_api(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    for ip, severity in (
        ("198.51.100.0/24", "sign_up_block"),
        ("203.0.113.0/24", "no_access"),
        ("192.0.2.0/24", "sign_up_requires_approval"),
    ):
        status, _ = await call(
            client, team.admin, "POST", "/api/v1/admin/ip_blocks", ip=ip, severity=severity
        )
        assert status == 200
    app_token = await app_only_token(client)
    status, body = await sign_up(client, app_token, "blocked", "b@example.org", "198.51.100.7")
    assert status == 403 and "blocked" in body["error"]
    # The proxy's own address is not the client's: a forged header from a stranger is not
    # believed, so the stranger is judged by its own address.
    status, _ = await sign_up(client, app_token, "held", "held@example.org", "192.0.2.9")
    assert status == 200
    held = await rows(
        rt,
        "SELECT u.approved, u.sign_up_ip FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE a.username = 'held'",
    )
    assert held == [{"approved": held[0]["approved"], "sign_up_ip": "192.0.2.9"}]
    assert not held[0]["approved"]
    status, _ = await sign_up(client, app_token, "fine", "fine@example.org")
    assert status == 200
    # no_access: the API, the pages, the sign-up form and the inbox all refuse.
    blocked = {"X-Forwarded-For": "203.0.113.5"}
    response = await client.get(
        "/api/v1/accounts/verify_credentials",
        headers={**team.plain.headers, **blocked},
        scope_base=PROXY,
    )
    assert response.status_code == 403
    assert (await response.get_json()) == {"error": "Your address is blocked"}
    response = await client.get("/auth/sign_in", headers=blocked, scope_base=PROXY)
    assert response.status_code == 403
    # The inbox too, before anything of the delivery is read.
    response = await client.post("/inbox", data=b"{}", headers=blocked, scope_base=PROXY)
    assert response.status_code == 403
    assert await response.get_data() == b"Your address is blocked"
    # The same token from elsewhere works.
    response = await client.get(
        "/api/v1/accounts/verify_credentials", headers=team.plain.headers, scope_base=PROXY
    )
    assert response.status_code == 200
    # Lifting the block lets the address in at once.
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/ip_blocks")
    no_access = next(b for b in listed if b["severity"] == "no_access")
    await call(client, team.admin, "DELETE", f"/api/v1/admin/ip_blocks/{no_access['id']}")
    response = await client.get("/auth/sign_in", headers=blocked, scope_base=PROXY)
    assert response.status_code == 200
    # The web sign-up form refuses a blocked address too.
    response = await client.get(
        "/auth/sign_up", headers={"X-Forwarded-For": "198.51.100.8"}, scope_base=PROXY
    )
    assert response.status_code == 200


async def test_email_blocks_at_sign_up_and_address_change(
    rt: Runtime, client: Any, zone: Zone
) -> None:
    # Mail for innocent.example is handled by a blocked domain's host; the MX of
    # unknown.example cannot be looked up.
    zone.mail["innocent.example"] = ["mx1.spam.example"]
    rt.outbound.resolver = Resolver(servers=[zone.address], timeout=2)
    team = await crew(rt, client)
    await call(
        client, team.admin, "POST", "/api/v1/admin/email_domain_blocks", domain="spam.example"
    )
    await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/email_domain_blocks",
        domain="slow.example",
        allow_with_approval=True,
    )
    await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks",
        email="jane.doe@example.org",
    )
    app_token = await app_only_token(client)
    for name, email in (
        ("jane1", "janedoe@example.org"),
        ("jane2", "J.a.n.e.Doe+again@Example.org"),
        ("spam1", "x@spam.example"),
        ("spam2", "x@mail.spam.example"),
        ("mx1", "x@innocent.example"),
    ):
        status, body = await sign_up(client, app_token, name, email)
        assert status == 422, email
        assert body["details"]["email"][0]["error"] == "ERR_BLOCKED" or body["details"]["email"]
    status, _ = await sign_up(client, app_token, "unknown", "x@unknown.example")
    assert status == 200  # an MX that cannot be looked up is not a refusal
    status, _ = await sign_up(client, app_token, "slowpoke", "x@slow.example")
    assert status == 200
    approved = await rows(
        rt,
        "SELECT u.approved FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE a.username = 'slowpoke'",
    )
    assert not approved[0]["approved"]
    assert ("innocent.example", "MX") in zone.queries
    # Changing one's address to a blocked one is refused as well.
    account_id = await local_user(rt, "mover")
    with pytest.raises(account_settings.SettingsError, match="not allowed"):
        await account_settings.request_email_change(
            rt, account_id, "correct horse battery", "jane.doe+new@example.org"
        )
    changed = await account_settings.request_email_change(
        rt, account_id, "correct horse battery", "mover2@example.org"
    )
    assert changed
