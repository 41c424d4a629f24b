"""Job kinds: what a job is called, how often it may be tried, and who handles it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ids import IdGenerator, now_ms
from ..store import Connection
from ..store import jobs as job_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

Handler = Callable[["Runtime", dict[str, Any]], Awaitable[None]]


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


class JobRegistry:
    """Which handler runs each job kind, for one configured server."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[JobKind, Handler]] = {}

    def register(self, kind: JobKind, handler: Handler) -> None:
        if kind.name in self._handlers:
            raise ValueError(f"job kind {kind.name!r} already has a handler")
        self._handlers[kind.name] = (kind, handler)

    def handles(self, kind: JobKind) -> Callable[[Handler], Handler]:
        """Decorator form of `register`."""

        def decorate(fn: Handler) -> Handler:
            self.register(kind, fn)
            return fn

        return decorate

    def lookup(self, name: str) -> tuple[JobKind, Handler] | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._handlers)
