"""Keyword filters (Mastodon's v2 filters): rows, and their compiled form for matching.

`active_set` loads a viewer's unexpired filters once and compiles them: one regular
expression for every keyword of every filter answers "does this status match anything?"
cheaply; only a status that does is matched filter by filter for the `keyword_matches`
Mastodon reports (the first match of each filter, as its `apply_cached_filters`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import Connection, R, Row, fetch_as, fetchrow_as, row_as
from .paging import placeholders
from .rows import (
    CustomFilterKeywordRow,
    CustomFilterRow,
    CustomFilterStatusRow,
    FilterStatusWithOwnerRow,
    KeywordWithFilterRow,
    MediaAttachmentRow,
    PollRow,
    StatusRow,
)

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")

_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_WORD_START = re.compile(r"^\w")
_WORD_END = re.compile(r"\w$")


def _decoded(kind: type[R], row: Row) -> R:
    """A row with its filter's `context` (JSON) decoded."""
    row["context"] = json.loads(row["context"])
    return row_as(kind, row)


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """A keyword as Mastodon matches it: case-insensitive, and with `whole_word` bounded by
    `\\b` on each side that starts or ends with a word character."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if _WORD_START.search(keyword) else ""
    end = r"\b" if _WORD_END.search(keyword) else ""
    return f"{start}{escaped}{end}"


def plain_text(content: str) -> str:
    """A status's HTML as text: line breaks kept, tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content or "")))


@dataclass
class ActiveFilter:
    """One unexpired filter: its row, keywords, filtered status ids and keyword regex."""

    row: CustomFilterRow
    keywords: list[CustomFilterKeywordRow] = field(default_factory=list)
    status_ids: set[int] = field(default_factory=set)
    regex: re.Pattern[str] | None = None


@dataclass
class FilterMatch:
    """Mastodon's FilterResult before serialization."""

    filter: CustomFilterRow
    keyword_matches: list[str] | None
    status_matches: list[str] | None


class FilterSet:
    """A viewer's active filters, compiled."""

    def __init__(self, filters: list[ActiveFilter]) -> None:
        self.filters = filters
        patterns = []
        for f in filters:
            parts = [keyword_pattern(k["keyword"], bool(k["whole_word"])) for k in f.keywords]
            if parts:
                f.regex = re.compile("|".join(parts), re.I)
                patterns.extend(parts)
        self.any_keyword = re.compile("|".join(patterns), re.I) if patterns else None
        self.status_ids = set().union(*(f.status_ids for f in filters))

    def match(self, status_id: int, reblog_of_id: int | None, text: str) -> list[FilterMatch]:
        """The filters a status (its proper text given) matches."""
        hit_text = self.any_keyword is not None and self.any_keyword.search(text) is not None
        ids = {status_id, reblog_of_id} & self.status_ids if self.status_ids else set()
        if not hit_text and not ids:
            return []
        found = []
        for f in self.filters:
            keyword_matches = None
            if hit_text and f.regex is not None:
                m = f.regex.search(text)
                if m is not None:
                    keyword_matches = [m.group(0)]
            status_matches = sorted(str(i) for i in ids & f.status_ids) or None
            if keyword_matches or status_matches:
                found.append(FilterMatch(f.row, keyword_matches, status_matches))
        return found

    def match_statuses(
        self,
        statuses: Mapping[int, StatusRow],
        media: Mapping[int, list[MediaAttachmentRow]],
        polls: Mapping[int, PollRow],
        viewer_id: int,
    ) -> dict[int, list[FilterMatch]]:
        """Matches of each status (boosts by what they boost), the viewer's own left out."""
        results: dict[int, list[FilterMatch]] = {}
        for status_id, row in statuses.items():
            proper = statuses.get(row["reblog_of_id"], row) if row["reblog_of_id"] else row
            if proper["account_id"] == viewer_id:
                continue
            found = self.match(
                status_id, row["reblog_of_id"], searchable_text(proper, media, polls)
            )
            if found:
                results[status_id] = found
        return results


