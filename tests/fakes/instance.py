"""The instance under test as the fake servers meet it: allowed to reach 127.0.0.1, its stream
relay running, its due jobs run on demand or by workers until a condition holds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from tests.conftest import make_config
from tests.fakes.remote import ca_pem_file
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.inbox import INBOX
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.http import create_app
from wildebeest_trio.ids import now_ms
from wildebeest_trio.inbox.consumer import apply_due
from wildebeest_trio.jobs.worker import run_job, run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.store import jobs as job_rows
from wildebeest_trio.streaming.relay import run_relay


@pytest.fixture
async def local(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    """The instance under test, allowed to fetch from 127.0.0.1 (the fake servers), with
    its stream relay running as a server's does (on PostgreSQL, stream events come back
    to this process's hub through it)."""
    config = make_config(tmp_path, database_url, allow_private_addresses=True)
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        await ensure_instance_actor(rt)
        await nursery.start(run_relay, rt)
        yield rt
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def trusting_instance(
    tmp_path: Path, database_url: str, ca: trustme.CA, **settings: Any
) -> AsyncIterator[tuple[Runtime, Any]]:
    """An instance under test that trusts the tests' CA (https sites on 127.0.0.1) and may
    reach 127.0.0.1, with its instance actor; (runtime, test client)."""
    config = make_config(
        tmp_path,
        database_url,
        allow_private_addresses=True,
        ca_bundle=str(ca_pem_file(ca, tmp_path)),
        **settings,
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_actor(rt)
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            yield rt, app.test_client()


@pytest.fixture
async def api(local: Runtime) -> AsyncIterator[Any]:
    """A test client of the instance under test."""
    await ensure_instance_keys(local)
    app = create_app(local)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def drain(rt: Runtime, kinds: Sequence[str] = (INBOX.name,)) -> int:
    """Run every due job of `kinds` (inbox jobs by default) now, as a server would (inbox
    jobs in the inbox consumer's batches, others one by one as a worker runs them); how
    many ran."""
    ran = 0
    if INBOX.name in kinds:
        while claimed := await apply_due(rt, "test", limit=10):
            ran += claimed
    others = [kind for kind in kinds if kind != INBOX.name]
    while others:
        claimed = await rt.store.write(
            job_rows.claim,
            kinds=others,
            worker="test",
            now=now_ms(),
            lease_ms=60_000,
            limit=10,
        )
        if not claimed:
            break
        for job in claimed:
            await run_job(rt, "test", job)
            ran += 1
    return ran


async def settle(rt: Runtime, predicate: Callable[[], Awaitable[bool]]) -> None:
    """Run two job workers until `predicate()` holds (15 seconds at most)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 2)
        with trio.fail_after(15):
            while not await predicate():
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


async def queued_deliveries(rt: Runtime) -> list[dict[str, Any]]:
    """The delivery jobs queued, oldest first: each payload with its activity as `body`
    (stored once per fan-out in `job_shared_payloads`, or inline in an older job)."""

    async def read(conn: Any) -> list[dict[str, Any]]:
        found = await conn.fetch(
            "SELECT j.payload, s.data FROM jobs j LEFT JOIN job_shared_payloads s "
            "ON s.id = j.shared_id WHERE j.kind = $1 ORDER BY j.id",
            DELIVER.name,
        )
        jobs = []
        for row in found:
            payload = json.loads(row["payload"])
            if row["data"] is not None:
                payload["body"] = row["data"]
            jobs.append(payload)
        return jobs

    return await rt.store.read(read)
