"""Limited federation (`WB_LIMITED_FEDERATION=true`): only allowed domains deliver, fetch or
are fetched from; the public API and pages want a signed-in viewer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import rows
from tests.social import make_user
from tests.test_admin_api import call, staff_user
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.actors import fetchable
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.instance import ensure_instance_keys

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
async def limited(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    config = make_config(
        tmp_path, database_url, allow_private_addresses=True, limited_federation=True
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_actor(rt)
        await ensure_instance_keys(rt)
        yield rt


@pytest.fixture
async def web(limited: Runtime) -> AsyncIterator[Any]:
    async with create_app(limited).test_app() as test_app:
        yield test_app.test_client()


async def test_only_allowed_domains_federate(
    limited: Runtime, web: Any, remote: RemoteServer
) -> None:
    assert limited.config.authorized_fetch  # implied
    boss = await staff_user(limited, web, "boss", "admin")
    await make_user(limited, web, "alice")
    alice_uri = f"{limited.config.base_url}/users/alice"
    bob = remote.actor("bob")
    # A stranger's delivery is refused, a stranger is not fetched.
    follow = remote.activity(bob, "Follow", alice_uri)
    await deliver(web, limited, bob, follow)
    await drain(limited)
    assert await rows(limited, "SELECT id FROM follows") == []
    assert not await fetchable(limited, bob.uri)
    # Nobody may fetch our documents without a signature (the actor shows only its key).
    response = await web.get(
        "/users/alice/followers", headers={"Accept": "application/activity+json"}
    )
    assert response.status_code == 401
    response = await web.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert "publicKey" in await response.get_json()
    # Once the domain is allowed, it federates.
    status, _ = await call(web, boss, "POST", "/api/v1/admin/domain_allows", domain="127.0.0.1")
    assert status == 200
    assert await fetchable(limited, bob.uri)
    follow = remote.activity(bob, "Follow", alice_uri)
    assert await deliver(web, limited, bob, follow) == 202
    await drain(limited)
    assert len(await rows(limited, "SELECT id FROM follows")) == 1


async def test_public_api_and_pages_need_a_signed_in_viewer(limited: Runtime, web: Any) -> None:
    alice = await make_user(limited, web, "alice")
    response = await web.get("/api/v1/timelines/public")
    assert response.status_code == 401
    assert (await response.get_json()) == {"error": "This API requires an authenticated user"}
    response = await web.get("/api/v1/accounts/lookup?acct=alice")
    assert response.status_code == 401
    response = await web.get("/api/v1/timelines/public", headers=alice.headers)
    assert response.status_code == 200
    # The instance, apps and sign-ups stay open.
    assert (await web.get("/api/v1/instance")).status_code == 200
    assert (await web.get("/api/v2/instance")).status_code == 200
    response = await web.get("/public")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign_in?next=")
    response = await web.get("/@alice")
    assert response.status_code == 302