def searchable_text(
    status: StatusRow,
    media: Mapping[int, list[MediaAttachmentRow]],
    polls: Mapping[int, PollRow],
) -> str:
    """What keywords are looked for in, as Mastodon's `Status#searchable_text`: the
    content warning, the text, the poll's options and the media descriptions."""
    parts = [status["spoiler_text"] or "", plain_text(status["content"] or "")]
    poll = polls.get(status.get("poll_id") or 0)
    if poll is not None:
        parts.append("\n\n".join(poll["options"]))
    parts.extend(m["description"] or "" for m in media.get(status["id"], []))
    return "\n\n".join(p for p in parts if p)


async def active_set(conn: Connection, account_id: int, now: int) -> FilterSet | None:
    """The account's unexpired filters, compiled; None when it has none."""
    rows = await conn.fetch(
        "SELECT * FROM custom_filters WHERE account_id = $1 "
        "AND (expires_at IS NULL OR expires_at > $2) ORDER BY id",
        account_id,
        now,
    )
    if not rows:
        return None
    filters = {r["id"]: ActiveFilter(_decoded(CustomFilterRow, r)) for r in rows}
    ids = list(filters)
    for k in await keywords_of(conn, ids):
        filters[k["filter_id"]].keywords.append(k)
    for s in await statuses_of(conn, ids):
        filters[s["filter_id"]].status_ids.add(s["status_id"])
    return FilterSet(list(filters.values()))


# Filters -----------------------------------------------------------------------------------------


async def insert_filter(conn: Connection, row: Mapping[str, Any]) -> None:
    """Create a filter (`row`: id, account_id, title, context, action, expires_at, now)."""
    await conn.execute(
        "INSERT INTO custom_filters (id, account_id, title, context, action, expires_at, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        row["id"],
        row["account_id"],
        row["title"],
        json.dumps(row["context"]),
        row["action"],
        row["expires_at"],
        row["now"],
    )


async def update_filter(
    conn: Connection, filter_id: int, changes: Mapping[str, Any], now: int
) -> None:
    """Set some of title, context, action and expires_at."""
    allowed = ("title", "context", "action", "expires_at")
    sets, args = [], []
    for name in allowed:
        if name in changes:
            value = changes[name]
            args.append(json.dumps(value) if name == "context" else value)
            sets.append(f"{name} = ${len(args)}")
    args += [now, filter_id]
    sets.append(f"updated_at = ${len(args) - 1}")
    await conn.execute(
        f"UPDATE custom_filters SET {', '.join(sets)} WHERE id = ${len(args)}", *args
    )


async def delete_filter(conn: Connection, filter_id: int) -> None:
    """Delete a filter with its keywords and statuses."""
    await conn.execute("DELETE FROM custom_filter_keywords WHERE filter_id = $1", filter_id)
    await conn.execute("DELETE FROM custom_filter_statuses WHERE filter_id = $1", filter_id)
    await conn.execute("DELETE FROM custom_filters WHERE id = $1", filter_id)


async def filter_by_id(conn: Connection, filter_id: int) -> CustomFilterRow | None:
    """One filter."""
    row = await conn.fetchrow("SELECT * FROM custom_filters WHERE id = $1", filter_id)
    return None if row is None else _decoded(CustomFilterRow, row)


