"""Background tasks: a crash is logged and the task restarted with growing pauses."""

from __future__ import annotations

import functools
import itertools
import logging
from pathlib import Path

import pytest
import trio
import trio.testing

from wildebeest_trio.config import SETTINGS
from wildebeest_trio.supervise import supervise


async def test_crashing_task_is_restarted_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[float] = []
    done = trio.Event()

    async def flaky() -> None:
        runs.append(trio.current_time())
        if len(runs) < 4:
            raise RuntimeError(f"crash {len(runs)}")
        done.set()
        await trio.sleep_forever()

    with caplog.at_level(logging.ERROR):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(supervise, "flaky", flaky, initial_backoff=0.01))
            with trio.fail_after(5):
                await done.wait()
            nursery.cancel_scope.cancel()
    assert len(runs) == 4
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02 and gaps[2] >= 0.04
    crashes = [r for r in caplog.records if "flaky crashed" in r.getMessage()]
    assert len(crashes) == 3
    assert crashes[0].exc_info is not None


async def test_cancellation_passes_through() -> None:
    started = trio.Event()

    async def forever() -> None:
        started.set()
        await trio.sleep_forever()

    with trio.move_on_after(5) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(supervise, "forever", forever)
            await started.wait()
            nursery.cancel_scope.cancel()
    assert not scope.cancelled_caught


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert not missing, (
        f"README's configuration table lacks {missing} (see `wildebeest-trio config`)"
    )
