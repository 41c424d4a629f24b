"""Per-host bounds on talking to other servers: concurrency limits and failure breakers.

One concept serves deliveries and fetches alike. `HostLimits` caps how many
requests go to one host at once, so one slow host holds at most its share of
the process. `Breakers` stops contacting a key (an inbox, a host) after
repeated failures, for a cool-off, as Mastodon's Stoplight does for deliveries
(10 failures, then 60 s). Both forget keys nobody uses, so a stranger naming
endless fresh hosts cannot make them grow without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

BREAKER_THRESHOLD = 10  # Mastodon's Stoplight: 10 failures...
BREAKER_COOL_OFF = 60.0  # ...open for 60 s
MAX_BREAKER_KEYS = 10_000


@dataclass
class _Slots:
    semaphore: trio.Semaphore
    users: int = 0


class HostLimits:
    """At most `per_host` holders per key at once; a key's slot is dropped when unused."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._slots: dict[str, _Slots] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Wait for one of the key's slots and hold it for the block."""
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = _Slots(trio.Semaphore(self.per_host))
        slots.users += 1
        try:
            async with slots.semaphore:
                yield
        finally:
            slots.users -= 1
            if slots.users == 0:
                del self._slots[key]

    def __len__(self) -> int:
        """How many keys are held or awaited now."""
        return len(self._slots)


@dataclass
class _Record:
    failures: int = 0
    open_until: float = 0.0


class Breakers:
    """Failure counts per key: `threshold` failures in a row open it for `cool_off` seconds."""

    def __init__(
        self,
        threshold: int = BREAKER_THRESHOLD,
        cool_off: float = BREAKER_COOL_OFF,
        max_keys: int = MAX_BREAKER_KEYS,
    ) -> None:
        self.threshold = threshold
        self.cool_off = cool_off
        self.max_keys = max_keys
        # Least recently failed first: the first to go when the bound is reached.
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def open_for(self, key: str) -> float:
        """Seconds until the key's breaker closes again (0 when closed)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        return max(0.0, record.open_until - time.monotonic())

    def record(self, key: str, ok: bool) -> None:
        """Count a success (closes the breaker) or a failure (opens it at the threshold)."""
        if ok:
            self._records.pop(key, None)
            return
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record()
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(key)
        record.failures += 1
        if record.failures >= self.threshold:
            record.open_until = time.monotonic() + self.cool_off
            record.failures = 0

    def __len__(self) -> int:
        return len(self._records)
