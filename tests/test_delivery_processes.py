"""The wake-up pipe between `serve` and its delivery processes."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import trio

from wildebeest_trio.delivery_processes import _relay_wakeups, follow_parent
from wildebeest_trio.runtime import JobSignal


def _runtime() -> Any:
    signal = JobSignal()
    return SimpleNamespace(job_signal=signal, wake_jobs=signal.notify)


async def test_jobs_queued_by_the_parent_wake_the_child_at_once() -> None:
    parent, child = _runtime(), _runtime()
    read_end, write_end = os.pipe()
    gone = trio.Event()
    async with trio.open_nursery() as nursery:
        pipe = trio.lowlevel.FdStream(write_end)
        nursery.start_soon(_relay_wakeups, parent, {pipe})
        nursery.start_soon(follow_parent, child, gone, read_end)
        for woken in (1, 2, 3):
            await trio.sleep(0.05)  # both sides waiting
            seen = child.job_signal.generation
            parent.wake_jobs()
            with trio.fail_after(2):
                await child.job_signal.wait_at_most(10.0, seen)
            assert child.job_signal.generation >= woken
        assert not gone.is_set()
        # The parent's end closes (it exited, or was killed): the child learns it is gone.
        await pipe.aclose()
        with trio.fail_after(2):
            await gone.wait()
        nursery.cancel_scope.cancel()
    os.close(read_end)
