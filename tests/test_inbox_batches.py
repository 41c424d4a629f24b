"""The inbox consumer: activities applied in batches, an actor fetched once however many
activities name it at the same time, a failure retried alone, nothing lost when a
consumer dies mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio

from tests.conftest import make_config
from tests.fakes.instance import drain
from tests.fakes.remote import PUBLIC, RemoteActor, RemoteServer, deliver
from tests.fakes.rows import rows
from tests.social import make_user
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.inbox import INBOX
from wildebeest_trio.ids import now_ms
from wildebeest_trio.inbox.consumer import apply_due
from wildebeest_trio.net import FETCH_PER_HOST
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.server import run_process
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)

REPO = Path(__file__).resolve().parent.parent


def _mention(local: Runtime, remote: RemoteServer, actor: RemoteActor, text: str) -> Any:
    """A note by `actor` mentioning local alice (so it is stored here)."""
    alice = f"{local.config.base_url}/users/alice"
    return remote.note(
        actor,
        content=f"<p>{text}</p>",
        tag=[{"type": "Mention", "href": alice}],
        cc=[alice],
    )


def _create(remote: RemoteServer, actor: RemoteActor, note: Any) -> dict[str, Any]:
    """A Create with `note` embedded."""
    return remote.activity(actor, "Create", note, to=[PUBLIC], cc=note["cc"])


async def _status_uris(local: Runtime) -> list[str]:
    return sorted(
        r["uri"] for r in await rows(local, "SELECT uri FROM statuses WHERE deleted_at IS NULL")
    )


async def _inbox_jobs(local: Runtime) -> list[dict[str, Any]]:
    return await rows(local, "SELECT * FROM jobs WHERE kind = $1 ORDER BY id", INBOX.name)


async def test_an_unknown_actor_posting_twenty_times_at_once_is_fetched_once(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    notes = [_mention(local, remote, bob, f"hello {i}") for i in range(20)]
    answers: list[int] = []

    async def send(note: Any) -> None:
        answers.append(await deliver(api, local, bob, _create(remote, bob, note)))

    async with trio.open_nursery() as nursery:
        for note in notes:
            nursery.start_soon(send, note)
    assert answers == [202] * 20
    assert remote.gets(bob.uri) == 1
    assert await drain(local) == 20
    assert await _status_uris(local) == sorted(n["id"] for n in notes)
    assert remote.gets(bob.uri) == 1


async def _queue(
    local: Runtime, remote: RemoteServer, notes: list[tuple[RemoteActor, Any]]
) -> None:
    """Inbox jobs for Creates of `notes` (actor, note), as if accepted on another process's
    word: their actors need not be known here."""

    async def unit(conn: Connection) -> None:
        for actor, note in notes:
            payload = {
                "activity": _create(remote, actor, note),
                "actor": actor.uri,
                "signer": actor.uri,
                "delivered_to": None,
            }
            await INBOX.enqueue(conn, local.ids, payload)

    await local.store.write(unit)


async def test_one_activity_delivered_five_times_at_once_is_queued_once(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    """The five copies are stored in one batch (the store is busy with an earlier one
    while they arrive): the first is queued, the other four are replays."""
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    first = _create(remote, bob, _mention(local, remote, bob, "first"))
    assert await deliver(api, local, bob, first) == 202
    create = _create(remote, bob, _mention(local, remote, bob, "said once"))
    answers: list[int] = []
    earlier_batch_done = trio.Event()

    async def earlier_batch(items: list[None]) -> list[None]:
        await earlier_batch_done.wait()
        return [None for _ in items]

    async def send() -> None:
        answers.append(await deliver(api, local, bob, create))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(local.inbox_writes.submit, None, earlier_batch)
        for _ in range(5):
            nursery.start_soon(send)
        with trio.fail_after(10):
            while local.inbox_writes.waiting() < 5:
                await trio.sleep(0.01)
        earlier_batch_done.set()
    assert answers == [202] * 5
    assert len(await _inbox_jobs(local)) == 2
    assert await drain(local) == 2
    assert create["object"]["id"] in await _status_uris(local)
    assert len(await _status_uris(local)) == 2


async def test_activities_naming_an_unknown_actor_fetch_it_once(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    """Batches applied side by side, all naming an actor not known here (its account was
    accepted on another process's word, say): one fetch of the actor for all of them."""
    await make_user(local, api, "alice")
    carol = remote.actor("carol")
    notes = [_mention(local, remote, carol, f"hi {i}") for i in range(20)]
    await _queue(local, remote, [(carol, note) for note in notes])
    remote.held.add(carol.uri)  # every batch gets to the fetch before it answers
    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(apply_due, local, f"consumer-{i}", 5)
        with trio.fail_after(10):
            while remote.gets(carol.uri) < 1:
                await trio.sleep(0.01)
        await trio.sleep(0.3)
        remote.held.clear()
    assert remote.gets(carol.uri) == 1
    assert await _status_uris(local) == sorted(n["id"] for n in notes)
    assert await _inbox_jobs(local) == []


async def test_a_batch_is_bounded_and_reaches_a_host_a_few_requests_at_a_time(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    """One pass of the consumer claims its limit of jobs at most (BATCH unless told);
    their actors, all unknown here and on one slow host, are fetched side by side but
    FETCH_PER_HOST at a time at most."""
    await make_user(local, api, "alice")
    actors = [remote.actor(f"a{i}") for i in range(FETCH_PER_HOST + 4)]
    await _queue(local, remote, [(a, _mention(local, remote, a, "hi")) for a in actors])
    remote.delay = 0.2
    assert await apply_due(local, "consumer", FETCH_PER_HOST + 2) == FETCH_PER_HOST + 2
    assert remote.most_at_once == FETCH_PER_HOST
    assert len(await _status_uris(local)) == FETCH_PER_HOST + 2
    assert len(await _inbox_jobs(local)) == 2


async def test_a_failing_activity_is_retried_alone(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    good = [_mention(local, remote, bob, f"fine {i}") for i in range(4)]
    bad = _mention(local, remote, bob, "on a server that is down")
    remote.answer(bad["id"], 503)
    order = [*good[:2], bad["id"], *good[2:]]  # the bad Create names its note by id
    for note in order:
        activity = remote.activity(bob, "Create", note, to=[PUBLIC], cc=bad["cc"])
        assert await deliver(api, local, bob, activity) == 202
    assert await drain(local) == 5
    assert await _status_uris(local) == sorted(n["id"] for n in good)
    [job] = await _inbox_jobs(local)
    assert job["payload"] and bad["id"] in str(job["payload"])
    assert job["state"] == "pending" and job["attempts"] == 1
    assert job["run_at"] > now_ms() and "503" in (job["last_error"] or "")
    # The next attempt, once the server is back, stores it; nothing else is applied again.
    remote.answers.clear()

    async def due_now(conn: Connection) -> None:
        await conn.execute("UPDATE jobs SET run_at = 0")

    await local.store.write(due_now)
    assert await drain(local) == 1
    assert await _status_uris(local) == sorted([bad["id"], *(n["id"] for n in good)])
    assert await _inbox_jobs(local) == []


async def test_an_actors_activities_apply_in_the_order_they_came(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    carol = remote.actor("carol")
    kept = _mention(local, remote, carol, "kept")
    gone = _mention(local, remote, bob, "deleted at once")
    tombstone = {"id": gone["id"], "type": "Tombstone"}
    assert await deliver(api, local, bob, _create(remote, bob, gone)) == 202
    assert await deliver(api, local, carol, _create(remote, carol, kept)) == 202
    assert await deliver(api, local, bob, remote.activity(bob, "Delete", tombstone)) == 202
    assert await drain(local) == 3  # one batch
    assert await _status_uris(local) == [kept["id"]]


async def _half_done_batch(
    api: Any, local: Runtime, remote: RemoteServer, quick_notes: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Bob's Create names a note on a server that hangs, carol's embed theirs: a batch of
    them gets carol's in while bob's is still being fetched. (bob's note, carol's)"""
    await make_user(local, api, "alice")
    bob = remote.actor("bob")
    carol = remote.actor("carol")
    slow = _mention(local, remote, bob, "fetched from a server that hangs")
    quick = [_mention(local, remote, carol, f"quick {i}") for i in range(quick_notes)]
    remote.held.add(slow["id"])
    activity = remote.activity(bob, "Create", slow["id"], to=[PUBLIC], cc=slow["cc"])
    assert await deliver(api, local, bob, activity) == 202
    for note in quick:
        assert await deliver(api, local, carol, _create(remote, carol, note)) == 202
    return slow, quick


def _consumer(database_url: str, folder: Path, listen: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "stderr.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.inboxproc", database_url, str(folder), listen],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def test_a_consumer_killed_mid_batch_loses_nothing(
    api: Any, local: Runtime, remote: RemoteServer, tmp_path: Path
) -> None:
    slow, quick = await _half_done_batch(api, local, remote, 3)
    process = _consumer(local.config.database_url, tmp_path / "consumer", local.config.listen)
    try:
        with trio.fail_after(60):
            # Carol's notes are in, bob's is being fetched: the batch is half done.
            while remote.gets(slow["id"]) < 1 or len(await _status_uris(local)) < 3:
                assert process.poll() is None, (tmp_path / "consumer/stderr.log").read_text()
                await trio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    jobs = await _inbox_jobs(local)
    assert [j["state"] for j in jobs] == ["running"] * 4  # leased to a dead process
    remote.held.clear()
    await trio.sleep(1.2)  # the consumer's lease (1 s) runs out
    assert await drain(local) == 4
    assert await _status_uris(local) == sorted([slow["id"], *(n["id"] for n in quick)])
    assert await _inbox_jobs(local) == []


async def test_a_consumer_shut_down_mid_batch_hands_back_what_it_did_not_apply(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    slow, [quick] = await _half_done_batch(api, local, remote, 1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(apply_due, local, "consumer", 10)
        with trio.fail_after(10):
            while remote.gets(slow["id"]) < 1 or not await _status_uris(local):
                await trio.sleep(0.02)
        nursery.cancel_scope.cancel()  # shutdown, mid-batch
    [job] = await _inbox_jobs(local)
    assert slow["id"] in str(job["payload"])
    assert job["state"] == "pending" and job["attempts"] == 0  # given back, not counted
    assert await _status_uris(local) == [quick["id"]]
    remote.held.clear()
    assert await drain(local) == 1
    assert await _status_uris(local) == sorted([slow["id"], quick["id"]])


async def test_a_process_told_to_leave_the_inbox_applies_none_of_it(
    tmp_path: Path, database_url: str
) -> None:
    """`inbox_consumers = 0` (a `serve` beside workers): its process runs its job workers
    but applies no inbox job; a process with consumers applies it."""
    activity = {"id": "https://elsewhere.example/listens/1", "type": "Listen"}
    payload = {"activity": activity, "actor": None, "signer": None, "delivered_to": None}

    async def run_a_while(consumers: int) -> list[dict[str, Any]]:
        config = make_config(
            tmp_path, database_url, inbox_consumers=consumers, job_poll_interval=0.05
        )
        async with open_server_runtime(config) as rt:
            if consumers == 0:
                await rt.store.write(INBOX.enqueue, rt.ids, payload)
            with trio.move_on_after(1.5):
                await run_process(rt, http=False)
            return await _inbox_jobs(rt)

    [left] = await run_a_while(0)
    assert left["state"] == "pending" and left["attempts"] == 0
    assert await run_a_while(1) == []
