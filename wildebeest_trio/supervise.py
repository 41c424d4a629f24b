"""Keep a background task running: log its crash and restart it with backoff."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

log = logging.getLogger(__name__)


async def supervise(
    name: str,
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    healthy_after: float = 60.0,
) -> None:
    """Run `fn(*args)` forever; a crash is logged and the task restarted after a pause.

    The pause doubles with each quick crash and resets once the task has run for
    `healthy_after` seconds. Cancellation passes straight through.
    """
    backoff = initial_backoff
    while True:
        started = trio.current_time()
        try:
            await fn(*args)
        except Exception:
            log.exception("%s crashed; restarting in %.1fs", name, backoff)
        else:
            log.warning("%s returned; restarting in %.1fs", name, backoff)
        if trio.current_time() - started >= healthy_after:
            backoff = initial_backoff
        await trio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
