"""Outgoing deliveries to fake inboxes that verify every signature, and Mastodon's retry rules."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
import trustme
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_config
from tests.fakes.instance import settle
from tests.fakes.remote import RemoteServer, ca_pem_file, start_remote, trust_local_key
from wildebeest_trio import metrics
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.breakers import Breakers
from wildebeest_trio.delivery_pool import PER_HOST_CONCURRENCY
from wildebeest_trio.federation.delivery import DELIVER, enqueue_deliveries, mark_domain_available
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.net import FetchError, tls_context
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import delivery as delivery_rows
from wildebeest_trio.store import jobs as job_rows

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


def _key_id(rt: Runtime) -> str:
    return f"{rt.config.base_url}/users/alice#main-key"


async def _queue(rt: Runtime, receiver: RemoteServer, inboxes: list[str], n: int = 1) -> int:
    key_id = _key_id(rt)
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
                await rt.delivery.post(urlsplit(inbox), [], b"", rt.outbound)
        with pytest.raises(FetchError, match="no DNS server may be asked"):
            await rt.delivery.post(urlsplit("https://example.org/inbox"), [], b"", rt.outbound)


async def _shared_rows(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT COUNT(*) FROM job_shared_payloads"))

    return await rt.store.read(unit)


def _paths(receiver: RemoteServer) -> list[str]:
    """The inbox path of each accepted POST."""
    return [r.path for r in receiver.received]


def _name(job: dict[str, Any]) -> str:
    """The account part of a job's inbox, `/users/<name>/inbox`."""
    return str(json.loads(job["payload"])["inbox"]).rsplit("/", 2)[1]


async def _five_inboxes_two_failing(sender: Runtime, receiver: RemoteServer) -> None:
    """Deliver to five inboxes of one host, of which b answers 500 and c 410, and wait
    until the batch is done."""
    receiver.answer(f"{receiver.base}/users/b/inbox", 500)
    receiver.answer(f"{receiver.base}/users/c/inbox", 410)
    inboxes = [f"{receiver.base}/users/{name}/inbox" for name in "abcde"]
    assert await _queue(sender, receiver, inboxes) == 5

    async def settled() -> bool:
        jobs = await _jobs(sender)
        return len(jobs) == 2 and all(j["state"] != "running" for j in jobs)

    await settle(sender, settled)


async def test_one_failed_inbox_does_not_hold_back_the_rest_of_its_batch(
    sender: Runtime, receiver: RemoteServer
) -> None:
    await _five_inboxes_two_failing(sender, receiver)
    assert sorted(_paths(receiver)) == ["/users/a/inbox", "/users/d/inbox", "/users/e/inbox"]
    left = {_name(j): (j["state"], j["attempts"]) for j in await _jobs(sender)}
    assert left == {"b": ("pending", 1), "c": ("parked", 1)}
    # The failure is on the domain's record; the successes did not clear it.
    domain = receiver.base.removeprefix("http://")

    async def failure_days(conn: Connection) -> int:
        return int(
            await conn.fetchval("SELECT COUNT(*) FROM delivery_failures WHERE domain = $1", domain)
        )

    assert await sender.store.read(failure_days) == 1


async def test_the_activity_is_stored_once_for_all_its_inboxes(
    sender: Runtime, receiver: RemoteServer
) -> None:
    inboxes = [f"{receiver.base}/users/{n}/inbox" for n in range(30)]
    receiver.answer(f"{receiver.base}/users/0/inbox", 404)
    assert await _queue(sender, receiver, inboxes) == 30
    assert await _queue(sender, receiver, inboxes) == 0  # the same activity, already queued
    jobs = await _jobs(sender)
    assert len({j["shared_id"] for j in jobs}) == 1
    assert all(set(json.loads(j["payload"])) == {"inbox", "key_id"} for j in jobs)
    assert await _shared_rows(sender) == 1

    async def settled() -> bool:
        jobs = await _jobs(sender)
        return len(receiver.received) == 29 and [j["state"] for j in jobs] == ["parked"]

    await settle(sender, settled)
    assert all(r.activity == _activity(sender) for r in receiver.received)
    # A parked job may be retried by an admin: its activity stays while it does.
    assert await sender.store.write(job_rows.purge_shared_payloads) == 0

    async def forget_jobs(conn: Connection) -> None:
        await conn.execute("DELETE FROM jobs")

    await sender.store.write(forget_jobs)
    assert await sender.store.write(job_rows.purge_shared_payloads) == 1
    assert await _shared_rows(sender) == 0


async def test_deliveries_to_a_host_reuse_one_connection(
    sender: Runtime, receiver: RemoteServer
) -> None:
    for n in (1, 2, 3):
        await _queue(sender, receiver, [f"{receiver.base}/inbox"], n=n)

        async def delivered(count: int = n) -> bool:
            return len(receiver.received) == count and not await _jobs(sender)

        await settle(sender, delivered)
    assert len(receiver.requests) == 3
    assert len({r.client_port for r in receiver.requests}) == 1


