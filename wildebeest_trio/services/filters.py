"""Keyword filters: Mastodon's v2 filters (keywords, statuses, contexts, actions, expiry),
the v1 filters as a view of their keywords, and how timelines apply them.

Matching happens where statuses are hydrated (`store.statuses.hydrate` loads the viewer's
active filters once per batch and records each status's matches in `bundle.filtered`);
the Status entity then carries `filtered`, and `visible_order` drops what a `hide` filter
covers in the context being read. A viewer's own statuses are never filtered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from ..ids import now_ms
from ..store import Connection, RowView
from ..store import filters as filter_rows
from ..store import statuses as status_rows
from ..store.base import Unit
from ..store.filters import ACTIONS, CONTEXTS
from ..store.rows import (
    CustomFilterKeywordRow,
    CustomFilterRow,
    CustomFilterStatusRow,
    FilterStatusWithOwnerRow,
    KeywordWithFilterRow,
)
from ..store.statuses import StatusBundle
from ..streaming.relay import StreamEvent

if TYPE_CHECKING:
    from ..runtime import Runtime

T = TypeVar("T")

MAX_TITLE = 256
MAX_KEYWORD = 256
MAX_KEYWORDS = 100
MAX_STATUSES = 1000
MAX_FILTERS = 300
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600


class FilterNotFound(LookupError):
    """No such filter (or keyword, or filtered status) among the caller's."""

    def __init__(self, message: str = "Record not found") -> None:
        super().__init__(message)


class InvalidFilter(ValueError):
    """Input Mastodon answers with 422."""


@dataclass
class KeywordDraft:
    """One entry of `keywords_attributes[]`."""

    keyword: str | None = None
    whole_word: bool | None = None
    id: int | None = None
    destroy: bool = False


@dataclass
class FilterDraft:
    """What a client asks a filter to be; None leaves a field as it is (on update)."""

    title: str | None = None
    context: list[str] | None = None
    action: str | None = None
    expires_in: int | None = None
    expires_in_given: bool = False
    keywords: list[KeywordDraft] = field(default_factory=list)


@dataclass
class FilterView:
    """A filter with its keywords and filtered statuses."""

    row: RowView
    keywords: Sequence[RowView]
    statuses: Sequence[RowView]


def _announced(account_id: int, unit: Callable[[Connection], Awaitable[T]]) -> Unit[[], T]:
    """`unit`, also telling the account's open streams once it commits that its filters
    changed (Mastodon's `filters_changed`, so clients reload them)."""

    async def announced(conn: Connection) -> T:
        result = await unit(conn)
        conn.effects.add(StreamEvent.to(f"timeline:{account_id}", "filters_changed", ""))
        return result

    return announced


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidFilter("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE:
        raise InvalidFilter(f"Validation failed: Title is too long (maximum is {MAX_TITLE})")
    return title


def _check_context(context: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in context if c.strip()))
    if not cleaned or any(c not in CONTEXTS for c in cleaned):
        raise InvalidFilter("Validation failed: Context None or invalid context supplied")
    return cleaned


def _check_action(action: str) -> str:
    if action not in ACTIONS:
        raise InvalidFilter(f"'{action}' is not a valid filter_action")
    return action


def _check_keyword(keyword: str | None) -> str:
    keyword = (keyword or "").strip()
    if not keyword:
        raise InvalidFilter("Validation failed: Keywords keyword can't be blank")
    if len(keyword) > MAX_KEYWORD:
        raise InvalidFilter(
            f"Validation failed: Keywords keyword is too long (maximum is {MAX_KEYWORD})"
        )
    return keyword


def _expires_at(expires_in: int | None, now: int) -> int | None:
    if expires_in is None:
        return None
    if expires_in <= 0 or expires_in > MAX_EXPIRES_IN:
        raise InvalidFilter("Validation failed: Expires in is not a valid duration")
    return now + expires_in * 1000


async def _own(conn: Connection, account_id: int, filter_id: int) -> CustomFilterRow:
    row = await filter_rows.filter_by_id(conn, filter_id)
    if row is None or row["account_id"] != account_id:
        raise FilterNotFound()
    return row


async def _view(conn: Connection, row: RowView) -> FilterView:
    return FilterView(
        row,
        await filter_rows.keywords_of(conn, [row["id"]]),
        await filter_rows.statuses_of(conn, [row["id"]]),
    )


