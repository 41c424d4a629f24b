"""Concurrent calls combined, per process: calls for the same key share one run of the
work (`SingleFlight`), items submitted while a run is under way go together in the next
one (`Batcher`: a group commit). Neither keeps a task of its own: the callers do the work.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import trio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
R = TypeVar("R")


def _own_copy(error: Exception) -> Exception:
    """The exception for one more caller to raise (a traceback belongs to one raise)."""
    return copy.copy(error)


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
                    raise _own_copy(flight.error)
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


class _Queued(Generic[T, R]):
    """One submitted item: its turn to run a batch, or its result."""

    __slots__ = ("error", "finished", "item", "result", "turn")

    def __init__(self, item: T) -> None:
        self.item = item
        self.turn = trio.Event()
        self.finished = False
        self.result: R | None = None
        self.error: Exception | None = None


class Batcher(Generic[T, R]):
    """Items submitted while a run is under way wait, and the next run takes them all (up
    to `limit`): under load many small writes become one transaction.

    `run(items)` returns one result per item, in order; every caller passes the same
    `run`. The first caller to find nothing running runs the batch; when it ends, the
    first caller still waiting runs the next. A run is shielded from its runner's
    cancellation (the other callers wait on it); a caller cancelled while waiting leaves
    the queue (its item still runs if a run took it first), and passes the turn on if it
    had just been given it. A run that raises makes each of its callers raise (its own
    copy).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queue: deque[_Queued[T, R]] = deque()
        self._running = False

    def waiting(self) -> int:
        """How many submitted items wait for a run to take them."""
        return len(self._queue)

    async def submit(self, item: T, run: Callable[[list[T]], Awaitable[list[R]]]) -> R:
        """`item`'s result from the run that takes it."""
        me: _Queued[T, R] = _Queued(item)
        self._queue.append(me)
        if self._running:
            try:
                await me.turn.wait()
            except BaseException:
                if me in self._queue:
                    self._queue.remove(me)
                    if me.turn.is_set():
                        self._pass_turn()
                raise
        if not me.finished:
            await self._run_batch(run)
        if me.error is not None:
            raise _own_copy(me.error)
        return me.result  # type: ignore[return-value]

    def _pass_turn(self) -> None:
        if self._queue:
            self._queue[0].turn.set()
        else:
            self._running = False

    async def _run_batch(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        # The caller is first in the queue: nothing was running, or the turn is its.
        self._running = True
        batch = [self._queue.popleft() for _ in range(min(self.limit, len(self._queue)))]
        done = False
        try:
            with trio.CancelScope(shield=True):
                try:
                    results = await run([queued.item for queued in batch])
                except Exception as exc:
                    for queued in batch:
                        queued.error = exc
                else:
                    for queued, result in zip(batch, results, strict=True):
                        queued.result = result
                done = True
        finally:
            for queued in batch:
                if not done:
                    queued.error = RuntimeError("the batch this item was in did not finish")
                queued.finished = True
                queued.turn.set()
            self._pass_turn()


class PerSourceLimit:
    """How many distinct things (keys being fetched) one source (a client address) may
    wait for at once; any number of its calls may wait for one thing already waited for.

    Memory is bounded by the calls waiting: a thing, then a source, is forgotten when no
    call waits for it any more.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: dict[str, dict[str, int]] = {}

    def full(self, source: str) -> bool:
        """Whether the source waits for as many things as it may."""
        return len(self._waiting.get(source, ())) >= self.limit

    def admits(self, source: str, thing: str) -> bool:
        """Whether a call of the source for `thing` may wait now."""
        waiting = self._waiting.get(source)
        return waiting is None or thing in waiting or len(waiting) < self.limit

    def enter(self, source: str, thing: str) -> bool:
        """Count a call of the source waiting for `thing` in; False (not counted) when
        the source may not wait for one more thing."""
        if not self.admits(source, thing):
            return False
        waiting = self._waiting.setdefault(source, {})
        waiting[thing] = waiting.get(thing, 0) + 1
        return True

    def leave(self, source: str, thing: str) -> None:
        """Count a call that `enter` let in out again."""
        waiting = self._waiting[source]
        left = waiting[thing] - 1
        if left:
            waiting[thing] = left
            return
        del waiting[thing]
        if not waiting:
            del self._waiting[source]
