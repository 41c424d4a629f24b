"""A bridge from Trio to one asyncio event loop running in its own thread.

asyncpg speaks asyncio. Rather than wrap every await (trio-asyncio reached a
quarter of plain asyncio's speed here), the asyncio loop (uvloop when
available) lives in a dedicated thread and owns the connection pool; Trio hands
it a whole unit of work in one crossing and is woken when the unit is done.
Cancelling the Trio side cancels the asyncio task and waits for it to finish, so
a cancelled query is cancelled on the server and its connection goes back to the
pool healthy.

Crossings are batched under load: one wake-up of the other side carries every
start (or completion) queued since the last one. When no other Trio task is
runnable, the Trio thread waits for the answer on a pipe for a short, bounded time
(`TRIO_WAIT`) instead of going back to Trio's loop: a hand-off between two threads
costs a fraction of a wake-up through Trio's loop (a write to its wake-up socket, a
poll that returns, a step of the task that drains `run_sync_soon`, then one more
loop iteration for the waiting task), and a short unit answers within it.

Both hand-offs are writes to pipes with `os.write`, which lets go of the GIL before
the write wakes the other thread: the woken thread finds the GIL free instead of
waking, finding it held and sleeping again until the writer lets go of it (a lock's
release, or uvloop's `call_soon_threadsafe`, wakes the other thread with the GIL
held). Measured with one task doing `SELECT 1` units: 7.6 to 8.8 context switches per
crossing with a lock and uvloop's wake-up, 3.5 with pipes.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import outcome
import trio

T = TypeVar("T")

_CANCELLED = object()

# How long the Trio thread waits on a lock for an answer before going back to its loop.
# It waits only when no other Trio task is runnable, so no task is kept from running;
# what may wait that long is I/O that becomes ready meanwhile (a new request) and a
# deadline falling inside it, handled at the next loop iteration. Blocking on a lock
# costs no CPU (a spin was measured too: it saved little more and burnt the core).
TRIO_WAIT = 0.0005

# Modes of a call's waiter on the Trio side.
_ASYNC = 0  # the Trio task waits in Trio's scheduler: completions reschedule it
_SYNC = 1  # the Trio thread waits on its pipe: completions write a byte to it


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        # Optional: uvloop is installed on POSIX only.
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _trio_idle() -> bool:
    """Whether no other Trio task is runnable and no `run_sync_soon` callback waits.

    Read from Trio's run state: the public `trio.lowlevel.current_statistics()` says the
    same but builds the I/O statistics too, which costs more than the wait saves. If a
    Trio release renames these, the answer is False and every call waits in Trio's loop
    as before (tests/test_postgres_bridge.py notices).
    """
    try:
        runner: Any = trio._core._run.GLOBAL_RUN_CONTEXT.runner
        entry = runner.entry_queue
        return not (runner.runq or entry.queue or entry.idempotent_queue)
    except AttributeError:
        return False


class _Call:
    """One crossing: a coroutine function to run on the asyncio loop for a Trio task."""

    __slots__ = (
        "afn",
        "args",
        "atask",
        "mode",
        "raise_cancel",
        "result",
        "started",
        "task",
        "token",
        "waiter",
    )

    def __init__(
        self, afn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], task: Any, token: Any
    ) -> None:
        self.afn = afn
        self.args = args
        self.task = task
        self.token = token
        self.atask: asyncio.Task[None] | None = None
        self.started = False
        self.result: outcome.Outcome[Any] | None = None
        self.mode = _ASYNC
        self.waiter: tuple[int, int] | None = None
        self.raise_cancel: Any = None


class AsyncioThread:
    """An asyncio loop in a daemon thread, callable from Trio."""

    def __init__(self, name: str = "wildebeest-asyncio") -> None:
        self.loop = _new_loop()
        self._lock = threading.Lock()
        self._starts: list[_Call] = []
        self._starts_scheduled = False
        self._done: dict[Any, list[_Call]] = {}
        self._ready = threading.Event()
        # The asyncio loop's wake-up for starts (see the module's docstring).
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # Each Trio thread's pipe for answers it waits for outside Trio's loop.
        self._answer_pipes = threading.local()
        self._all_answer_pipes: list[tuple[int, int]] = []
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.add_reader(self._wake_r, self._on_wake)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def call(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `await afn(*args)` on the asyncio loop; cancellable from Trio.

        A cancelled caller is stopped here, before the start: an answer taken on the pipe
        is delivered whatever happens meanwhile (its unit may have committed), so without
        this a loop of quick calls would go on under a cancelled scope.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        call = _Call(afn, args, trio.lowlevel.current_task(), trio.lowlevel.current_trio_token())
        if TRIO_WAIT > 0 and _trio_idle():
            # Decided before the start, so a quick answer never goes through Trio's loop.
            call.mode = _SYNC
            call.waiter = self._answer_pipe()
            self._submit(call)
            answered = self._wait_sync(call)
        else:
            self._submit(call)
            answered = False
        if answered:
            # Answered while this thread waited: still a schedule point, as any store call.
            await trio.lowlevel.cancel_shielded_checkpoint()
            result = call.result
            assert result is not None
            value = result.unwrap()
        else:

            def abort(raise_cancel: Any) -> trio.lowlevel.Abort:
                call.raise_cancel = raise_cancel
                with self._lock:
                    if call in self._starts:
                        # Not handed to the loop yet: it never starts.
                        self._starts.remove(call)
                        return trio.lowlevel.Abort.SUCCEEDED
                # Handed over: the loop created its task in the same step, before this.
                self.loop.call_soon_threadsafe(self._cancel, call)
                # Keep waiting until asyncio has really finished the task.
                return trio.lowlevel.Abort.FAILED

            value = await trio.lowlevel.wait_task_rescheduled(abort)
        if value is _CANCELLED:
            if call.raise_cancel is not None:
                call.raise_cancel()
            raise RuntimeError("asyncio task was cancelled outside Trio")
        return cast("T", value)

    def _answer_pipe(self) -> tuple[int, int]:
        pipe: tuple[int, int] | None = getattr(self._answer_pipes, "pipe", None)
        if pipe is None:
            pipe = self._answer_pipes.pipe = os.pipe()
            with self._lock:
                self._all_answer_pipes.append(pipe)
        return pipe

    def _wait_sync(self, call: _Call) -> bool:
        """Wait on this thread's pipe, GIL released, for `call`; False after `TRIO_WAIT`.

        Each answer written to the pipe is read before this returns True, so the pipe is
        empty between calls.
        """
        assert call.waiter is not None
        answers = call.waiter[0]
        select.select([answers], [], [], TRIO_WAIT)
        with self._lock:
            if call.result is None:
                # Too long: the answer will come through Trio's loop.
                call.mode = _ASYNC
                call.waiter = None
                return False
        # Answered, so its byte is written or about to be (after the asyncio side's lock).
        os.read(answers, 1)
        return True

    def _submit(self, call: _Call) -> None:
        """Queue a start for the asyncio thread; wake it only if no drain is pending."""
        with self._lock:
            self._starts.append(call)
            if self._starts_scheduled:
                return
            self._starts_scheduled = True
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:  # pragma: no cover - a full pipe wakes the loop anyway
            pass

    def _on_wake(self) -> None:
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass
        self._drain_starts()

    def _drain_starts(self) -> None:
        with self._lock:
            starts, self._starts = self._starts, []
            self._starts_scheduled = False
        for call in starts:
            self._start(call)

    def _start(self, call: _Call) -> None:
        call.atask = self.loop.create_task(self._run(call))

    async def _run(self, call: _Call) -> None:
        """Run the call and hand its outcome back from its own last step.

        (A done callback would run one loop iteration later: asyncio schedules those.)
        """
        call.started = True
        try:
            value = await call.afn(*call.args)
        except asyncio.CancelledError:
            self._finish(call, outcome.Value(_CANCELLED))
        except BaseException as exc:
            self._finish(call, outcome.Error(exc))
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: the loop's to see, as a task's
        else:
            self._finish(call, outcome.Value(value))

    def _cancel(self, call: _Call) -> None:
        atask = call.atask
        if atask is None:
            return
        if not call.started:
            # Cancelled before its first step: `_run` never starts, so it cannot report.
            atask.cancel()
            self._finish(call, outcome.Value(_CANCELLED))
            return
        atask.cancel()

    def _finish(self, call: _Call, result: outcome.Outcome[Any]) -> None:
        """Hand a result back to Trio; wake it only if no drain is pending."""
        token = call.token
        with self._lock:
            call.result = result
            waiter = call.waiter if call.mode == _SYNC else None
            if waiter is None:
                pending = self._done.get(token)
                if pending is not None:
                    pending.append(call)
                    return
                self._done[token] = [call]
        if waiter is not None:
            # The Trio thread waits on its pipe: no wake-up through its loop.
            os.write(waiter[1], b"\0")
            return
        token.run_sync_soon(self._drain_done, token)

    def _drain_done(self, token: Any) -> None:
        with self._lock:
            finished = self._done.pop(token, [])
        for call in finished:
            assert call.result is not None
            trio.lowlevel.reschedule(call.task, call.result)

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
        if self._thread.is_alive():  # pragma: no cover - a unit that ignores the stop
            return
        with self._lock:
            pipes, self._all_answer_pipes = self._all_answer_pipes, []
        for fd in (self._wake_r, self._wake_w, *(fd for pipe in pipes for fd in pipe)):
            os.close(fd)
