"""A second live instance on 127.0.0.1, federating with the one under test over real HTTP
with real signatures: instance A runs on each test backend, instance B on SQLite. Each is
used through its Mastodon API, as a person with two apps on two servers would. Its
fixtures `a` and `b` come with `tests.fakes.fixtures`; a module using them overrides
`config` with `peer_config`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config, migrated_sqlite_url, serve_instance
from tests.social import User, act, get
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime

WAIT = 30.0


@dataclass
class Instance:
    """A running server and a test client for its API."""

    rt: Runtime
    client: Any

    @property
    def host(self) -> str:
        return self.rt.config.domain


@pytest.fixture
async def a(rt: Runtime, client: Any, nursery: trio.Nursery) -> Instance:
    await serve_instance(rt, nursery)
    return Instance(rt, client)


@asynccontextmanager
async def other_instance(tmp_path: Path, name: str) -> AsyncIterator[Instance]:
    """Another live instance on SQLite, in its own folder under `tmp_path`."""
    config = make_config(
        tmp_path / name,
        migrated_sqlite_url(tmp_path / f"{name}.db"),
        allow_private_addresses=True,
    )
    async with open_server_runtime(config) as other:
        # Its own nursery, stopped before its store closes.
        async with trio.open_nursery() as own:
            await serve_instance(other, own)
            app = create_app(other)
            async with app.test_app() as test_app:
                yield Instance(other, test_app.test_client())
            own.cancel_scope.cancel()


@pytest.fixture
async def b(tmp_path: Path) -> AsyncIterator[Instance]:
    async with other_instance(tmp_path, "b") as instance:
        yield instance


@pytest.fixture
async def c(tmp_path: Path) -> AsyncIterator[Instance]:
    """A third instance, for what a third server sees."""
    async with other_instance(tmp_path, "c") as instance:
        yield instance


def peer_config(tmp_path: Path, database_url: str) -> Any:
    """The configuration of instance A: it may reach B on 127.0.0.1. A module using these
    fixtures overrides `config` with it (a fixture here would change every test's)."""
    return make_config(tmp_path / "a", database_url, allow_private_addresses=True)


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `check` until it returns something truthy (federation is asynchronous)."""
    with trio.move_on_after(WAIT):
        while True:
            found = await check()
            if found:
                return found
            await trio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def resolve(on: Instance, user: User, acct: str) -> dict[str, Any]:
    """The account `acct` as `on` knows it, resolved through WebFinger when unknown."""
    code, found = await get(on.client, user, f"/api/v2/search?q={acct}&resolve=true&type=accounts")
    assert code == 200, found
    assert [x["acct"] for x in found["accounts"]] == [acct], found
    return found["accounts"][0]


async def follow_across(
    follower_side: Instance, follower: User, target_side: Instance, target: User
) -> dict[str, Any]:
    """`follower` follows `target` on the other instance; the remote account entity."""
    remote = await resolve(follower_side, follower, f"{target.name}@{target_side.host}")
    code, rel = await act(follower_side.client, follower, f"/api/v1/accounts/{remote['id']}/follow")
    assert code == 200, rel
    assert rel["requested"] and not rel["following"]  # until the other server accepts
    return remote


async def follow_accepted(
    follower_side: Instance, follower: User, target_side: Instance, target: User
) -> dict[str, Any]:
    """`follow_across`, then wait for the target's server to accept it."""
    remote = await follow_across(follower_side, follower, target_side, target)
    await eventually(
        lambda: true_when(
            lambda: relationship_with(follower_side, follower, remote), "following", True
        ),
        "the Accept of the follow",
    )
    return remote


async def status_on(side: Instance, user: User, uri: str) -> dict[str, Any] | None:
    """A status as `user` on `side` sees it, found by its ActivityPub id in home."""
    code, home = await get(side.client, user, "/api/v1/timelines/home?limit=40")
    assert code == 200
    return next((s for s in home if s["uri"] == uri), None)


async def true_when(read: Callable[[], Awaitable[dict[str, Any]]], key: str, value: Any) -> bool:
    return (await read())[key] == value


async def relationship_with(side: Instance, user: User, account: dict[str, Any]) -> dict[str, Any]:
    _, rels = await get(side.client, user, f"/api/v1/accounts/relationships?id[]={account['id']}")
    return rels[0]