async def list_filters(rt: Runtime, account_id: int) -> list[FilterView]:
    """`GET /api/v2/filters`: every filter of the account, expired ones included."""

    async def unit(conn: Connection) -> list[FilterView]:
        rows = await filter_rows.filters_of(conn, account_id)
        ids = [r["id"] for r in rows]
        keywords: dict[int, list[CustomFilterKeywordRow]] = {i: [] for i in ids}
        statuses: dict[int, list[CustomFilterStatusRow]] = {i: [] for i in ids}
        for k in await filter_rows.keywords_of(conn, ids):
            keywords[k["filter_id"]].append(k)
        for s in await filter_rows.statuses_of(conn, ids):
            statuses[s["filter_id"]].append(s)
        return [FilterView(r, keywords[r["id"]], statuses[r["id"]]) for r in rows]

    return await rt.store.read(unit)


async def show(rt: Runtime, account_id: int, filter_id: int) -> FilterView:
    """One of the account's filters."""

    async def unit(conn: Connection) -> FilterView:
        return await _view(conn, await _own(conn, account_id, filter_id))

    return await rt.store.read(unit)


async def create(rt: Runtime, account_id: int, draft: FilterDraft) -> FilterView:
    """`POST /api/v2/filters`."""
    title = _check_title(draft.title or "")
    context = _check_context(draft.context or [])
    action = _check_action(draft.action or "warn")
    keywords = [(_check_keyword(k.keyword), k.whole_word) for k in draft.keywords if not k.destroy]
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidFilter(f"Validation failed: A filter has at most {MAX_KEYWORDS} keywords")

    async def unit(conn: Connection) -> FilterView:
        if await filter_rows.count_filters(conn, account_id) >= MAX_FILTERS:
            raise InvalidFilter(
                f"Validation failed: You cannot have more than {MAX_FILTERS} filters"
            )
        now = now_ms()
        filter_id = rt.ids.next_id()
        await filter_rows.insert_filter(
            conn,
            {
                "id": filter_id,
                "account_id": account_id,
                "title": title,
                "context": context,
                "action": action,
                "expires_at": _expires_at(draft.expires_in, now),
                "now": now,
            },
        )
        for keyword, whole_word in keywords:
            await filter_rows.insert_keyword(
                conn, rt.ids.next_id(), filter_id, keyword, whole_word is not False, now
            )
        return await _view(conn, await _own(conn, account_id, filter_id))

    return await rt.store.write(_announced(account_id, unit))


async def update(rt: Runtime, account_id: int, filter_id: int, draft: FilterDraft) -> FilterView:
    """`PUT /api/v2/filters/:id`, with `keywords_attributes` adding (no id), changing (id)
    or removing (id and `_destroy`) keywords."""
    changes: dict[str, object] = {}
    if draft.title is not None:
        changes["title"] = _check_title(draft.title)
    if draft.context is not None:
        changes["context"] = _check_context(draft.context)
    if draft.action is not None:
        changes["action"] = _check_action(draft.action)

    async def unit(conn: Connection) -> FilterView:
        await _own(conn, account_id, filter_id)
        now = now_ms()
        if draft.expires_in_given:
            changes["expires_at"] = _expires_at(draft.expires_in, now)
        if changes:
            await filter_rows.update_filter(conn, filter_id, changes, now)
        for k in draft.keywords:
            if k.id is None:
                if not k.destroy:
                    await filter_rows.insert_keyword(
                        conn,
                        rt.ids.next_id(),
                        filter_id,
                        _check_keyword(k.keyword),
                        k.whole_word is not False,
                        now,
                    )
                continue
            existing = await filter_rows.keyword_by_id(conn, k.id)
            if existing is None or existing["filter_id"] != filter_id:
                raise FilterNotFound()
            if k.destroy:
                await filter_rows.delete_keyword(conn, k.id)
            else:
                await filter_rows.update_keyword(
                    conn,
                    k.id,
                    existing["keyword"] if k.keyword is None else _check_keyword(k.keyword),
                    bool(existing["whole_word"]) if k.whole_word is None else k.whole_word,
                    now,
                )
        if await filter_rows.count_keywords(conn, filter_id) > MAX_KEYWORDS:
            raise InvalidFilter(f"Validation failed: A filter has at most {MAX_KEYWORDS} keywords")
        return await _view(conn, await _own(conn, account_id, filter_id))

    return await rt.store.write(_announced(account_id, unit))


async def delete(rt: Runtime, account_id: int, filter_id: int) -> None:
    """`DELETE /api/v2/filters/:id`."""

    async def unit(conn: Connection) -> None:
        await _own(conn, account_id, filter_id)
        await filter_rows.delete_filter(conn, filter_id)

    await rt.store.write(_announced(account_id, unit))


# Keywords ----------------------------------------------------------------------------------------


