"""A tiny in-process cache for one value that is costly to read and rarely changes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CachedValue(Generic[T]):
    """One value, kept for `ttl` seconds or until `invalidate()`.

    Writers in this process invalidate it in their write path; other processes'
    writes show within `ttl` (used only for instance-wide facts such as counts,
    which Mastodon also caches).
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._value: T | None = None
        self._expires = 0.0
        self._generation = 0

    def invalidate(self) -> None:
        self._value = None
        self._generation += 1

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        if self._value is not None and now < self._expires:
            return self._value
        generation = self._generation
        value = await load()
        # A write that invalidated while we loaded wins: do not keep the older value.
        if generation == self._generation:
            self._value = value
            self._expires = now + self.ttl
        return value
