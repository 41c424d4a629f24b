"""The embedded backend: SQLite in WAL mode, each unit run whole in a worker thread.

One writer connection (writes are serialized, as SQLite requires) and a few
reader connections, which WAL lets run beside the writer on a snapshot. Several
processes may share the file (`serve --processes N`, delivery processes, `worker`):
a write takes an exclusive `flock` on `<database>-writer` before `BEGIN IMMEDIATE`,
so writers of all processes queue in the kernel and the next one starts the moment
the last commits (SQLite's own busy handler polls, sleeping up to 100 ms, and lets a
process that writes without pause starve the others); the busy timeout stays as the
backstop. The
units' threads are the store's own (a limiter with one token per connection):
never Trio's default limiter, which file I/O, image work and anything else a
stranger can set off share, so none of that can make the database wait.

Reads run on the Trio thread first, within a budget (`INLINE_BUDGET`): handing a unit
to a thread and back costs more CPU (about 120 µs) than most page reads take, and the
unit's Python holds the GIL either way. SQLite's progress handler interrupts a read that
has used the budget's CPU time; it is rolled back and run again on a reader thread (a read has no
effects, so running it twice changes nothing), and that unit's code goes to a thread
first for its next `_TRIAL_FIRST` runs, then tries the Trio thread again under the same
budget: back inline if it fits, on the thread for twice as many runs if not (up to
`_TRIAL_MAX`: a unit that is always slow, a search say, wastes one budget in that many).
Only an inline run decides: a unit's CPU on a reader thread is no measure of it, since
taking the GIL back from the busy Trio thread after every SQLite step doubles or triples it
(a status page read of 0.45 ms inline measured 1 to 2.8 ms there), so judging it there kept
a unit that one garbage collection had pushed over the budget on the threads for good.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import sqlite3
import time
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from types import CodeType
from typing import Any, cast

import trio

from ..private_files import create_private_file, tighten
from .base import Dialect, IntegrityError, Row, Store, StoreMisuse, T, Unit
from .effects import Effects
from .search import search_text

_PLACEHOLDER = re.compile(r"\$(\d+)")
_BUSY_TIMEOUT_MS = 10_000
#: How much CPU a read may spend on the Trio thread before it is moved to a reader thread.
INLINE_BUDGET = 0.002
# CPU time, not wall time: a read waiting for the GIL while a reader thread holds it is
# not holding the loop up (the loop waits for the GIL either way), and counting that wait
# sent every read to the threads under load, which made the waits longer. Wall time
# bounds only a read stalled on the disk, at a multiple of the budget.
_WALL_LIMIT = 10
# SQLite calls the progress handler every this many virtual machine instructions: often
# enough to notice the budget within tens of microseconds, rarely enough to cost nothing.
_PROGRESS_STEPS = 2_000
# Runs on a reader thread before a unit that overran tries the Trio thread again, and the
# most that doubling this after every failed try reaches.
_TRIAL_FIRST = 16
_TRIAL_MAX = 1024
_BUSY = 5  # SQLITE_BUSY, the primary code of every "database is locked"


# The same statements come back all the time (a page of 40 ids is always the same text),
# and rewriting them was a tenth of a home timeline's hydration.
@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """PostgreSQL-flavoured SQL to SQLite's: `$1` becomes `?1` (numbered, reusable)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


class SqliteConnection:
    """A connection as a unit sees it; its coroutines never suspend."""

    dialect: Dialect = "sqlite"

    def __init__(
        self, raw: sqlite3.Connection, effects: Effects, allow_list_only: bool = False
    ) -> None:
        self._raw = raw
        self.effects = effects
        self.allow_list_only = allow_list_only

    def _run(self, sql: str, args: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self._raw.execute(translate(sql), args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc), _constraint_name(str(exc))) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        cur = self._run(sql, args)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        cur = self._run(sql, args)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self._run(sql, args).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> int:
        return self._run(sql, args).rowcount

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        try:
            self._raw.executemany(translate(sql), args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc), _constraint_name(str(exc))) from exc

    async def run_script(self, script: str) -> None:
        # executescript() would commit on its own; run statement by statement instead.
        for statement in split_statements(script):
            self._raw.execute(statement)


def _constraint_name(message: str) -> str | None:
    # SQLite names the columns, not the constraint: "UNIQUE constraint failed: t.a, t.b".
    _, sep, rest = message.partition("failed: ")
    return rest.strip() if sep else None


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a unit's coroutine to the end, synchronously; refuse it if it suspends."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return cast("T", stop.value)
    coro.close()
    raise StoreMisuse("a store unit awaited something other than its connection")


class _Inline:
    """A read on the Trio thread: SQLite interrupts it once it has used `INLINE_BUDGET`,
    and it never waits for a lock (its connection's busy timeout is zero).

    Whatever the unit made of an interruption or a busy database (an exception, or one
    it caught), the caller runs it again on a thread when `retry` is set."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.overran = False
        self.busy = False
        self.deadline = 0.0
        self.wall_deadline = 0.0

    @property
    def retry(self) -> bool:
        """Whether the unit's result (or error) is to be replaced by a run on a thread."""
        return self.overran or self.busy

    def _progress(self) -> int:
        if time.thread_time() < self.deadline and time.perf_counter() < self.wall_deadline:
            return 0
        self.overran = True
        return 1  # SQLITE_INTERRUPT for the running statement

    def __enter__(self) -> None:
        self.deadline = time.thread_time() + INLINE_BUDGET
        self.wall_deadline = time.perf_counter() + INLINE_BUDGET * _WALL_LIMIT
        self.raw.set_progress_handler(self._progress, _PROGRESS_STEPS)

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        self.raw.set_progress_handler(None, 0)
        if isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode & 0xFF == _BUSY:
            self.busy = True  # a thread may wait for the lock; the Trio thread may not
        return self.retry and isinstance(exc, Exception)