async def filters_of(conn: Connection, account_id: int) -> list[CustomFilterRow]:
    """All of an account's filters, expired ones too, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM custom_filters WHERE account_id = $1 ORDER BY id", account_id
    )
    return [_decoded(CustomFilterRow, r) for r in rows]


async def count_filters(conn: Connection, account_id: int) -> int:
    """How many filters an account has."""
    return int(
        await conn.fetchval("SELECT COUNT(*) FROM custom_filters WHERE account_id = $1", account_id)
    )


# Keywords ----------------------------------------------------------------------------------------


async def keywords_of(conn: Connection, filter_ids: Iterable[int]) -> list[CustomFilterKeywordRow]:
    """The keywords of several filters, oldest first."""
    ids = list(filter_ids)
    if not ids:
        return []
    return await fetch_as(
        conn,
        CustomFilterKeywordRow,
        "SELECT * FROM custom_filter_keywords WHERE filter_id IN "
        f"({placeholders(1, len(ids))}) ORDER BY id",
        *ids,
    )


_KEYWORD_WITH_FILTER = (
    "SELECT k.*, f.account_id, f.title, f.context, f.action, f.expires_at "
    "FROM custom_filter_keywords k JOIN custom_filters f ON f.id = k.filter_id "
)


async def keywords_of_account(conn: Connection, account_id: int) -> list[KeywordWithFilterRow]:
    """Every keyword of an account's filters, with its filter's columns (the v1 view)."""
    rows = await conn.fetch(
        _KEYWORD_WITH_FILTER + "WHERE f.account_id = $1 ORDER BY k.id", account_id
    )
    return [_decoded(KeywordWithFilterRow, r) for r in rows]


async def keyword_by_id(conn: Connection, keyword_id: int) -> KeywordWithFilterRow | None:
    """A keyword with its filter's columns (`account_id` among them)."""
    row = await conn.fetchrow(_KEYWORD_WITH_FILTER + "WHERE k.id = $1", keyword_id)
    return None if row is None else _decoded(KeywordWithFilterRow, row)


async def insert_keyword(
    conn: Connection, keyword_id: int, filter_id: int, keyword: str, whole_word: bool, now: int
) -> None:
    """Add a keyword to a filter."""
    await conn.execute(
        "INSERT INTO custom_filter_keywords (id, filter_id, keyword, whole_word, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        keyword_id,
        filter_id,
        keyword,
        whole_word,
        now,
    )


async def update_keyword(
    conn: Connection, keyword_id: int, keyword: str, whole_word: bool, now: int
) -> None:
    """Change a keyword."""
    await conn.execute(
        "UPDATE custom_filter_keywords SET keyword = $1, whole_word = $2, updated_at = $3 "
        "WHERE id = $4",
        keyword,
        whole_word,
        now,
        keyword_id,
    )


async def delete_keyword(conn: Connection, keyword_id: int) -> None:
    """Remove a keyword."""
    await conn.execute("DELETE FROM custom_filter_keywords WHERE id = $1", keyword_id)


async def count_keywords(conn: Connection, filter_id: int) -> int:
    """How many keywords a filter has."""
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM custom_filter_keywords WHERE filter_id = $1", filter_id
        )
    )


# Filtered statuses -------------------------------------------------------------------------------


async def statuses_of(conn: Connection, filter_ids: Iterable[int]) -> list[CustomFilterStatusRow]:
    """The statuses several filters name, oldest first."""
    ids = list(filter_ids)
    if not ids:
        return []
    return await fetch_as(
        conn,
        CustomFilterStatusRow,
        "SELECT * FROM custom_filter_statuses WHERE filter_id IN "
        f"({placeholders(1, len(ids))}) ORDER BY id",
        *ids,
    )


async def filter_status_by_id(
    conn: Connection, filter_status_id: int
) -> FilterStatusWithOwnerRow | None:
    """A filtered status with its filter's owner."""
    return await fetchrow_as(
        conn,
        FilterStatusWithOwnerRow,
        "SELECT fs.*, f.account_id FROM custom_filter_statuses fs "
        "JOIN custom_filters f ON f.id = fs.filter_id WHERE fs.id = $1",
        filter_status_id,
    )


async def insert_filter_status(
    conn: Connection, filter_status_id: int, filter_id: int, status_id: int, now: int
) -> bool:
    """Add a status to a filter; False if it was already there."""
    changed = await conn.execute(
        "INSERT INTO custom_filter_statuses (id, filter_id, status_id, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (filter_id, status_id) DO NOTHING",
        filter_status_id,
        filter_id,
        status_id,
        now,
    )
    return changed == 1


async def delete_filter_status(conn: Connection, filter_status_id: int) -> None:
    """Remove a status from a filter."""
    await conn.execute("DELETE FROM custom_filter_statuses WHERE id = $1", filter_status_id)
