"""Remote pinned posts, as apps see them (`GET /api/v1/accounts/:id/statuses?pinned=true`):
read from the featured collection when the account is first stored, then kept by `Add` and
`Remove` targeting it. Two live instances (A on each backend, B on SQLite) and a fake peer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.instance import drain
from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config, resolve
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import account_id_of
from tests.social import User, act, get, make_user, post
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.federation.featured import SYNC_FEATURED
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def pinned(client: Any, user: User, account_id: Any) -> list[str]:
    code, found = await get(client, user, f"/api/v1/accounts/{account_id}/statuses?pinned=true")
    assert code == 200, found
    return [s["uri"] for s in found]


async def test_pins_follow_the_other_server(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    first = await post(a.client, alice, "First")
    second = await post(a.client, alice, "Second")
    code, _ = await act(a.client, alice, f"/api/v1/statuses/{first['id']}/pin")
    assert code == 200
    # B meets alice: it reads her featured collection.
    remote_alice = await resolve(b, bob, f"alice@{a.host}")

    async def shown(expected: list[str]) -> bool:
        return sorted(await pinned(b.client, bob, remote_alice["id"])) == sorted(expected)

    await eventually(lambda: shown([first["uri"]]), "the pin read on B")
    await follow_accepted(b, bob, a, alice)
    # Her followers' servers hear of new pins (Add) and of unpinned posts (Remove).
    code, _ = await act(a.client, alice, f"/api/v1/statuses/{second['id']}/pin")
    assert code == 200
    await eventually(lambda: shown([first["uri"], second["uri"]]), "the Add on B")
    code, _ = await act(a.client, alice, f"/api/v1/statuses/{first['id']}/unpin")
    assert code == 200
    await eventually(lambda: shown([second["uri"]]), "the Remove on B")


async def test_only_the_actors_own_visible_statuses_are_pinned(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    carol = remote.actor("carol")
    dave = remote.actor("dave", featured=f"{remote.base}/users/dave/collections/featured")
    mine = remote.note(dave, "<p>Pinned</p>")
    direct = remote.note(dave, "<p>Secret</p>", to=[carol.uri], cc=[])
    theirs = remote.note(carol, "<p>Not dave's</p>")
    unpinned = remote.note(dave, "<p>Later</p>")
    remote.put(
        {
            "id": f"{dave.uri}/collections/featured",
            "type": "OrderedCollection",
            "orderedItems": [mine, direct["id"], theirs["id"]],
        }
    )
    await refresh_actor(local, dave.uri)
    dave_id = await account_id_of(local, dave.uri)
    assert await drain(local, (SYNC_FEATURED.name,)) == 1
    assert await pinned(api, alice, dave_id) == [mine["id"]]
    # Stored again (an Update of the actor), it is not read again.
    await refresh_actor(local, dave.uri)
    assert await drain(local, (SYNC_FEATURED.name,)) == 0

    featured = f"{dave.uri}/collections/featured"
    add = remote.activity(dave, "Add", unpinned["id"], target=featured)
    assert await deliver(api, local, dave, add) == 202
    # Not its featured collection, or not its status: nothing changes.
    elsewhere = remote.activity(dave, "Add", theirs["id"], target=featured)
    other_target = remote.activity(dave, "Add", mine["id"], target=f"{dave.uri}/other")
    for activity in (elsewhere, other_target):
        assert await deliver(api, local, dave, activity) == 202
    await drain(local)
    assert sorted(await pinned(api, alice, dave_id)) == sorted([mine["id"], unpinned["id"]])
    remove = remote.activity(dave, "Remove", mine["id"], target=featured)
    assert await deliver(api, local, dave, remove) == 202
    await drain(local)
    assert await pinned(api, alice, dave_id) == [unpinned["id"]]
