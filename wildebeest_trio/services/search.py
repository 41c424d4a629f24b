"""Search as Mastodon's `/api/v2/search` and `/api/v1/accounts/search` answer it.

What each kind of result holds, and who may find what:

- Accounts: local accounts whose user may sign in, and known remote ones, never
  suspended or moved; found by an exact `user@domain` (first, and through WebFinger when
  `resolve` is on), by username prefix, by a word of the display name, or by a word of
  the bio for accounts that opted in to discovery (Mastodon searches bios only for
  `discoverable` accounts). Then the viewer and those they follow, then by followers.
  Anonymous callers get non-exact matches only for queries of three characters or more.
- Statuses: signed-in callers only (Mastodon's full-text search needs an account). Live
  statuses, not boosts, that the viewer may see and whose author is not hidden from them
  (blocks either way, mutes) nor suspended. Local statuses: all of those. Remote ones: only
  those the viewer interacted with (wrote, was mentioned in, favourited, boosted,
  bookmarked) or public ones whose author opted in with `indexable` - Mastodon's two
  indexes (`searchable_by` and the public one), so a remote post one merely saw in a
  timeline is not found. Newest first. Mastodon 4.2's operators are understood: `from:`,
  `has:`, `is:`, `language:`, `before:`, `after:`, `during:`, `in:library|public|all`,
  quoted phrases and `-` for negation; an unknown `prefix:` is searched as text.
- Hashtags: by name prefix, shortest first, with a week of history.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..federation import lookup
from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import search as search_rows
from ..store import statuses as status_rows
from ..store.rows import AccountRow
from ..store.search import StatusCriteria
from ..store.statuses import StatusBundle
from . import resolve
from .tags import DAY_MS, TagView, view

TYPES = ("accounts", "statuses", "hashtags")
MIN_QUERY_LENGTH = 3  # anonymous callers: shorter queries find exact matches only
MAX_TERMS = 16
MAX_OFFSET = 10_000  # deeper pages are empty (Elasticsearch's window in Mastodon, too)
HAS_VALUES = frozenset({"media", "image", "video", "audio", "poll", "link", "embed"})
IS_VALUES = frozenset({"reply", "sensitive"})
IN_VALUES = frozenset({"library", "public", "all"})
OPERATORS = frozenset({"from", "has", "is", "language", "before", "after", "during", "in"})
ACCT_RE = re.compile(r"^[A-Za-z0-9_]+([A-Za-z0-9_.-]+[A-Za-z0-9_]+)?(@[\w.:-]+[\w])?$")
_TOKEN = re.compile(
    r'(?P<sign>[+-])?(?:(?P<prefix>[a-z_]+):)?(?:"(?P<phrase>[^"]*)"?|(?P<term>[^\s"]+))'
)
_OPERATOR_IN_QUERY = re.compile(r"(?:^|\s)[+-]?(?:" + "|".join(sorted(OPERATORS)) + r"):")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})?$")
_WORD = re.compile(r"\w")


class InvalidSearch(ValueError):
    """A query Mastodon answers with 422 (an unknown property, a bad date...)."""


@dataclass(frozen=True)
class SearchRequest:
    """The parameters of `/api/v2/search` (already checked for type and range)."""

    q: str
    type: str | None = None
    resolve: bool = False
    following: bool = False
    account_id: int | None = None
    exclude_unreviewed: bool = False
    limit: int = 20
    offset: int = 0
    min_id: int | None = None  # statuses only, as Mastodon
    max_id: int | None = None


@dataclass
class SearchResults:
    """What a search found, each kind in its display order."""

    accounts: Sequence[RowView] = field(default_factory=list)
    statuses: StatusBundle = field(default_factory=lambda: StatusBundle(order=[]))
    hashtags: list[TagView] = field(default_factory=list)


# Parsing status queries ------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One piece of a query: a word, a phrase or an operator, maybe negated."""

    text: str
    negated: bool = False
    prefix: str | None = None
    phrase: bool = False


def parse_query(q: str) -> list[Clause]:
    """Split a query into clauses: `word`, `"a phrase"`, `-word`, `prefix:value`,
    `prefix:"a value"`; a prefix that is not an operator stays part of the word."""
    clauses = []
    q = q.replace("\x00", " ")  # no database takes NUL in text
    for match in _TOKEN.finditer(q):
        sign, prefix = match["sign"], match["prefix"]
        phrase = match["phrase"] is not None
        text = match["phrase"] if phrase else (match["term"] or "")
        if prefix is not None and prefix not in OPERATORS:
            text, prefix = f"{prefix}:{text}", None
        if not text and prefix is None:
            continue
        clauses.append(Clause(text, sign == "-", prefix, phrase))
        if len(clauses) >= MAX_TERMS:
            break
    return clauses


