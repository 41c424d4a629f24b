"""Test helpers for statuses and timelines: local users with tokens, and small API calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.remote import RemoteActor
from tests.fakes.rows import accept_our_request, account_id_of
from tests.oauth_flow import register_app, token_for
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

PASSWORD = "correct horse battery"


@dataclass
class User:
    """A local account and a user token for it (obtained through the OAuth pages)."""

    name: str
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    rt: Runtime, client: Any, name: str, scope: str = "read write follow push"
) -> User:
    created = await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    app = await register_app(client)
    token = await token_for(client, app, f"{name}@example.org", PASSWORD, scope=scope)
    # A fresh sign-in per user: the test client keeps cookies.
    client.cookie_jar.clear()
    return User(name, str(created.account_id), token)


async def token_with(client: Any, user: User, scope: str) -> str:
    """Another token for `user` limited to `scope`."""
    app = await register_app(client)
    token = await token_for(client, app, f"{user.name}@example.org", PASSWORD, scope=scope)
    client.cookie_jar.clear()
    return token


async def post(client: Any, user: User, text: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/statuses", headers=user.headers, json={"status": text, **fields}
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def get(client: Any, user: User | None, path: str) -> tuple[int, Any]:
    response = await client.get(path, headers=user.headers if user else {})
    return response.status_code, await response.get_json()


async def act(client: Any, user: User, path: str, **fields: Any) -> tuple[int, Any]:
    response = await client.post(path, headers=user.headers, json=fields)
    return response.status_code, await response.get_json()


async def follow(client: Any, follower: User, target: User) -> dict[str, Any]:
    status, body = await act(client, follower, f"/api/v1/accounts/{target.id}/follow")
    assert status == 200, body
    return body


async def follow_remote(client: Any, rt: Runtime, user: User, actor: RemoteActor) -> int:
    """`user` follows a fake server's actor through the API, accepted as its Accept would;
    the actor's account id."""
    await refresh_actor(rt, actor.uri)
    account_id = await account_id_of(rt, actor.uri)
    status, body = await act(client, user, f"/api/v1/accounts/{account_id}/follow")
    assert status == 200 and body["requested"], body
    await accept_our_request(rt, int(user.id), account_id)  # as the remote Accept does
    return account_id
