"""Time-ordered 64-bit ids, Mastodon style, unique across processes sharing a database.

An id is `milliseconds since the Unix epoch << 16 | node << 10 | sequence`:
the upper 48 bits order ids by time, the node (0..63) is a slot this process
leases in the database at start-up (so two processes never share one), and the
sequence counts ids within one millisecond (1,024 per millisecond per process;
the generator waits for the next millisecond when they run out).
"""

from __future__ import annotations

import threading
import time

NODE_BITS = 6
SEQUENCE_BITS = 10
MAX_NODES = 1 << NODE_BITS
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


def now_ms() -> int:
    """The current UTC time in whole milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class IdGenerator:
    """Issues ids for one process; thread-safe, since store units run in threads."""

    def __init__(self, node: int) -> None:
        if not 0 <= node < MAX_NODES:
            raise ValueError(f"node must be in 0..{MAX_NODES - 1}")
        self.node = node
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def next_id(self, at_ms: int | None = None) -> int:
        """A new id; `at_ms` backdates it (remote posts keep their publication time)."""
        with self._lock:
            self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
            if at_ms is not None:
                # The shared counter keeps backdated ids of one millisecond apart; the node
                # bits keep them apart from other processes' ids.
                return (at_ms << 16) | (self.node << SEQUENCE_BITS) | self._sequence
            ms = now_ms()
            if ms > self._last_ms:
                self._sequence = 0
                self._last_ms = ms
            elif self._sequence == 0:
                # 1,024 ids in one millisecond, or the clock went back: borrow the next
                # millisecond rather than block, so ids keep growing.
                self._last_ms += 1
            return (self._last_ms << 16) | (self.node << SEQUENCE_BITS) | self._sequence


def id_to_ms(value: int) -> int:
    """The millisecond timestamp inside an id."""
    return value >> 16


def ms_to_min_id(ms: int) -> int:
    """The smallest id of a millisecond (for time-range queries on ids)."""
    return ms << 16


# Ids are signed 64-bit integers in both databases; a larger number names no record.
MAX_ID = (1 << 63) - 1


def parse_id(value: object) -> int | None:
    """An id as a client sends one (text, or a number in JSON): ASCII digits for a value in
    0..MAX_ID; None for anything else. Unicode digits (`²`, `٣`) pass `str.isdigit()` but
    not `int()`, and numbers past MAX_ID overflow the databases: neither gets through."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if not isinstance(value, str) or not 0 < len(value) <= 19:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
