"""A bridge from Trio to one asyncio event loop running in its own thread.

asyncpg speaks asyncio. Rather than wrap every await (trio-asyncio reached a
quarter of plain asyncio's speed here), the asyncio loop (uvloop when
available) lives in a dedicated thread and owns the connection pool; Trio hands
it a whole unit of work in one crossing (`call_soon_threadsafe` plus a task
there) and is woken through its token when the unit is done. Cancelling the
Trio side cancels the asyncio task and waits for it to finish, so a cancelled
query is cancelled on the server and its connection goes back to the pool
healthy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import outcome
import trio

T = TypeVar("T")

_CANCELLED = object()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        # Optional: uvloop is installed on POSIX only.
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class AsyncioThread:
    """An asyncio loop in a daemon thread, callable from Trio."""

    def __init__(self, name: str = "wildebeest-asyncio") -> None:
        self.loop = _new_loop()
        # Crossings are batched: under load, one wake-up of the other side carries many
        # starts (or completions) instead of one each.
        self._lock = threading.Lock()
        self._starts: list[Callable[[], None]] = []
        self._starts_scheduled = False
        self._done: dict[Any, list[tuple[Any, outcome.Outcome[Any]]]] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def call(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `await afn(*args)` on the asyncio loop; cancellable from Trio."""
        task = trio.lowlevel.current_task()
        token = trio.lowlevel.current_trio_token()
        holder: dict[str, Any] = {}

        def done(fut: asyncio.Future[T]) -> None:
            if fut.cancelled():
                result: outcome.Outcome[Any] = outcome.Value(_CANCELLED)
            elif (exc := fut.exception()) is not None:
                result = outcome.Error(exc)
            else:
                result = outcome.Value(fut.result())
            self._finish(token, task, result)

        def start() -> None:
            try:
                atask = asyncio.ensure_future(afn(*args), loop=self.loop)
            except BaseException as exc:  # calling afn itself failed
                holder["task"] = None
                self._finish(token, task, outcome.Error(exc))
                return
            holder["task"] = atask
            atask.add_done_callback(done)

        self._submit(start)

        def abort(raise_cancel: Any) -> trio.lowlevel.Abort:
            holder["raise_cancel"] = raise_cancel
            # FIFO: this runs after start(), so the task exists by then.
            self.loop.call_soon_threadsafe(lambda: holder["task"] and holder["task"].cancel())
            # Keep waiting until asyncio has really finished the task.
            return trio.lowlevel.Abort.FAILED

        value = await trio.lowlevel.wait_task_rescheduled(abort)
        if value is _CANCELLED:
            raise_cancel = holder.get("raise_cancel")
            if raise_cancel is not None:
                raise_cancel()
            raise RuntimeError("asyncio task was cancelled outside Trio")
        return cast("T", value)

    def _submit(self, start: Callable[[], None]) -> None:
        """Queue a start for the asyncio thread; wake it only if no drain is pending."""
        with self._lock:
            self._starts.append(start)
            if self._starts_scheduled:
                return
            self._starts_scheduled = True
        self.loop.call_soon_threadsafe(self._drain_starts)

    def _drain_starts(self) -> None:
        with self._lock:
            starts, self._starts = self._starts, []
            self._starts_scheduled = False
        for start in starts:
            start()

    def _finish(self, token: Any, task: Any, result: outcome.Outcome[Any]) -> None:
        """Hand a result back to Trio; wake it only if no drain is pending."""
        with self._lock:
            pending = self._done.get(token)
            if pending is not None:
                pending.append((task, result))
                return
            self._done[token] = [(task, result)]
        token.run_sync_soon(self._drain_done, token)

    def _drain_done(self, token: Any) -> None:
        with self._lock:
            finished = self._done.pop(token, [])
        for task, result in finished:
            trio.lowlevel.reschedule(task, result)

    def run_sync(self, afn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Run a coroutine function on the loop from a plain (non-loop) thread and wait."""
        future = asyncio.run_coroutine_threadsafe(afn(*args), self.loop)
        return future.result()

    def stop(self) -> None:
        """Stop the loop and join its thread."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
