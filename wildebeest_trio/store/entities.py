"""What one process keeps of the statuses and accounts it rendered: each status's
viewer-independent parts (its row, mentions, tags, media, emoji, card, poll, quote,
application), each account's row, and the entities built from them, for as long as the
database's versions match. A status does not hold its author: an account's counts move
with each post and follow, and only its own entity is built again then.

Freshness does not depend on this process hearing of a write: `statuses.entity_version`
and `accounts.entity_version` move in the same transaction as every change to what an
entity shows (migration 0028's triggers), and a page's hydration reads them (one query)
before it trusts an entry, so a write by any process is seen by the next read in every
process. The after-commit `EntitiesChanged` effect only drops the writer's own copies at
once, so memory is not held by entries no read can use.

Units run in threads on SQLite, so the cache takes a lock; entries are never changed once
stored (apart from `base` and its encoding, each set once to the same value by whoever
builds it). The encoded parts are what a timeline page's answer is joined from
(`serializers.statuses.status_json`): they live and go with their entries, so they are
exactly as fresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .base import Connection
from .effects import Effect
from .rows import (
    AccountRow,
    ApplicationNameRow,
    CustomEmojiRow,
    Json,
    MediaAttachmentRow,
    MentionedAccountRow,
    PollRow,
    QuoteRow,
    StatusCardRow,
    StatusRow,
    StatusTagNameRow,
)

# Statuses and accounts one process keeps (each a few kilobytes): a bound on memory.
MAX_STATUSES = 20_000
MAX_ACCOUNTS = 10_000

# (the row's entity_version, the custom emoji epoch or -1 when its text names no shortcode)
EntryKey = tuple[int, int]


@dataclass(eq=False)
class StatusEntry:
    """One status's viewer-independent parts (its author apart), as a hydration loaded them."""

    key: EntryKey
    row: StatusRow
    mentions: list[MentionedAccountRow] = field(default_factory=list)
    tags: list[StatusTagNameRow] = field(default_factory=list)
    media: list[MediaAttachmentRow] = field(default_factory=list)
    emojis: list[CustomEmojiRow] = field(default_factory=list)
    card: StatusCardRow | None = None
    poll: PollRow | None = None
    quote: QuoteRow | None = None
    application: ApplicationNameRow | None = None
    #: The Status entity without its account and what depends on the viewer or on other
    #: statuses (set by the serializer the first time it renders the entry).
    base: dict[str, Json] | None = None
    #: `base` encoded as a JSON object, without the keys filled per call and without its
    #: closing brace (set by the serializer the first time a page is encoded from it).
    base_json: bytes | None = None


@dataclass(eq=False)
class AccountEntry:
    """One account's row (with its `emojis`) and its Account entity once built."""

    key: EntryKey
    row: AccountRow
    base: dict[str, Json] | None = None
    #: `base` encoded (set by the serializer the first time a page is encoded from it).
    json: bytes | None = None


E = TypeVar("E", StatusEntry, AccountEntry)


class _Kept(Generic[E]):
    """A bounded, least-recently-used map of id to entry."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[int, E] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, entry_id: int, version: int, epoch: int) -> E | None:
        """The entry if it was built at this version (and emoji epoch, if it uses emoji)."""
        return self.get_many(((entry_id, version),), epoch)[0]

    def get_many(self, wanted: Iterable[tuple[int, int]], epoch: int) -> list[E | None]:
        """`get` of each (id, version), under one taking of the lock (a page asks for
        forty statuses and their authors at once)."""
        found: list[E | None] = []
        with self._lock:
            entries = self._entries
            for entry_id, version in wanted:
                entry = entries.get(entry_id)
                if entry is None or entry.key[0] != version or entry.key[1] not in (-1, epoch):
                    found.append(None)
                else:
                    entries.move_to_end(entry_id)
                    found.append(entry)
        return found

    def entry(self, entry_id: int) -> E | None:
        """The entry kept for this id, at whatever version (for tests and diagnostics)."""
        with self._lock:
            return self._entries.get(entry_id)

    def put(self, entry_id: int, entry: E) -> None:
        with self._lock:
            self._entries[entry_id] = entry
            self._entries.move_to_end(entry_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, ids: frozenset[int]) -> None:
        with self._lock:
            for i in ids:
                self._entries.pop(i, None)

    def __len__(self) -> int:
        return len(self._entries)


class EntityCache:
    """The statuses and accounts one process keeps."""

    def __init__(self, max_statuses: int = MAX_STATUSES, max_accounts: int = MAX_ACCOUNTS) -> None:
        self.statuses: _Kept[StatusEntry] = _Kept(max_statuses)
        self.accounts: _Kept[AccountEntry] = _Kept(max_accounts)

    def drop(self, status_ids: frozenset[int], account_ids: frozenset[int]) -> None:
        """Forget these statuses and accounts (the `EntitiesChanged` effect's handler)."""
        self.statuses.drop(status_ids)
        self.accounts.drop(account_ids)


@dataclass(frozen=True)
class EntitiesChanged(Effect):
    """Statuses, or accounts, whose entities changed: this process drops its copies.

    Recorded by the store's write functions of those rows; other processes see the
    moved `entity_version` on their next read (module docstring).
    """

    statuses: frozenset[int] = frozenset()
    accounts: frozenset[int] = frozenset()


def status_changed(conn: Connection, status_id: int) -> None:
    """Record, in a write unit, that a status's entity changed (its writer's copy goes
    once the unit commits)."""
    conn.effects.add(EntitiesChanged(statuses=frozenset((status_id,))))


def accounts_changed(conn: Connection, account_ids: Iterable[int]) -> None:
    """Record, in a write unit, that these accounts' entities changed."""
    conn.effects.add(EntitiesChanged(accounts=frozenset(account_ids)))
