"""Outgoing deliveries to fake inboxes that verify every signature, and Mastodon's retry rules."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import make_config
from tests.fakes.instance import settle
from tests.fakes.remote import RemoteServer, trust_local_key
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.delivery import DELIVER, enqueue_deliveries, mark_domain_available
from wildebeest_trio.ids import now_ms
from wildebeest_trio.net import FetchError
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import delivery as delivery_rows

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def receiver(remote: RemoteServer) -> RemoteServer:
    """A fake remote inbox verifying signatures with the sender's key (see `_queue`)."""
    remote.verify = True
    return remote


def _schemes(receiver: RemoteServer) -> list[str]:
    """How each POST that reached the receiver was signed."""
    return [r.scheme for r in receiver.requests]


@pytest.fixture
async def sender(tmp_path: Any, database_url: str) -> AsyncIterator[Runtime]:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime

    config = make_config(tmp_path, database_url, allow_private_addresses=True)
    async with open_server_runtime(config) as rt:
        await create_local_account(rt, "alice", "alice@example.org", password="password123")
        yield rt


def _activity(rt: Runtime, n: int = 1) -> dict[str, Any]:
    actor = f"{rt.config.base_url}/users/alice"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#notes/{n}",
        "type": "Create",
        "actor": actor,
        "object": f"{actor}/statuses/{n}",
    }


async def _queue(rt: Runtime, receiver: RemoteServer, inboxes: list[str], n: int = 1) -> int:
    key_id = f"{rt.config.base_url}/users/alice#main-key"
    await trust_local_key(rt, receiver, "alice")

    async def unit(conn: Connection) -> int:
        return await enqueue_deliveries(
            conn, rt.ids, key_id=key_id, activity=_activity(rt, n), inboxes=inboxes
        )

    count = await rt.store.write(unit)
    rt.wake_jobs()
    return count


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1 ORDER BY id", DELIVER.name)

    return await rt.store.read(unit)


async def test_signed_delivery_once_per_inbox(sender: Runtime, receiver: RemoteServer) -> None:
    inbox = f"{receiver.base}/inbox"
    assert await _queue(sender, receiver, [inbox, inbox, inbox]) == 1
    assert await _queue(sender, receiver, [inbox]) == 0  # the same activity is queued once

    async def done() -> bool:
        return len(receiver.received) == 1 and not await _jobs(sender)

    await settle(sender, done)
    assert receiver.received[0].activity["type"] == "Create"
    assert _schemes(receiver) == ["cavage"]


async def test_double_knock_with_rfc9421(sender: Runtime, receiver: RemoteServer) -> None:
    receiver.rfc9421_only = True
    await _queue(sender, receiver, [f"{receiver.base}/inbox"])

    async def done() -> bool:
        return len(receiver.received) == 1

    await settle(sender, done)
    assert _schemes(receiver) == ["cavage", "rfc9421"]


@pytest.mark.parametrize(
    ("status", "knocks"), [(401, ["cavage", "rfc9421"]), (500, ["cavage"]), (403, ["cavage"])]
)
async def test_a_refused_delivery_is_logged_with_the_answer(
    sender: Runtime,
    receiver: RemoteServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    knocks: list[str],
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio")
    receiver.answer(receiver.base, status, f"refused by policy\n(code {status})")
    inbox = f"{receiver.base}/inbox"
    await _queue(sender, receiver, [inbox])

    async def attempted() -> bool:
        jobs = await _jobs(sender)
        return bool(jobs) and jobs[0]["attempts"] == 1 and jobs[0]["state"] != "running"

    await settle(sender, attempted)
    assert _schemes(receiver) == knocks
    [record] = [
        r
        for r in caplog.records
        if r.name == "wildebeest_trio.federation.delivery" and inbox in r.getMessage()
    ]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert f"answered {status}" in message
    assert f"refused by policy (code {status})" in message  # on one line
    assert ("401 to draft-cavage" in message) is (len(knocks) == 2)
    assert f"{sender.config.base_url}/users/alice#main-key" in message


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (500, "pending"),
        (503, "pending"),
        (429, "pending"),
        (404, "parked"),
        (410, "parked"),
        (403, "parked"),
        (501, "parked"),
    ],
)
async def test_answers_are_judged_as_mastodon_does(
    sender: Runtime, receiver: RemoteServer, status: int, state: str
) -> None:
    receiver.answer(receiver.base, status, headers={"Retry-After": "120"}, times=1)
    await _queue(sender, receiver, [f"{receiver.base}/inbox"])

    async def attempted() -> bool:
        jobs = await _jobs(sender)
        return bool(jobs) and jobs[0]["attempts"] == 1 and jobs[0]["state"] != "running"

    await settle(sender, attempted)
    [job] = await _jobs(sender)
    assert job["state"] == state
    assert str(status) in job["last_error"]
    if status == 429:
        assert job["run_at"] >= now_ms() + 100_000  # Retry-After: 120 honoured
    elif state == "pending":
        assert job["run_at"] >= now_ms() + 15_000  # Mastodon's first backoff step