async def _closing_server(nursery: trio.Nursery, log: list[tuple[int, str]]) -> str:
    """A server that answers each connection's first POST with 202, then hangs up
    without saying so (as a server closing an idle kept-alive connection does)."""

    async def handle(stream: trio.SocketStream) -> None:
        connection = len({n for n, _ in log}) + 1
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += await stream.receive_some(65536)
        log.append((connection, head.split(b" ", 2)[1].decode()))
        await stream.send_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        await trio.sleep(0.1)
        await stream.aclose()

    listeners = await nursery.start(functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
    return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"


async def test_a_connection_the_peer_closed_while_idle_is_replaced(
    sender: Runtime, nursery: trio.Nursery
) -> None:
    log: list[tuple[int, str]] = []
    base = await _closing_server(nursery, log)
    for n in (1, 2):
        await _queue(sender, RemoteServer(ports=[]), [f"{base}/inbox"], n=n)

        async def delivered(count: int = n) -> bool:
            return len(log) == count and not await _jobs(sender)

        await settle(sender, delivered)
        await trio.sleep(0.3)  # the peer hangs up meanwhile
    # The second went through on the first attempt, on a new connection.
    assert log == [(1, "/inbox"), (2, "/inbox")]


async def test_delivery_over_tls(
    sender: Runtime, nursery: trio.Nursery, tmp_path: Path, tls_ca: trustme.CA
) -> None:
    receiver = await start_remote(nursery, tls=(tls_ca, tmp_path), verify=True)
    inbox = f"{receiver.base}/inbox"
    # The process's TLS context trusts the usual authorities, not this certificate.
    await _queue(sender, receiver, [inbox], n=1)

    async def attempted() -> bool:
        jobs = await _jobs(sender)
        return bool(jobs) and jobs[0]["attempts"] == 1 and jobs[0]["state"] != "running"

    await settle(sender, attempted)
    [job] = await _jobs(sender)
    assert "CERTIFICATE_VERIFY_FAILED" in job["last_error"]
    assert receiver.requests == []

    sender.outbound.tls = tls_context(ca_bundle=str(ca_pem_file(tls_ca, tmp_path)))

    async def retry_now(conn: Connection) -> None:
        await conn.execute("UPDATE jobs SET run_at = 0")

    await sender.store.write(retry_now)
    for count, n in ((1, 1), (2, 2)):
        if n == 2:
            await _queue(sender, receiver, [inbox], n=2)

        async def delivered(count: int = count) -> bool:
            return len(receiver.received) == count and not await _jobs(sender)

        await settle(sender, delivered)
    assert len(receiver.requests) == 2
    assert len({r.client_port for r in receiver.requests}) == 1  # one kept-alive TLS connection


async def test_a_stopped_worker_hands_back_what_it_had_not_finished(
    sender: Runtime, receiver: RemoteServer
) -> None:
    receiver.answer(f"{receiver.base}/users/slow/inbox", delay=3600)  # a peer that hangs
    names = ["a", "slow", "b"]
    await _queue(sender, receiver, [f"{receiver.base}/users/{name}/inbox" for name in names])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, sender, 1)
        with trio.fail_after(15):
            # The two others are done and recorded; the slow one is under way.
            while len(await _jobs(sender)) > 1 or "/users/slow/inbox" not in [
                r.path for r in receiver.requests
            ]:
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()  # shutdown while one POST hangs
    [job] = await _jobs(sender)
    assert _name(job) == "slow"
    # Due again at once, the interrupted attempt not counted.
    assert (job["state"], job["attempts"], job["locked_by"]) == ("pending", 0, None)
    assert sorted(_paths(receiver)) == ["/users/a/inbox", "/users/b/inbox"]


async def test_a_malformed_inbox_fails_alone(sender: Runtime, receiver: RemoteServer) -> None:
    bad = ["http://[::1/inbox", f"{receiver.base.rsplit(':', 1)[0]}:99999/inbox", "ftp://x/inbox"]
    good = f"{receiver.base}/users/a/inbox"
    assert await _queue(sender, receiver, [*bad, good]) == 4

    async def settled() -> bool:
        jobs = await _jobs(sender)
        return len(receiver.received) == 1 and [j["state"] for j in jobs] == ["parked"] * 3

    await settle(sender, settled)
    assert _paths(receiver) == ["/users/a/inbox"]
    assert all("not an http(s) URL" in j["last_error"] for j in await _jobs(sender))