def _code_of(unit: Unit[..., Any]) -> CodeType | None:
    """What identifies a unit across calls: its code (closures share it)."""
    return getattr(unit, "__code__", None)


def _connect(path: str, busy_timeout_ms: int = _BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("PRAGMA synchronous = NORMAL")
    # The status search triggers (migration 0014) index what this function returns.
    raw.create_function("wb_search_text", 2, search_text, deterministic=True)
    return raw


class SqliteStore(Store):
    """SQLite, the embedded default."""

    dialect: Dialect = "sqlite"

    def __init__(self, url: str, readers: int = 4) -> None:
        self.url = url
        self.path = sqlite_path(url)
        if self.path != ":memory:":
            # The database holds keys and password hashes: 0600 in a 0700 folder. SQLite
            # gives its -wal and -shm files the database's mode; older installs are tightened.
            create_private_file(Path(self.path))
            for suffix in ("-wal", "-shm"):
                tighten(Path(self.path + suffix))
        self._writer = _connect(self.path)
        mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if self.path != ":memory:" and str(mode).lower() != "wal":
            raise RuntimeError(f"SQLite refused WAL mode for {self.path}")
        self._write_lock = trio.Lock()
        # The writers of every process on this file queue on this lock (see above).
        self._writer_fd = (
            None
            if self.path == ":memory:"
            else os.open(self.path + "-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        )
        self._idle_readers = [_connect(self.path) for _ in range(readers)]
        #: The reads run on the Trio thread, one at a time (see the module).
        self._inline_reader = _connect(self.path, busy_timeout_ms=0)
        self._reader_slots = trio.Semaphore(readers)
        self._threads = trio.CapacityLimiter(readers + 1)
        #: The code of read units that overran `INLINE_BUDGET` (run on a thread first): how
        #: many more runs they make there before trying the Trio thread again, and how many
        #: they were given at their last overrun (`_TRIAL_FIRST` at a first one).
        self._threaded: dict[CodeType | None, tuple[int, int]] = {}
        self._closed = False

    async def _run_write(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        async with self._write_lock:
            return await trio.to_thread.run_sync(
                self._run_in_transaction,
                self._writer,
                "BEGIN IMMEDIATE",
                unit,
                effects,
                args,
                kwargs,
                limiter=self._threads,
            )

    async def _run_read(self, unit: Unit[..., T], effects: Effects, args: Any, kwargs: Any) -> T:
        code = _code_of(unit)
        left, interval = self._threaded.get(code, (0, 0))
        if left:
            self._threaded[code] = (left - 1, interval)
        else:
            await trio.lowlevel.checkpoint_if_cancelled()
            raw = self._inline_reader
            inline = _Inline(raw)
            with inline:
                result = self._run_in_transaction(raw, "BEGIN", unit, effects, args, kwargs)
            if not inline.retry:
                self._threaded.pop(code, None)  # it fits (again: a collection, the data shrank)
                # The unit ran without a suspension: let other tasks have a turn.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return result
            if raw.in_transaction:  # its ROLLBACK was interrupted too
                raw.execute("ROLLBACK")
            self._renew_inline_reader()
            if inline.overran:
                interval = min(interval * 2, _TRIAL_MAX) if interval else _TRIAL_FIRST
                self._threaded[code] = (interval, interval)
        async with self._reader_slots:
            raw = self._idle_readers.pop()
            try:
                return await trio.to_thread.run_sync(
                    self._run_in_transaction,
                    raw,
                    "BEGIN",
                    unit,
                    effects,
                    args,
                    kwargs,
                    limiter=self._threads,
                )
            finally:
                self._idle_readers.append(raw)

    def _renew_inline_reader(self) -> None:
        """A fresh connection for the reads on the Trio thread, after one failed there.

        After an interrupted or refused inline read, one of the unit's statements was
        prepared again on every later run of that connection (a page's viewer-state query:
        60 to 240 µs of CPU, for the life of the process; `bench/inline_overrun.py`); a new
        connection starts with a clean statement cache. Overruns are rare (a collection
        inside a read, a lock), so its cost of about 100 µs is too.
        """
        if self.path == ":memory:":
            return  # a new connection would be another, empty database
        old, self._inline_reader = self._inline_reader, _connect(self.path, busy_timeout_ms=0)
        old.close()

    def _run_in_transaction(
        self,
        raw: sqlite3.Connection,
        begin: str,
        unit: Unit[..., T],
        effects: Effects,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> T:
        if self._closed:
            raise RuntimeError("store is closed")
        locked = raw is self._writer and self._writer_fd is not None
        if locked:
            fcntl.flock(self._writer_fd, fcntl.LOCK_EX)  # type: ignore[arg-type]
        try:
            raw.execute(begin)
            try:
                result = drive(
                    unit(SqliteConnection(raw, effects, self.allow_list_only), *args, **kwargs)
                )
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return result
        finally:
            if locked:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        async with self._write_lock:
            self._closed = True
            self._writer.close()
            for raw in self._idle_readers:
                raw.close()
            self._inline_reader.close()
            if self._writer_fd is not None:
                os.close(self._writer_fd)


def sqlite_path(url: str) -> str:
    """The file path of a URL: `sqlite:///relative.db` or `sqlite:////absolute.db`."""
    rest = url.removeprefix("sqlite://")
    if rest in {":memory:", "/:memory:"}:
        return ":memory:"
    return rest[1:] if rest.startswith("/") else rest


def split_statements(script: str) -> list[str]:
    """A script's statements, split where `sqlite3.complete_statement` says one ends."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return [s for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    return any(
        line.strip() and not line.strip().startswith("--") for line in statement.splitlines()
    )
