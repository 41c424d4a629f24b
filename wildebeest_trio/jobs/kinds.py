"""Job kinds: what a job is called, how often it may be tried, and who handles it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ids import IdGenerator, now_ms
from ..store import Connection, Row, RowView
from ..store import jobs as job_rows

if TYPE_CHECKING:
    from ..config import Config
    from ..runtime import Runtime

Handler = Callable[["Runtime", dict[str, Any]], Awaitable[None]]
#: A store unit run with the outcomes of a batch, in the same transaction.
Effect = Callable[[Connection], Awaitable[None]]
#: How a batch handler reports one job: (job, None for success or the error, effect).
Report = Callable[[RowView, "Exception | None", "Effect | None"], None]


class RetryLater(Exception):
    """Try this job again after `delay` seconds (a `Retry-After`, a busy peer)."""

    def __init__(self, delay: float, reason: str = "retry requested") -> None:
        super().__init__(reason)
        self.delay = delay


class PermanentFailure(Exception):
    """This job will never succeed: park it now with this message."""


def mastodon_backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before retry `attempt` (1-based), as Mastodon's delivery worker waits.

    `attempt**4 + 15 + rand(0.5 * attempt**4)`: 16 tries span two to three days.
    """
    rng = rng or random.Random()
    base = attempt**4
    return base + 15 + rng.random() * 0.5 * base


@dataclass(frozen=True)
class JobKind:
    """A declared kind of job. Module-level constants; handlers are bound in a registry."""

    name: str
    max_attempts: int = 16
    backoff: Callable[[int], float] = mastodon_backoff

    async def enqueue(
        self,
        conn: Connection,
        ids: IdGenerator,
        payload: dict[str, Any],
        *,
        delay: float = 0.0,
        dedupe_key: str | None = None,
    ) -> bool:
        """Queue a job inside the caller's unit of work (so it commits with the change)."""
        now = now_ms()
        return await job_rows.enqueue(
            conn,
            job_id=ids.next_id(),
            kind=self.name,
            payload=payload,
            now=now,
            max_attempts=self.max_attempts,
            run_at=now + int(delay * 1000),
            dedupe_key=dedupe_key,
        )

    async def enqueue_many(
        self,
        conn: Connection,
        ids: IdGenerator,
        jobs: Iterable[tuple[dict[str, Any], str | None]],
        *,
        shared: str | None = None,
    ) -> int:
        """Queue many jobs, (payload, dedupe key) each, in the caller's unit; how many.

        `shared` is what their payloads have in common (an activity sent to many
        inboxes), stored once; a batch handler finds it in each job's `shared`.
        """
        now = now_ms()
        return await job_rows.enqueue_many(
            conn,
            kind=self.name,
            jobs=[(ids.next_id(), payload, dedupe) for payload, dedupe in jobs],
            now=now,
            max_attempts=self.max_attempts,
            shared=None if shared is None else (ids.next_id(), shared),
        )


@dataclass(frozen=True)
class BatchedKind:
    """A kind whose jobs are claimed, run and recorded many at a time (see batch.py).

    `lookup(conn, jobs)` runs in the claim's transaction and returns what the batch
    needs from the store; `run(rt, jobs, facts, report)` works through the jobs and
    calls `report` once for each.
    """

    kind: JobKind
    lookup: Callable[[Connection, list[Row]], Awaitable[Any]]
    run: Callable[[Runtime, list[Row], Any, Report], Awaitable[None]]
    #: Jobs in flight at once in one process, from the settings.
    capacity: Callable[[Config], int]
    #: Jobs claimed per crossing, at most.
    size: int = 50
    #: Seconds outcomes gather after the first before they are written together: fewer,
    #: larger writes (a crash in between only runs those jobs again, as any lost lease).
    gather: float = 0.0
    #: A store unit each engine runs before its first claim on each connection it warms,
    #: beside its own statements: the kind's lookup and effect statements run with
    #: arguments that match nothing, so they are prepared before the first batch. It must
    #: change nothing.
    prepare: Effect | None = None
    #: Run once by each engine before its first claim: one-time set-up of the work (what
    #: the first batch after a start would otherwise wait for), paid while nothing waits.
    warm: Callable[[Runtime], Awaitable[None]] | None = None


class JobRegistry:
    """Which handler runs each job kind, for one configured server."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[JobKind, Handler]] = {}
        self._batched: dict[str, BatchedKind] = {}

    def register(self, kind: JobKind, handler: Handler) -> None:
        if kind.name in self._handlers or kind.name in self._batched:
            raise ValueError(f"job kind {kind.name!r} already has a handler")
        self._handlers[kind.name] = (kind, handler)

    def register_batched(self, batched: BatchedKind) -> None:
        name = batched.kind.name
        if name in self._handlers or name in self._batched:
            raise ValueError(f"job kind {name!r} already has a handler")
        self._batched[name] = batched

    def batched(self) -> list[BatchedKind]:
        """The kinds run in batches, each by its own engine."""
        return [self._batched[name] for name in sorted(self._batched)]

    def handles(self, kind: JobKind) -> Callable[[Handler], Handler]:
        """Decorator form of `register`."""

        def decorate(fn: Handler) -> Handler:
            self.register(kind, fn)
            return fn

        return decorate

    def lookup(self, name: str) -> tuple[JobKind, Handler] | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        """Every kind with a handler, run one at a time or in batches."""
        return sorted([*self._handlers, *self._batched])

    def single_names(self) -> list[str]:
        """The kinds run one job at a time (the others have their batch engines)."""
        return sorted(self._handlers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._handlers) + len(self._batched)
