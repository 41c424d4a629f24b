"""Durable jobs: enqueued with the change, leased, retried, parked, never lost."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.jobproc import CRASHABLE
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs import JobKind, JobRegistry, PermanentFailure, RetryLater
from wildebeest_trio.jobs.kinds import mastodon_backoff
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection
from wildebeest_trio.store import jobs as job_rows

REPO = Path(__file__).resolve().parent.parent

FAST = JobKind("test.fast", max_attempts=3, backoff=lambda attempt: 0.01)


async def _all_jobs(conn: Connection) -> list[dict[str, Any]]:
    return await conn.fetch("SELECT * FROM jobs ORDER BY id")


async def _enqueue(rt: Runtime, kind: JobKind, payload: dict[str, Any], **kw: Any) -> None:
    async def unit(conn: Connection) -> None:
        await kind.enqueue(conn, rt.ids, payload, **kw)

    await rt.store.write(unit)
    rt.wake_jobs()


async def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.02)


def test_mastodon_backoff_schedule() -> None:
    for attempt, base in [(1, 16), (2, 31), (5, 640), (16, 65551)]:
        delay = mastodon_backoff(attempt)
        assert base <= delay <= base + 0.5 * attempt**4


async def test_job_commits_with_its_change_or_not_at_all(rt: Runtime) -> None:
    async def change_and_fail(conn: Connection) -> None:
        await FAST.enqueue(conn, rt.ids, {"n": 1})
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await rt.store.write(change_and_fail)
    assert await rt.store.read(_all_jobs) == []


async def test_success_runs_once_and_removes_the_job(rt: Runtime) -> None:
    seen: list[dict[str, Any]] = []
    registry = JobRegistry()

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        seen.append(payload)

    registry.register(FAST, handler)
    rt.registry = registry
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 3)
        for i in range(10):
            await _enqueue(rt, FAST, {"n": i})

        async def drained() -> bool:
            return not await rt.store.read(_all_jobs)

        await _wait_for(drained)
        nursery.cancel_scope.cancel()
    assert sorted(p["n"] for p in seen) == list(range(10))


async def test_retries_then_parks_poison_without_blocking_others(rt: Runtime) -> None:
    registry = JobRegistry()
    good: list[int] = []

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        if payload.get("poison"):
            raise ValueError("this job always fails")
        good.append(payload["n"])

    registry.register(FAST, handler)
    rt.registry = registry
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        await _enqueue(rt, FAST, {"poison": True})
        for i in range(5):
            await _enqueue(rt, FAST, {"n": i})

        async def settled() -> bool:
            jobs = await rt.store.read(_all_jobs)
            return len(good) == 5 and len(jobs) == 1 and jobs[0]["state"] == "parked"

        await _wait_for(settled)
        nursery.cancel_scope.cancel()
    [parked] = await rt.store.read(_all_jobs)
    assert parked["attempts"] == FAST.max_attempts
    assert "ValueError: this job always fails" in parked["last_error"]
    # An admin retry puts it back with fresh attempts.
    assert await rt.store.write(job_rows.unpark, parked["id"], now_ms())
    [again] = await rt.store.read(_all_jobs)
    assert (again["state"], again["attempts"]) == ("pending", 0)


async def test_retry_later_and_permanent_failure(rt: Runtime) -> None:
    registry = JobRegistry()

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        if payload["mode"] == "later":
            raise RetryLater(3600, "peer said Retry-After: 3600")
        raise PermanentFailure("410 Gone")

    registry.register(FAST, handler)
    rt.registry = registry
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        await _enqueue(rt, FAST, {"mode": "later"})
        await _enqueue(rt, FAST, {"mode": "never"})

        async def settled() -> bool:
            jobs = await rt.store.read(_all_jobs)
            return all(j["attempts"] == 1 and j["state"] != "running" for j in jobs)

        await _wait_for(settled)
        nursery.cancel_scope.cancel()
    later, never = await rt.store.read(_all_jobs)
    assert later["state"] == "pending"
    assert later["run_at"] >= now_ms() + 3500 * 1000
    assert "Retry-After" in later["last_error"]
    assert never["state"] == "parked"
    assert "410 Gone" in never["last_error"]


async def test_cancelled_worker_hands_its_job_back(rt: Runtime) -> None:
    registry = JobRegistry()
    started = trio.Event()
    finished: list[int] = []

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        if not started.is_set():
            started.set()
            await trio.sleep_forever()
        finished.append(payload["n"])

    registry.register(FAST, handler)
    rt.registry = registry
    await _enqueue(rt, FAST, {"n": 7})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        await started.wait()
        nursery.cancel_scope.cancel()  # the worker dies mid-job
    [job] = await rt.store.read(_all_jobs)
    assert (job["state"], job["attempts"]) == ("pending", 0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)

        async def done() -> bool:
            return finished == [7] and not await rt.store.read(_all_jobs)

        await _wait_for(done)
        nursery.cancel_scope.cancel()


async def test_expired_lease_is_claimed_again(rt: Runtime) -> None:
    registry = JobRegistry()
    ran: list[int] = []

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        ran.append(payload["n"])

    registry.register(FAST, handler)
    rt.registry = registry
    await _enqueue(rt, FAST, {"n": 1})
    # A worker that claims the job and then vanishes without a word.
    claimed = await rt.store.write(
        job_rows.claim, kinds=[FAST.name], worker="ghost", now=now_ms(), lease_ms=300, limit=5
    )
    assert len(claimed) == 1
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)

        async def done() -> bool:
            return ran == [1] and not await rt.store.read(_all_jobs)

        await _wait_for(done)
        nursery.cancel_scope.cancel()


def _worker(database_url: str, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobproc", database_url, str(folder)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_job_survives_kill_9_of_its_worker(rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "hang").touch()
    await _enqueue(rt, CRASHABLE, {"note": "survivor"})
    first = _worker(rt.config.database_url, tmp_path)
    try:
        with trio.fail_after(30):
            while not list(tmp_path.glob("started-*")):
                assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
                await trio.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    [job] = await rt.store.read(_all_jobs)
    assert job["state"] == "running"  # leased to a dead process
    (tmp_path / "hang").unlink()
    second = _worker(rt.config.database_url, tmp_path)
    try:
        with trio.fail_after(30):
            while not (tmp_path / "done").exists() or await rt.store.read(_all_jobs):
                assert second.poll() is None, second.stderr.read().decode() if second.stderr else ""
                await trio.sleep(0.05)
    finally:
        second.terminate()
        second.wait()
    assert (tmp_path / "done").read_text() == "survivor\n"


class _SlowEmptyClaims:
    """The runtime's store, except that a claim finding nothing comes back late.

    Between a worker's empty claim and its wait for a wake-up, work is committed and
    the wake-up sent: the worker must not sleep through it until the next poll.
    """

    def __init__(self, inner: Any, found_nothing: Any, delay: float = 0.3) -> None:
        self._inner = inner
        self._found_nothing = found_nothing
        self._delay = delay
        self.in_window = 0

    async def write(self, unit: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self._inner.write(unit, *args, **kwargs)
        if self._found_nothing(unit, result):
            self.in_window += 1
            await trio.sleep(self._delay)
            self.in_window -= 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("workers", [1, 4])
async def test_work_queued_during_an_empty_claim_starts_at_once(rt: Runtime, workers: int) -> None:
    registry = JobRegistry()
    started = trio.Event()

    async def handler(_: Runtime, payload: dict[str, Any]) -> None:
        started.set()

    registry.register(FAST, handler)
    rt.registry = registry
    rt.config = dataclasses.replace(rt.config, job_poll_interval=10.0)
    store = rt.store
    slow = _SlowEmptyClaims(store, lambda unit, result: unit is job_rows.claim and not result)
    rt.store = slow  # type: ignore[assignment]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, workers)
        with trio.fail_after(5):
            while slow.in_window < workers:  # every worker has just found nothing
                await trio.sleep(0.001)
        queued = trio.current_time()

        async def unit(conn: Connection) -> None:
            await FAST.enqueue(conn, rt.ids, {"n": 1})

        await store.write(unit)
        rt.wake_jobs()
        with trio.fail_after(5):
            await started.wait()
        # Within the slow claim's delay, not at the next poll ten seconds on.
        assert trio.current_time() - queued < 2.0
        nursery.cancel_scope.cancel()


async def test_a_post_made_during_an_empty_outbox_pass_is_dispatched_at_once(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wildebeest_trio.federation import outbox
    from wildebeest_trio.services import statuses
    from wildebeest_trio.services.accounts import create_local_account
    from wildebeest_trio.store import outbox as outbox_rows

    alice = await create_local_account(rt, "alice", "alice@example.org", password="pw-123456")
    monkeypatch.setattr(outbox, "MAX_POLL", 10.0)
    rt.config = dataclasses.replace(rt.config, job_poll_interval=10.0)
    store = rt.store
    slow = _SlowEmptyClaims(
        store, lambda unit, result: "dispatch_pending" in unit.__qualname__ and result == (0, 0)
    )
    rt.store = slow  # type: ignore[assignment]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.run_outbox, rt)
        with trio.fail_after(5):
            while not slow.in_window:
                await trio.sleep(0.001)
        posted = trio.current_time()
        await statuses.post(rt, alice.account_id, statuses.Draft(text="wake up"))
        with trio.fail_after(5):
            while await store.read(outbox_rows.pending):
                await trio.sleep(0.01)
        assert trio.current_time() - posted < 2.0
        nursery.cancel_scope.cancel()