async def test_a_delivery_queued_before_activities_were_stored_once_still_goes(
    sender: Runtime, receiver: RemoteServer
) -> None:
    # An older release queued each delivery with the whole activity in its payload.
    await _queue(sender, receiver, [])
    inbox = f"{receiver.base}/inbox"
    body = json.dumps(_activity(sender, 7))

    async def unit(conn: Connection) -> None:
        await job_rows.enqueue(
            conn,
            job_id=sender.ids.next_id(),
            kind=DELIVER.name,
            payload={"inbox": inbox, "key_id": _key_id(sender), "body": body},
            now=now_ms(),
            max_attempts=16,
        )

    await sender.store.write(unit)

    async def delivered() -> bool:
        return len(receiver.received) == 1 and not await _jobs(sender)

    await settle(sender, delivered)
    assert [r.activity for r in receiver.received] == [_activity(sender, 7)]


async def test_a_fan_out_is_queued_one_host_after_another(
    sender: Runtime, receiver: RemoteServer
) -> None:
    # Followers come sorted by URL, so grouped by host; jobs are claimed in queue order.
    grouped = [
        "https://a.example/users/1/inbox",
        "https://a.example/users/2/inbox",
        "https://a.example/users/3/inbox",
        "https://b.example/inbox",
        "https://c.example/users/1/inbox",
        "https://c.example/users/2/inbox",
    ]
    assert await _queue(sender, receiver, grouped) == 6
    queued = [json.loads(j["payload"])["inbox"] for j in await _jobs(sender)]
    assert queued == [grouped[i] for i in (0, 3, 4, 1, 5, 2)]


async def test_deliveries_to_one_host_are_bounded(sender: Runtime, receiver: RemoteServer) -> None:
    receiver.delay = 0.2  # slow enough that the batch piles up on the host
    inboxes = [f"{receiver.base}/users/{n}/inbox" for n in range(30)]
    await _queue(sender, receiver, inboxes)

    async def delivered() -> bool:
        return len(receiver.received) == 30 and not await _jobs(sender)

    await settle(sender, delivered)
    # As many at once as a host may take from this process, never more.
    assert receiver.most_at_once == PER_HOST_CONCURRENCY


async def test_a_failing_inbox_is_left_alone_while_its_breaker_is_open(
    sender: Runtime, receiver: RemoteServer
) -> None:
    sender.delivery.breakers = Breakers(threshold=2, cool_off=600)
    receiver.answer(receiver.base, 500)
    inbox = f"{receiver.base}/inbox"
    for n in (1, 2, 3):
        await _queue(sender, receiver, [inbox], n=n)

        async def attempted(count: int = n) -> bool:
            jobs = await _jobs(sender)
            return len(jobs) == count and all(
                j["attempts"] == 1 and j["state"] == "pending" for j in jobs
            )

        await settle(sender, attempted)
    # Two failures in a row opened it: the third delivery waits without a request.
    assert len(receiver.requests) == 2
    third = (await _jobs(sender))[-1]
    assert "circuit breaker open" in third["last_error"]
    assert third["run_at"] >= now_ms() + 500_000


def _delivery_counts() -> tuple[dict[str, float], dict[str, float]]:
    """Deliveries by result, and by result summed over the domain labels (the metrics)."""
    totals: dict[str, float] = {}
    by_domain: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            result = sample.labels.get("result", "")
            if sample.name == "wildebeest_deliveries_total":
                totals[result] = sample.value
            elif sample.name == "wildebeest_deliveries_by_domain_total":
                by_domain[result] = by_domain.get(result, 0) + sample.value
    return totals, by_domain


async def test_deliveries_are_counted_by_result(sender: Runtime, receiver: RemoteServer) -> None:
    totals, by_domain = _delivery_counts()
    await _queue(sender, receiver, [f"{receiver.base}/inbox"])

    async def delivered() -> bool:
        return len(receiver.received) == 1 and not await _jobs(sender)

    await settle(sender, delivered)
    receiver.answer(receiver.base, 403, "no")
    await _queue(sender, receiver, [f"{receiver.base}/inbox"], n=2)

    async def parked() -> bool:
        return any(job["state"] == "parked" for job in await _jobs(sender))

    await settle(sender, parked)
    after, after_by_domain = _delivery_counts()
    for result in ("delivered", "refused"):
        assert after[result] == totals.get(result, 0) + 1
        assert after_by_domain[result] == by_domain.get(result, 0) + 1


async def test_the_admin_dashboard_counts_deliveries_by_domain(
    sender: Runtime, receiver: RemoteServer
) -> None:
    from tests.web_helpers import html_of, local_user, log_in
    from wildebeest_trio.http import create_app

    await _five_inboxes_two_failing(sender, receiver)
    await local_user(sender, "boss", role="admin")
    async with create_app(sender).test_app() as app:
        client = app.test_client()
        await log_in(client, "boss")
        html = await html_of(client, "/admin")
    domain = receiver.base.removeprefix("http://")
    assert f"<tr><td>{domain}</td><td>3</td><td>2</td></tr>" in html
    assert '<title id="deliveries-title">Deliveries by domain</title>' in html
    assert html.count('class="failed"') == 1
