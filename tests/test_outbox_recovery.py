"""Delivery survives crashes and dead peers: kill -9 mid fan-out, Mastodon's retry
schedule, unavailable domains and their recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer, account_on, start_remote, trust_local_key, wait_for
from tests.fakes.rows import add_follower
from wildebeest_trio.config import Config
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.outbox import run_outbox
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import statuses
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import delivery as delivery_rows

REPO = Path(__file__).resolve().parent.parent
HOST_COUNT = 55


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url, allow_private_addresses=True)


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1 ORDER BY id", DELIVER.name)

    return await rt.store.read(unit)


async def _alice(rt: Runtime, hosts: RemoteServer) -> int:
    created = await create_local_account(rt, "alice", "alice@example.org", password="pw-123456")
    await trust_local_key(rt, hosts, "alice")
    return int(created.account_id)


def _sender(database_url: str, folder: Path) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    # The child keeps its own copy of the descriptor; ours closes at once.
    with open(folder / "stderr.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.outboxproc", database_url, str(folder)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def test_kill_9_mid_fan_out_loses_no_host(
    rt: Runtime, nursery: trio.Nursery, tmp_path: Path
) -> None:
    hosts = await start_remote(nursery, HOST_COUNT, verify=True)
    alice = await _alice(rt, hosts)
    for i in range(HOST_COUNT):
        await add_follower(rt, await account_on(rt, hosts, i, f"f{i}"), alice)
    hosts.delay = 0.25  # slow receivers: the kill lands while the fan-out is under way
    status = await statuses.post(rt, alice, statuses.Draft(text="survive this"))
    uri = status.statuses[status.order[0]]["uri"]

    first = _sender(rt.config.database_url, tmp_path / "first")
    try:
        await wait_for(lambda: len(hosts.received) >= 8, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    reached_before = {d.port for d in hosts.received}
    assert len(reached_before) < HOST_COUNT, "the kill came too late to test anything"

    hosts.delay = 0.0
    second = _sender(rt.config.database_url, tmp_path / "second")
    try:
        await wait_for(lambda: {d.port for d in hosts.received} == set(hosts.ports), timeout=90)

        async def drained() -> bool:
            return not await _jobs(rt)

        with trio.fail_after(30):
            while not await drained():
                await trio.sleep(0.05)
    finally:
        second.terminate()
        second.wait()
    # Every host got the Create at least once; by activity id it is one activity each.
    for port in hosts.ports:
        ids = {d.activity["id"] for d in hosts.received if d.port == port}
        assert ids == {f"{uri}/activity"}
    assert hosts.refused == []


async def test_dead_peer_retries_on_schedule_then_is_skipped(
    rt: Runtime, nursery: trio.Nursery
) -> None:
    hosts = await start_remote(nursery, verify=True)
    alice = await _alice(rt, hosts)
    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), alice)
    port = hosts.ports[0]
    domain = f"127.0.0.1:{port}"
    hosts.answer(hosts.base, 503)
    nursery.start_soon(run_outbox, rt)
    nursery.start_soon(run_workers, rt, 2)

    await statuses.post(rt, alice, statuses.Draft(text="anyone there?"))

    async def settled(attempts: int) -> dict[str, Any]:
        jobs: list[dict[str, Any]] = []
        with trio.move_on_after(20):
            while True:
                jobs = await _jobs(rt)
                if jobs and jobs[0]["attempts"] == attempts and jobs[0]["state"] != "running":
                    return jobs[0]
                await trio.sleep(0.02)
        raise AssertionError(f"no attempt {attempts}: {jobs}")

    job = await settled(1)
    assert job["state"] == "pending"
    # Mastodon's schedule: attempt**4 + 15 + up to half of attempt**4 seconds.
    assert 16_000 - 500 <= job["run_at"] - job["updated_at"] <= 16_500 + 500
    # Bring the retry forward instead of sleeping through the backoff.
    await rt.store.write(_due_now, job["id"])
    rt.wake_jobs()
    job = await settled(2)
    assert 31_000 - 500 <= job["run_at"] - job["updated_at"] <= 39_000 + 500
    assert len(hosts.requests) == 2
    assert not await rt.store.read(delivery_rows.is_unavailable, domain)

    # Failures on six earlier days, then today's: seven distinct days make it unavailable.
    await rt.store.write(delivery_rows.mark_available, domain)  # forget today's two
    for day in ("20261101", "20261102", "20261103", "20261104", "20261105", "20261106"):
        await rt.store.write(delivery_rows.record_failure, domain, day, now_ms())
    await rt.store.write(_due_now, job["id"])
    rt.wake_jobs()
    job = await settled(3)
    assert await rt.store.read(delivery_rows.is_unavailable, domain)
    # Now deliveries to it end without a request: the new post's and the old retry.
    await statuses.post(rt, alice, statuses.Draft(text="still there?"))
    await rt.store.write(_due_now, job["id"])
    rt.wake_jobs()

    async def skipped() -> bool:
        return not await _jobs(rt)

    with trio.fail_after(20):
        while not await skipped():
            await trio.sleep(0.02)
    assert len(hosts.requests) == 3


async def test_successful_delivery_clears_the_failure_record(
    rt: Runtime, nursery: trio.Nursery
) -> None:
    hosts = await start_remote(nursery, verify=True)
    alice = await _alice(rt, hosts)
    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), alice)
    domain = f"127.0.0.1:{hosts.ports[0]}"
    for day in ("20261101", "20261102", "20261103"):
        await rt.store.write(delivery_rows.record_failure, domain, day, now_ms())
    nursery.start_soon(run_outbox, rt)
    nursery.start_soon(run_workers, rt, 2)
    await statuses.post(rt, alice, statuses.Draft(text="back online"))
    await wait_for(lambda: len(hosts.received) == 1)

    async def failure_days(conn: Connection) -> int:
        return int(
            await conn.fetchval("SELECT COUNT(*) FROM delivery_failures WHERE domain = $1", domain)
        )

    with trio.fail_after(10):
        while await rt.store.read(failure_days):
            await trio.sleep(0.02)


async def _due_now(conn: Connection, job_id: int) -> None:
    await conn.execute("UPDATE jobs SET run_at = $1 WHERE id = $2", now_ms(), job_id)
