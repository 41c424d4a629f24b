"""Remote lookups from search: WebFinger (and host-meta) against a fake remote server on
127.0.0.1, actors fetched with signed GETs and stored, URLs resolved, private addresses
refused unless the configuration allows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.conftest import make_config
from tests.fakes.remote import AP, AS, PUBLIC, RemoteServer
from tests.social import User, make_user
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config
from wildebeest_trio.federation import lookup
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import resolve
from wildebeest_trio.services import search as search_service

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """This module's server may fetch from 127.0.0.1 (the fake remote)."""
    return make_config(tmp_path, database_url, allow_private_addresses=True)


@pytest.fixture
def remote(remote: RemoteServer) -> RemoteServer:
    """A fake remote server: WebFinger (and host-meta), two actors with profile pages, a note."""
    for name in ("zoe", "yan"):
        profile = f"{remote.base}/@{name}"
        remote.actor(
            name,
            display_name=f"{name.capitalize()} of the Remote",
            summary="<p>remote bio</p>",
            url=profile,
        )
        page = (
            f'<html><head><link rel="alternate" type="{AP}" href="{remote.base}/users/{name}">'
            "</head><body>profile</body></html>"
        )
        remote.put_file(profile, page, "text/html; charset=utf-8")
    remote.put(
        {
            "@context": AS,
            "id": f"{remote.base}/notes/1",
            "type": "Note",
            "attributedTo": f"{remote.base}/users/zoe",
            "content": "<p>a remote note</p>",
            "to": [PUBLIC],
        }
    )
    return remote


async def _search(client: Any, user: User | None, **params: Any) -> tuple[int, Any]:
    response = await client.get(
        f"/api/v2/search?{urlencode(params)}", headers=user.headers if user else {}
    )
    return response.status_code, await response.get_json()


async def test_resolve_stores_the_remote_account_and_lookup_finds_it(
    rt: Runtime, client: Any, remote: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    bob = await make_user(rt, client, "bob")
    acct = f"zoe@{remote.host}"

    # Without resolve, an unknown remote account is not looked for.
    code, body = await _search(client, bob, q=f"@{acct}", type="accounts")
    assert code == 200 and body["accounts"] == []
    assert remote.requests == []

    code, body = await _search(client, bob, q=f"@{acct}", resolve="true", type="accounts")
    assert code == 200, body
    [account] = body["accounts"]
    assert account["acct"] == acct
    assert account["display_name"] == "Zoe of the Remote"
    assert account["url"] == f"{remote.base}/@zoe"
    paths = [r.path for r in remote.requests]
    assert paths[0] == "/.well-known/webfinger" and "/users/zoe" in paths
    assert all(r.signed for r in remote.requests if r.path == "/users/zoe")

    # Known now: lookup answers it, even anonymously, without asking the remote again.
    before = len(remote.requests)
    response = await client.get(f"/api/v1/accounts/lookup?acct={quote(acct)}")
    assert response.status_code == 200
    assert (await response.get_json())["id"] == account["id"]
    code, body = await _search(client, bob, q=acct)
    assert [a["id"] for a in body["accounts"]] == [account["id"]]
    assert len(remote.requests) == before


async def test_lookup_resolves_unknown_accounts_for_signed_in_callers(
    rt: Runtime, client: Any, remote: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    bob = await make_user(rt, client, "bob")
    acct = f"yan@{remote.host}"
    response = await client.get(f"/api/v1/accounts/lookup?acct={quote(acct)}")
    assert response.status_code == 404
    assert remote.requests == []
    response = await client.get(f"/api/v1/accounts/lookup?acct={quote(acct)}", headers=bob.headers)
    assert response.status_code == 200
    assert (await response.get_json())["acct"] == acct
    # Someone nobody knows stays a 404.
    response = await client.get(
        f"/api/v1/accounts/lookup?acct={quote('nobody@' + remote.host)}", headers=bob.headers
    )
    assert response.status_code == 404


async def test_host_meta_is_the_fallback_when_webfinger_404s(
    rt: Runtime, client: Any, remote: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    bob = await make_user(rt, client, "bob")
    remote.answer(f"{remote.base}/.well-known/webfinger", 404)
    code, body = await _search(client, bob, q=f"zoe@{remote.host}", resolve="true")
    assert code == 200
    assert [a["acct"] for a in body["accounts"]] == [f"zoe@{remote.host}"]
    paths = [r.path for r in remote.requests]
    assert paths[:3] == ["/.well-known/webfinger", "/.well-known/host-meta", "/finger"]


async def test_profile_and_actor_urls_resolve_to_accounts(
    rt: Runtime, client: Any, remote: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    bob = await make_user(rt, client, "bob")
    # A profile page names its actor with <link rel="alternate">.
    code, body = await _search(client, bob, q=f"{remote.base}/@zoe", resolve="true")
    assert code == 200, body
    assert [a["acct"] for a in body["accounts"]] == [f"zoe@{remote.host}"]
    code, body = await _search(
        client, bob, q=f"{remote.base}/users/yan", resolve="true", type="accounts"
    )
    assert [a["acct"] for a in body["accounts"]] == [f"yan@{remote.host}"]
    # Without resolve a URL is only text.
    code, body = await _search(client, bob, q=f"{remote.base}/users/nobody", type="accounts")
    assert body["accounts"] == []


async def test_a_remote_note_url_is_fetched_and_stored_with_its_author(
    rt: Runtime, client: Any, remote: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    bob = await make_user(rt, client, "bob")
    url = f"{remote.base}/notes/1"
    code, body = await _search(client, bob, q=url, resolve="true")
    assert code == 200, body
    [status] = body["statuses"]
    assert status["uri"] == url and status["content"] == "<p>a remote note</p>"
    assert status["account"]["acct"] == f"zoe@{remote.host}"
    assert any(r.path == "/notes/1" and r.signed for r in remote.requests)  # signed fetch
    # Known now: found again without another fetch, and anonymous callers never fetch.
    fetched = len(remote.requests)
    code, again = await _search(client, bob, q=url, resolve="true")
    assert [s["id"] for s in again["statuses"]] == [status["id"]]
    assert len(remote.requests) == fetched
    code, _ = await _search(client, None, q=f"{remote.base}/notes/2", resolve="true")
    assert code in (200, 401) and len(remote.requests) == fetched


async def test_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, remote: RemoteServer
) -> None:
    config = make_config(tmp_path / "strict", f"sqlite:///{tmp_path / 'strict.db'}")
    assert not config.allow_private_addresses
    async with open_server_runtime(config) as strict:
        await ensure_instance_actor(strict)
        with pytest.raises(lookup.LookupFailed):
            await lookup.resolve_account(strict, "zoe", remote.host)
        found = await search_service.search_accounts(
            strict, None, f"zoe@{remote.host}", limit=5, resolve=True
        )
        assert found == []
        assert await resolve.resolve_url(strict, f"{remote.base}/users/zoe", 1) is None
    assert remote.requests == []
