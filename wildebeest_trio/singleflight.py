"""Concurrent calls for the same key share one run of the work (per process)."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import trio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Flight(Generic[V]):
    """One run of the work, and what it came to."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self.finished = False
        self.value: V | None = None
        self.error: Exception | None = None


class SingleFlight(Generic[K, V]):
    """The first caller for a key runs the work; callers that come while it runs wait and
    get its value, or raise a copy of its exception, instead of running it again.

    Bounded: at most `limit` keys are worked on at once (a caller for another key waits
    for one to finish), and a key is forgotten as soon as its work ends, so the table
    holds no more than the callers waiting on it. A run cut short by cancellation gives
    its waiters nothing to share: the next of them runs the work itself.
    """

    def __init__(self, limit: int) -> None:
        self._running: dict[K, _Flight[V]] = {}
        self._slots = trio.Semaphore(limit)

    def in_flight(self) -> int:
        """How many keys are being worked on or waited for now."""
        return len(self._running)

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """The work's value for `key`, shared with concurrent callers for the same key."""
        while (flight := self._running.get(key)) is not None:
            await flight.done.wait()
            if flight.finished:
                if flight.error is not None:
                    # Each waiter raises its own exception (tracebacks are per raise).
                    raise copy.copy(flight.error)
                return flight.value  # type: ignore[return-value]
        flight = _Flight()
        self._running[key] = flight
        try:
            async with self._slots:
                try:
                    flight.value = await work()
                except Exception as exc:
                    flight.error = exc
                flight.finished = True
        finally:
            del self._running[key]
            flight.done.set()
        if flight.error is not None:
            raise flight.error
        return flight.value  # type: ignore[return-value]