async def test_dead_domain_becomes_unavailable_and_recovers(
    sender: Runtime, receiver: RemoteServer
) -> None:
    domain = receiver.base.removeprefix("http://")
    for day in ("20261101", "20261102", "20261103", "20261104", "20261105", "20261106"):
        await sender.store.write(delivery_rows.record_failure, domain, day, now_ms())
    receiver.answer(receiver.base, 503, headers={"Retry-After": "120"}, times=1)
    await _queue(sender, receiver, [f"{receiver.base}/inbox"], n=1)

    async def attempted() -> bool:
        jobs = await _jobs(sender)
        return bool(jobs) and jobs[0]["attempts"] == 1 and jobs[0]["state"] != "running"

    await settle(sender, attempted)
    assert await sender.store.read(delivery_rows.is_unavailable, domain)
    # Later deliveries to it are dropped without a request.
    before = len(receiver.requests)
    await _queue(sender, receiver, [f"{receiver.base}/inbox"], n=2)

    async def skipped() -> bool:
        return (
            all(j["attempts"] <= 1 and j["state"] != "running" for j in await _jobs(sender))
            and len(await _jobs(sender)) == 1
        )

    await settle(sender, skipped)
    assert len(receiver.requests) == before
    # Hearing from the domain makes it available again.
    await mark_domain_available(sender, domain)
    assert not await sender.store.read(delivery_rows.is_unavailable, domain)


async def test_private_addresses_refused_without_the_setting(
    tmp_path: Any, database_url: str, receiver: RemoteServer
) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime

    config = make_config(tmp_path / "strict", database_url)
    async with open_server_runtime(config) as rt:
        await create_local_account(rt, "alice", "alice@example.org", password="password123")
        await _queue(rt, receiver, [f"{receiver.base}/inbox"])

        async def attempted() -> bool:
            jobs = await _jobs(rt)
            return bool(jobs) and jobs[0]["attempts"] == 1 and jobs[0]["state"] != "running"

        await settle(rt, attempted)
        [job] = await _jobs(rt)
        assert "private or loopback" in job["last_error"]
        assert receiver.requests == []


async def test_public_addresses_refused_outside_the_allow_list(
    tmp_path: Any, database_url: str
) -> None:
    """Deliveries and pushes connect through one pool: each refused outside WB_OUTBOUND_ALLOW,
    before any connection (the conftest guard fails the test on one)."""
    config = make_config(tmp_path / "open", database_url, allow_private_addresses=True)
    async with open_server_runtime(config) as rt:
        for inbox in ("https://93.184.216.34/inbox", "https://[2606:4700::1111]/inbox"):
            with pytest.raises(FetchError, match="outside WB_OUTBOUND_ALLOW"):
                await rt.delivery.client(urlsplit(inbox), rt.outbound)
        with pytest.raises(FetchError, match="no DNS server may be asked"):
            await rt.delivery.client(urlsplit("https://example.org/inbox"), rt.outbound)
