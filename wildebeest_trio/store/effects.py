"""What a unit of work asks to happen once it has committed.

A write unit cannot wake job workers, publish stream events or drop a cached entity
itself: its transaction may still roll back, and on SQLite it runs in a thread. So it
records an *effect* on `conn.effects` (a small frozen dataclass); the store hands the
effects of a committed unit to the runtime's handlers before `write` returns, and
discards them on rollback. Nobody wakes anything by hand.

Effects are values: recording the same one twice in a unit runs it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


class Effect:
    """Base of every effect type (subclasses are frozen dataclasses, so hashable)."""

    __slots__ = ()


class Effects:
    """The effects one unit recorded, in the order first recorded, without repeats."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[Effect, None] = {}

    def add(self, effect: Effect) -> None:
        """Record an effect to run after the commit (once, however often it is added)."""
        self._items[effect] = None

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[Effect]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class WorkQueued(Effect):
    """Jobs or outbox events were queued: wake this process's idle workers at once.

    Recorded by the store itself wherever it inserts queued work, so no caller can
    forget it; other processes find the work at their next poll. `kind`: the job kind
    queued, so that a kind with waiters of its own wakes those alone ("": any work).
    """

    kind: str = ""


WORK_QUEUED = WorkQueued()


@dataclass(frozen=True)
class InstanceFactsChanged(Effect):
    """What the instance's public documents count or show changed (users, peer domains,
    rules, site settings, the contact account): this process's cached copy is stale.

    Recorded by the store functions that write those rows; other processes' copies
    expire on their own within seconds.
    """


INSTANCE_FACTS_CHANGED = InstanceFactsChanged()


@dataclass(frozen=True)
class WebhookEvent(Effect):
    """Something admin webhooks may be told of (Mastodon's `TriggerWebhookWorker`): an
    event name (`report.created`...) and the id of its account, report or status.

    Recorded where the change is written (the report rows record their own); the handler
    (services.webhooks) queues one durable delivery per enabled webhook that wants it.
    """

    event: str
    object_id: int