def _day(value: str) -> int:
    """Midnight UTC of a `YYYY-MM-DD` date, in milliseconds."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidSearch(f"Invalid date {value}") from None
    if len(value) != 10:
        raise InvalidSearch(f"Invalid date {value}")
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


async def _from_account(rt: Runtime, conn: Connection, value: str, viewer_id: int) -> int | None:
    if value.lower() == "me":
        return viewer_id
    username, _, domain = value.lstrip("@").partition("@")
    if not username:
        return None
    local = not domain or domain.lower() == rt.config.domain
    row = await account_rows.account_by_acct(conn, username, None if local else domain)
    return None if row is None else int(row["id"])


async def build_criteria(
    rt: Runtime, conn: Connection, clauses: list[Clause], viewer_id: int
) -> StatusCriteria | None:
    """The criteria of parsed clauses; None when they cannot match anything (`from:` an
    account nobody knows); InvalidSearch for a malformed operator."""
    c = StatusCriteria()
    for clause in clauses:
        value, neg = clause.text.strip(), clause.negated
        if clause.prefix is None:
            if not _WORD.search(value):
                continue  # nothing to index: punctuation only
            if neg:
                c.excluded.append(value)
            elif clause.phrase:
                c.phrases.append(value)
            else:
                c.words.append(value)
            continue
        key = clause.prefix
        lowered = value.lower()
        if key == "from":
            account_id = await _from_account(rt, conn, value, viewer_id)
            if account_id is None:
                if neg:
                    continue
                return None
            (c.not_from_ids if neg else c.from_ids).append(account_id)
        elif key == "has":
            if lowered not in HAS_VALUES:
                raise InvalidSearch(f"Unknown property: {value}")
            (c.has_not if neg else c.has).append(lowered)
        elif key == "is":
            if lowered not in IS_VALUES:
                raise InvalidSearch(f"Unknown property: {value}")
            (c.is_not if neg else c.is_).append(lowered)
        elif key == "language":
            if not _LANGUAGE.match(lowered):
                raise InvalidSearch(f"Invalid language {value}")
            (c.not_languages if neg else c.languages).append(lowered)
        elif key in ("before", "after", "during"):
            start = _day(value)
            if neg:
                raise InvalidSearch(f"{key}: cannot be negated")
            if key in ("before", "during"):
                end = start if key == "before" else start + DAY_MS
                c.before = end if c.before is None else min(c.before, end)
            if key in ("after", "during"):
                begin = start + DAY_MS if key == "after" else start
                c.after = begin if c.after is None else max(c.after, begin)
        elif key == "in":
            if lowered not in IN_VALUES or neg:
                raise InvalidSearch(f"Unknown value for in: {value}")
            c.in_library = c.in_library or lowered == "library"
            c.in_public = c.in_public or lowered == "public"
    return c


def _criteria_search_anything(c: StatusCriteria) -> bool:
    """Whether the criteria narrow anything down (a lone `-word` does not)."""
    return bool(
        c.has_text()
        or c.from_ids
        or c.has
        or c.is_
        or c.languages
        or c.before is not None
        or c.after is not None
        or c.in_library
        or c.account_id is not None
    )


async def search_statuses(
    rt: Runtime,
    viewer_id: int,
    q: str,
    *,
    limit: int,
    offset: int,
    account_id: int | None = None,
    min_id: int | None = None,
    max_id: int | None = None,
) -> StatusBundle:
    """Full-text status search for a signed-in viewer (see the module docstring);
    `min_id`/`max_id` keep ids above/below them."""
    clauses = parse_query(q)

    async def unit(conn: Connection) -> StatusBundle:
        criteria = await build_criteria(rt, conn, clauses, viewer_id)
        if criteria is None:
            return StatusBundle(order=[])
        criteria.account_id = account_id
        criteria.min_id, criteria.max_id = min_id, max_id
        if not _criteria_search_anything(criteria):
            return StatusBundle(order=[])
        rows = await search_rows.search_statuses(conn, criteria, viewer_id, now_ms(), limit, offset)
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


# Accounts ---------------------------------------------------------------------------------------


async def search_accounts(
    rt: Runtime,
    viewer_id: int | None,
    q: str,
    *,
    limit: int,
    offset: int = 0,
    resolve: bool = False,
    following: bool = False,
) -> list[AccountRow]:
    """Accounts for a query (see the module docstring); `resolve` looks an exact remote
    `user@domain` up through WebFinger when it is not known yet."""
    query = q.strip().removeprefix("@")
    if not query or limit < 1 or offset > MAX_OFFSET:
        return []
    username, _, domain = query.partition("@")
    domain = domain.strip()
    local = not domain or domain.lower() == rt.config.domain
    exact: AccountRow | None = None
    if offset == 0 and "@" in query and ACCT_RE.match(query):
        exact = await _exact_account(rt, username, None if local else domain, resolve)
        if exact is not None and following and viewer_id is not None and exact["id"] != viewer_id:
            if not await rt.store.read(search_rows.follows, viewer_id, exact["id"]):
                exact = None
    budget = limit - (1 if exact is not None else 0)
    if viewer_id is None and len(query) < MIN_QUERY_LENGTH:
        budget = 0
    words = username.split() if "@" in query else query.split()
    rows: list[AccountRow] = []
    if budget > 0 and words:
        rows = await rt.store.read(
            search_rows.search_accounts,
            words[:MAX_TERMS],
            None if local else domain,
            viewer_id,
            following=following,
            limit=budget,
            offset=offset,
            exclude_id=None if exact is None else exact["id"],
        )
    return ([exact] if exact is not None else []) + rows


async def _exact_account(
    rt: Runtime, username: str, domain: str | None, resolve: bool
) -> AccountRow | None:
    if resolve and domain is not None:
        try:
            found = await lookup.resolve_account(rt, username, domain)
        except lookup.LookupFailed:
            found = None
    else:
        found = await rt.store.read(account_rows.account_by_acct, username, domain)
    if found is None:
        return None
    return await rt.store.read(search_rows.searchable_account, found["id"])


# Hashtags ---------------------------------------------------------------------------------------


async def search_hashtags(
    rt: Runtime,
    viewer_id: int | None,
    q: str,
    *,
    limit: int,
    offset: int,
    exclude_unreviewed: bool = False,
) -> list[TagView]:
    """Tags by name prefix with their history. No tag here is ever reviewed (there are no
    trend reviews), so `exclude_unreviewed` keeps only the exact name, as Mastodon keeps
    exact matches of unreviewed tags."""
    name = q.strip().lstrip("#").strip()
    if not name or limit < 1:
        return []

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        rows = await search_rows.search_tags(
            conn, name, limit, offset, exact_only=exclude_unreviewed
        )
        return [await view(conn, row, viewer_id, now) for row in rows]

    return await rt.store.read(unit)


# Everything at once -----------------------------------------------------------------------------


def _wants(request: SearchRequest, kind: str) -> bool:
    return request.type is None or request.type == kind


async def search(rt: Runtime, viewer_id: int | None, request: SearchRequest) -> SearchResults:
    """`/api/v2/search`: the kinds asked for, each searched as Mastodon decides from the
    query's shape (no offset without a type, as Mastodon ignores it then)."""
    results = SearchResults()
    q = request.q.strip()
    offset = request.offset if request.type is not None else 0
    if not q or request.limit == 0 or offset > MAX_OFFSET:
        return results
    if request.resolve and re.match(r"^https?://", q):
        if offset > 0:
            return results
        found = await resolve.resolve_url(rt, q, viewer_id)
        if isinstance(found, lookup.FoundAccount) and _wants(request, "accounts"):
            row = await rt.store.read(search_rows.searchable_account, found.account_id)
            if row is not None:
                results.accounts = [row]
        elif isinstance(found, lookup.FoundStatus) and _wants(request, "statuses"):
            results.statuses = await _visible_status(rt, found.status_id, viewer_id)
        return results
    if _wants(request, "accounts") and not (q.startswith("#") or ("@" in q and " " in q)):
        results.accounts = await search_accounts(
            rt,
            viewer_id,
            q,
            limit=request.limit,
            offset=offset,
            resolve=request.resolve,
            following=request.following,
        )
    lone_name = (q.startswith("#") or "@" in q) and " " not in q
    if (
        _wants(request, "statuses")
        and viewer_id is not None
        and (not lone_name or _OPERATOR_IN_QUERY.search(q))
    ):
        results.statuses = await search_statuses(
            rt,
            viewer_id,
            q,
            limit=request.limit,
            offset=offset,
            account_id=request.account_id,
            min_id=request.min_id,
            max_id=request.max_id,
        )
    if _wants(request, "hashtags") and "@" not in q:
        results.hashtags = await search_hashtags(
            rt,
            viewer_id,
            q,
            limit=request.limit,
            offset=offset,
            exclude_unreviewed=request.exclude_unreviewed,
        )
    return results


async def _visible_status(rt: Runtime, status_id: int, viewer_id: int | None) -> StatusBundle:
    async def unit(conn: Connection) -> StatusBundle:
        row = await status_rows.visible_status(conn, status_id, viewer_id)
        if row is None or row["reblog_of_id"] is not None:
            return StatusBundle(order=[])
        if viewer_id is not None:
            hidden = await status_rows.hidden_account_ids(conn, viewer_id, now_ms())
            if row["account_id"] in hidden:
                return StatusBundle(order=[])
        return await status_rows.hydrate(conn, [row], viewer_id, rt.entities)

    return await rt.store.read(unit)


async def resolve_remote_acct(rt: Runtime, acct: str, token: object | None) -> AccountRow | None:
    """`/api/v1/accounts/lookup`'s fallback: an unknown remote `user@domain` resolved
    through WebFinger, only for a caller with a user token (as search's `resolve`)."""
    if token is None or getattr(token, "account_id", None) is None:
        return None
    username, _, domain = acct.strip().lstrip("@").partition("@")
    if not username or not domain or not ACCT_RE.match(f"{username}@{domain}"):
        return None
    try:
        return await lookup.resolve_account(rt, username, domain)
    except lookup.LookupFailed:
        return None