async def keywords(rt: Runtime, account_id: int, filter_id: int) -> list[CustomFilterKeywordRow]:
    """`GET /api/v2/filters/:id/keywords`."""

    async def unit(conn: Connection) -> list[CustomFilterKeywordRow]:
        await _own(conn, account_id, filter_id)
        return await filter_rows.keywords_of(conn, [filter_id])

    return await rt.store.read(unit)


async def _own_keyword(conn: Connection, account_id: int, keyword_id: int) -> KeywordWithFilterRow:
    row = await filter_rows.keyword_by_id(conn, keyword_id)
    if row is None or row["account_id"] != account_id:
        raise FilterNotFound()
    return row


async def add_keyword(
    rt: Runtime, account_id: int, filter_id: int, keyword: str | None, whole_word: bool | None
) -> KeywordWithFilterRow:
    """`POST /api/v2/filters/:id/keywords`."""
    text = _check_keyword(keyword)

    async def unit(conn: Connection) -> KeywordWithFilterRow:
        await _own(conn, account_id, filter_id)
        if await filter_rows.count_keywords(conn, filter_id) >= MAX_KEYWORDS:
            raise InvalidFilter(f"Validation failed: A filter has at most {MAX_KEYWORDS} keywords")
        keyword_id = rt.ids.next_id()
        await filter_rows.insert_keyword(
            conn, keyword_id, filter_id, text, whole_word is not False, now_ms()
        )
        return await _own_keyword(conn, account_id, keyword_id)

    return await rt.store.write(_announced(account_id, unit))


async def show_keyword(rt: Runtime, account_id: int, keyword_id: int) -> KeywordWithFilterRow:
    """`GET /api/v2/filter_keywords/:id` (and `GET /api/v1/filters/:id`)."""
    return await rt.store.read(_own_keyword, account_id, keyword_id)


async def update_keyword(
    rt: Runtime, account_id: int, keyword_id: int, keyword: str | None, whole_word: bool | None
) -> KeywordWithFilterRow:
    """`PUT /api/v2/filter_keywords/:id`."""
    text = None if keyword is None else _check_keyword(keyword)

    async def unit(conn: Connection) -> KeywordWithFilterRow:
        row = await _own_keyword(conn, account_id, keyword_id)
        await filter_rows.update_keyword(
            conn,
            keyword_id,
            row["keyword"] if text is None else text,
            bool(row["whole_word"]) if whole_word is None else whole_word,
            now_ms(),
        )
        return await _own_keyword(conn, account_id, keyword_id)

    return await rt.store.write(_announced(account_id, unit))


async def delete_keyword(rt: Runtime, account_id: int, keyword_id: int) -> None:
    """`DELETE /api/v2/filter_keywords/:id`."""

    async def unit(conn: Connection) -> None:
        await _own_keyword(conn, account_id, keyword_id)
        await filter_rows.delete_keyword(conn, keyword_id)

    await rt.store.write(_announced(account_id, unit))


# Filtered statuses -------------------------------------------------------------------------------


async def statuses(rt: Runtime, account_id: int, filter_id: int) -> list[CustomFilterStatusRow]:
    """`GET /api/v2/filters/:id/statuses`."""

    async def unit(conn: Connection) -> list[CustomFilterStatusRow]:
        await _own(conn, account_id, filter_id)
        return await filter_rows.statuses_of(conn, [filter_id])

    return await rt.store.read(unit)


async def _own_status(
    conn: Connection, account_id: int, filter_status_id: int
) -> FilterStatusWithOwnerRow:
    row = await filter_rows.filter_status_by_id(conn, filter_status_id)
    if row is None or row["account_id"] != account_id:
        raise FilterNotFound()
    return row


async def add_status(
    rt: Runtime, account_id: int, filter_id: int, status_id: int
) -> CustomFilterStatusRow:
    """`POST /api/v2/filters/:id/statuses`: a status the caller can see (again: the same)."""

    async def unit(conn: Connection) -> CustomFilterStatusRow:
        await _own(conn, account_id, filter_id)
        if await status_rows.visible_status(conn, status_id, account_id) is None:
            raise FilterNotFound()
        if len(await filter_rows.statuses_of(conn, [filter_id])) >= MAX_STATUSES:
            raise InvalidFilter(f"Validation failed: A filter has at most {MAX_STATUSES} posts")
        await filter_rows.insert_filter_status(
            conn, rt.ids.next_id(), filter_id, status_id, now_ms()
        )
        for row in await filter_rows.statuses_of(conn, [filter_id]):
            if row["status_id"] == status_id:
                return row
        raise FilterNotFound()  # pragma: no cover - inserted just above

    return await rt.store.write(_announced(account_id, unit))


