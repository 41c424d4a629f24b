"""Aliases and moves: `alsoKnownAs`, `movedTo`, the Move to followers' servers, and the
command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer, account_on, trust_local_key, wait_for
from tests.fakes.rows import add_follower
from tests.social import make_user
from wildebeest_trio.config import Config
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.federation.outbox import run_outbox
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import moves
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import follows as follow_rows

pytest_plugins = ("tests.fakes.fixtures",)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url, allow_private_addresses=True)


async def test_move_to_a_local_account(
    rt: Runtime, client: Any, hosts: RemoteServer, nursery: trio.Nursery
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await trust_local_key(rt, hosts, "alice")
    remote_fan = await account_on(rt, hosts, 0, "fan")
    await add_follower(rt, remote_fan, int(alice.id))
    await add_follower(rt, int(carol.id), int(alice.id))
    nursery.start_soon(run_outbox, rt)
    nursery.start_soon(run_workers, rt, 2)
    base = rt.config.base_url

    # Without the alias on the new account, the move is refused.
    with pytest.raises(moves.MoveError, match="alsoKnownAs"):
        await moves.start_move(rt, "alice", "bob")
    assert await moves.add_alias(rt, "bob", f"alice@{rt.config.domain}") == [f"{base}/users/alice"]
    bob_actor = await (
        await client.get("/users/bob", headers={"Accept": "application/activity+json"})
    ).get_json()
    assert bob_actor["alsoKnownAs"] == [f"{base}/users/alice"]

    target = await moves.start_move(rt, "alice", "bob")
    assert target["uri"] == f"{base}/users/bob"
    row = await rt.store.read(account_rows.account_by_id, int(alice.id))
    assert row is not None and row["moved_to_account_id"] == int(bob.id)
    await wait_for(lambda: any(d.activity["type"] == "Move" for d in hosts.received))
    [move] = [d.activity for d in hosts.received if d.activity["type"] == "Move"]
    assert move["object"] == move["actor"] == f"{base}/users/alice"
    assert move["target"] == f"{base}/users/bob"
    # The local follower follows the new account and no longer the old one.
    assert await rt.store.read(follow_rows.follow_row, int(carol.id), int(bob.id)) is not None
    assert await rt.store.read(follow_rows.follow_row, int(carol.id), int(alice.id)) is None

    assert await moves.remove_alias(rt, "bob", "alice") == []
    with pytest.raises(moves.MoveError):
        await moves.remove_alias(rt, "bob", "alice")
    with pytest.raises(moves.MoveError):
        await moves.add_alias(rt, "bob", "nobody")


async def test_move_to_a_remote_account_found_by_webfinger(
    rt: Runtime, client: Any, hosts: RemoteServer
) -> None:
    await ensure_instance_actor(rt)
    await make_user(rt, client, "alice")
    alice_uri = f"{rt.config.base_url}/users/alice"
    acct = f"zed@127.0.0.1:{hosts.ports[1]}"
    zed = hosts.actor("zed", index=1).uri  # served with its WebFinger answer
    assert await moves.add_alias(rt, "alice", acct) == [zed]
    with pytest.raises(moves.MoveError, match="alsoKnownAs"):
        await moves.start_move(rt, "alice", acct)
    hosts.actor("zed", index=1, also_known_as=[alice_uri])  # the new account adds its alias
    target = await moves.start_move(rt, "alice", acct)  # fetched afresh: now it lists us
    assert target["uri"] == zed
    actor = await (
        await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    ).get_json()
    assert actor["movedTo"] == zed and actor["alsoKnownAs"] == [zed]


async def test_cli_alias_and_move(rt: Runtime, client: Any) -> None:
    await make_user(rt, client, "alice")
    await make_user(rt, client, "bob")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(
        WB_DATA_DIR=str(rt.config.data_dir),
        WB_DATABASE_URL=rt.config.database_url,
        WB_LISTEN=rt.config.listen,
    )

    def wb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wildebeest_trio", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = await trio.to_thread.run_sync(wb, "accounts", "move", "alice", "--to", "bob")
    assert refused.returncode == 1 and "alsoKnownAs" in refused.stderr
    added = await trio.to_thread.run_sync(wb, "accounts", "alias", "add", "bob", "alice")
    assert added.returncode == 0, added.stderr
    moved = await trio.to_thread.run_sync(wb, "accounts", "move", "alice", "--to", "bob")
    assert moved.returncode == 0, moved.stderr
    bob = await rt.store.read(account_rows.account_by_acct, "bob", None)
    alice = await rt.store.read(account_rows.account_by_acct, "alice", None)
    assert alice is not None and bob is not None
    assert alice["moved_to_account_id"] == bob["id"]
    removed = await trio.to_thread.run_sync(wb, "accounts", "alias", "remove", "bob", "alice")
    assert removed.returncode == 0, removed.stderr