async def show_status(
    rt: Runtime, account_id: int, filter_status_id: int
) -> FilterStatusWithOwnerRow:
    """`GET /api/v2/filter_statuses/:id`."""
    return await rt.store.read(_own_status, account_id, filter_status_id)


async def delete_status(rt: Runtime, account_id: int, filter_status_id: int) -> None:
    """`DELETE /api/v2/filter_statuses/:id`."""

    async def unit(conn: Connection) -> None:
        await _own_status(conn, account_id, filter_status_id)
        await filter_rows.delete_filter_status(conn, filter_status_id)

    await rt.store.write(_announced(account_id, unit))


# The v1 view: one keyword is one v1 filter -------------------------------------------------------


async def v1_list(rt: Runtime, account_id: int) -> list[KeywordWithFilterRow]:
    """`GET /api/v1/filters`: every keyword, with its filter's context, action, expiry."""
    return await rt.store.read(filter_rows.keywords_of_account, account_id)


async def v1_create(
    rt: Runtime,
    account_id: int,
    *,
    phrase: str | None,
    context: list[str],
    irreversible: bool,
    whole_word: bool,
    expires_in: int | None,
) -> KeywordWithFilterRow:
    """`POST /api/v1/filters`: a v2 filter titled by its one keyword."""
    keyword = _check_keyword(phrase)
    view = await create(
        rt,
        account_id,
        FilterDraft(
            title=keyword,
            context=context,
            action="hide" if irreversible else "warn",
            expires_in=expires_in,
            keywords=[KeywordDraft(keyword=keyword, whole_word=whole_word)],
        ),
    )
    return await show_keyword(rt, account_id, view.keywords[0]["id"])


async def v1_update(
    rt: Runtime,
    account_id: int,
    keyword_id: int,
    *,
    phrase: str | None,
    context: list[str] | None,
    irreversible: bool | None,
    whole_word: bool | None,
    expires_in: int | None,
    expires_in_given: bool,
) -> KeywordWithFilterRow:
    """`PUT /api/v1/filters/:id`: change the keyword and, when it is its filter's only
    one, the filter (Mastodon refuses to change a filter shared with other keywords)."""
    row = await show_keyword(rt, account_id, keyword_id)
    wants_filter_change = (
        context is not None or irreversible is not None or expires_in_given or phrase is not None
    )
    if wants_filter_change:

        async def count(conn: Connection) -> int:
            return await filter_rows.count_keywords(conn, row["filter_id"])

        if await rt.store.read(count) > 1:
            raise InvalidFilter(
                "Validation failed: This filter has several keywords; edit it with the v2 API"
            )
        await update(
            rt,
            account_id,
            row["filter_id"],
            FilterDraft(
                title=None if phrase is None else _check_keyword(phrase),
                context=context,
                action=None if irreversible is None else ("hide" if irreversible else "warn"),
                expires_in=expires_in,
                expires_in_given=expires_in_given,
            ),
        )
    return await update_keyword(rt, account_id, keyword_id, phrase, whole_word)


async def v1_delete(rt: Runtime, account_id: int, keyword_id: int) -> None:
    """`DELETE /api/v1/filters/:id`: the keyword, and its filter once nothing is left."""

    async def unit(conn: Connection) -> None:
        row = await _own_keyword(conn, account_id, keyword_id)
        await filter_rows.delete_keyword(conn, keyword_id)
        left = await filter_rows.count_keywords(conn, row["filter_id"])
        if not left and not await filter_rows.statuses_of(conn, [row["filter_id"]]):
            await filter_rows.delete_filter(conn, row["filter_id"])

    await rt.store.write(_announced(account_id, unit))


# Applying ----------------------------------------------------------------------------------------


def hidden_ids(bundle: StatusBundle, context: str) -> set[int]:
    """The statuses of a bundle that a `hide` filter for `context` removes."""
    return {
        status_id
        for status_id, found in bundle.filtered.items()
        if any(m.filter["action"] == "hide" and context in m.filter["context"] for m in found)
    }


def visible_order(bundle: StatusBundle, context: str) -> list[int]:
    """The bundle's order without what the viewer's `hide` filters remove in `context` (a
    boost goes when what it boosts is hidden). Callers keep paginating on the full order,
    so a page whose statuses were all hidden still links to the next."""
    if not bundle.filtered:
        return bundle.order
    hidden = hidden_ids(bundle, context)
    if not hidden:
        return bundle.order
    return [
        i
        for i in bundle.order
        if i not in hidden and bundle.statuses[i]["reblog_of_id"] not in hidden
    ]
