"""Search: full-text status matches, accounts by name, hashtags by prefix.

The status index is kept by triggers (migration 0014): a contentless FTS5 table
`status_search` keyed by status id on SQLite, a `status_search` table of tsvectors with a
GIN index on PostgreSQL. Both index the same text, `search_text(spoiler, content)`, and
neither stems.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .rows import AccountRow, StatusRow, TagRow
from .statuses import LIVE, hidden_accounts_sql, visible_sql

_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
MEDIA_KINDS = {"media": None, "image": ("image",), "video": ("video", "gifv"), "audio": ("audio",)}


def search_text(spoiler: str | None, content: str | None) -> str:
    """The words a status is found by: its content warning and its text without markup.

    SQLite calls this as `wb_search_text` from the index triggers; PostgreSQL's
    `wb_search_document` does the same in SQL.
    """
    plain = html.unescape(_TAG.sub(" ", content or ""))
    return _SPACES.sub(" ", f"{spoiler or ''} {plain}").strip()


def like_escape(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with `ESCAPE '\\'`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class StatusCriteria:
    """A parsed status search: words and phrases to match or exclude, and the filters of
    Mastodon's operators (each a condition or its negation)."""

    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # words or phrases
    from_ids: list[int] = field(default_factory=list)
    not_from_ids: list[int] = field(default_factory=list)
    has: list[str] = field(default_factory=list)
    has_not: list[str] = field(default_factory=list)
    is_: list[str] = field(default_factory=list)
    is_not: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    not_languages: list[str] = field(default_factory=list)
    before: int | None = None  # created_at < before (ms)
    after: int | None = None  # created_at >= after (ms)
    in_library: bool = False
    in_public: bool = False
    account_id: int | None = None
    min_id: int | None = None  # ids above it
    max_id: int | None = None  # ids below it

    def has_text(self) -> bool:
        return bool(self.words or self.phrases)


class _Args:
    """Positional parameters for one statement, handed out as `$n`."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def pg_literal(text: str) -> str:
    """`text` as a PostgreSQL string constant (an E'' string: quotes and backslashes
    escaped, so it holds whatever `standard_conforming_strings` says).

    Search words go into the statement itself rather than as parameters: asyncpg prepares
    every statement, and after five runs PostgreSQL may switch a prepared statement to a
    generic plan that cannot know how common `$1` is; for a rare word that plan walks the
    whole index backwards (measured: 1.2 s at 200,000 statuses, against 0.7 ms planned
    with the word). Limit and offset are inlined for the same reason.
    """
    return "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fts5_string(text: str) -> str:
    """An FTS5 string token: a phrase of whatever words `text` holds, never syntax."""
    return '"' + text.replace('"', '""') + '"'


def interacted_sql(viewer: str) -> str:
    """The viewer wrote, was mentioned in, favourited, boosted, bookmarked or voted in the
    poll of the status `s` (Mastodon's "searchable by": the statuses in one's library)."""
    return (
        f"(s.account_id = {viewer} "
        f"OR EXISTS (SELECT 1 FROM mentions im WHERE im.account_id = {viewer} "
        "AND im.status_id = s.id) "
        f"OR EXISTS (SELECT 1 FROM favourites ifv WHERE ifv.account_id = {viewer} "
        "AND ifv.status_id = s.id) "
        f"OR EXISTS (SELECT 1 FROM bookmarks ibk WHERE ibk.account_id = {viewer} "
        "AND ibk.status_id = s.id) "
        f"OR EXISTS (SELECT 1 FROM statuses irb WHERE irb.reblog_of_id = s.id "
        f"AND irb.account_id = {viewer} AND irb.deleted_at IS NULL) "
        "OR EXISTS (SELECT 1 FROM polls ipl JOIN poll_votes ipv ON ipv.poll_id = ipl.id "
        f"WHERE ipl.status_id = s.id AND ipv.account_id = {viewer}))"
    )


# An anchor that is neither a mention nor a hashtag: a link (Mastodon's `has:link` means a
# preview card, which this server does not make; a link is what would have one).
_HAS_LINK = (
    "(length(s.content) - length(replace(s.content, '<a ', ''))) / 3 > "
    "(length(s.content) - length(replace(s.content, 'u-url mention', ''))) / 13 + "
    "(length(s.content) - length(replace(s.content, 'mention hashtag', ''))) / 15"
)


def _has_sql(kind: str) -> str:
    if kind in MEDIA_KINDS:
        types = MEDIA_KINDS[kind]
        cond = "ma.status_id = s.id"
        if types:
            cond += " AND ma.type IN (" + ", ".join(f"'{t}'" for t in types) + ")"
        return f"EXISTS (SELECT 1 FROM media_attachments ma WHERE {cond})"
    if kind == "poll":
        return "EXISTS (SELECT 1 FROM polls pl WHERE pl.status_id = s.id)"
    if kind == "link":
        return f"({_HAS_LINK})"
    # `embed`: a video preview card; this server makes no preview cards.
    return "1 = 0"


def _is_sql(kind: str) -> str:
    return "s.in_reply_to_id IS NOT NULL" if kind == "reply" else "s.sensitive"


async def search_statuses(
    conn: Connection,
    criteria: StatusCriteria,
    viewer_id: int,
    now: int,
    limit: int,
    offset: int,
) -> list[StatusRow]:
    """The statuses matching `criteria` that the viewer may find, newest first.

    Findable: live, not a boost, visible to the viewer (`visible_sql`), not from an
    account hidden from them (blocks either way, mutes), nor from a suspended one; and,
    for a remote status, one the viewer interacted with or a public one whose author opted
    in to search (`indexable`), as Mastodon's two indexes allow.
    """
    arg = _Args()
    v = arg(viewer_id)
    t = arg(now)
    where = [
        LIVE,
        "s.reblog_of_id IS NULL",
        visible_sql("s", v),
        # Boosts are not searched, so only the author can be hidden from the viewer.
        f"s.account_id NOT IN ({hidden_accounts_sql(v, t)})",
        "a.suspended_at IS NULL",
        f"(s.local OR {interacted_sql(v)} OR (s.visibility = 'public' AND a.indexable))",
    ]
    postgres = conn.dialect == "postgres"
    if criteria.has_text():
        if postgres:
            queries = [f"plainto_tsquery('simple', {pg_literal(w)})" for w in criteria.words]
            queries += [f"phraseto_tsquery('simple', {pg_literal(p)})" for p in criteria.phrases]
            source = "status_search x JOIN statuses s ON s.id = x.status_id"
            where.append(f"x.document @@ ({' && '.join(queries)})")
            order = "x.status_id"
        else:
            expression = " AND ".join(_fts5_string(w) for w in criteria.words + criteria.phrases)
            source = "status_search JOIN statuses s ON s.id = status_search.rowid"
            where.append(f"status_search MATCH {arg(expression)}")
            order = "status_search.rowid"
    else:
        source = "statuses s"
        order = "s.id"
    source += " JOIN accounts a ON a.id = s.account_id"
    for text in criteria.excluded:
        if postgres:
            where.append(
                "s.id NOT IN (SELECT nx.status_id FROM status_search nx "
                f"WHERE nx.document @@ phraseto_tsquery('simple', {pg_literal(text)}))"
            )
        else:
            where.append(
                "s.id NOT IN (SELECT rowid FROM status_search "
                f"WHERE status_search MATCH {arg(_fts5_string(text))})"
            )
    if criteria.account_id is not None:
        where.append(f"s.account_id = {arg(criteria.account_id)}")
    if criteria.min_id is not None:
        where.append(f"s.id > {arg(criteria.min_id)}")
    if criteria.max_id is not None:
        where.append(f"s.id < {arg(criteria.max_id)}")
    for account_id in criteria.from_ids:
        where.append(f"s.account_id = {arg(account_id)}")
    for account_id in criteria.not_from_ids:
        where.append(f"s.account_id <> {arg(account_id)}")
    for kind in criteria.has:
        where.append(_has_sql(kind))
    for kind in criteria.has_not:
        where.append(f"NOT {_has_sql(kind)}")
    for kind in criteria.is_:
        where.append(_is_sql(kind))
    for kind in criteria.is_not:
        where.append(f"NOT {_is_sql(kind)}")
    for language in criteria.languages:
        where.append(f"s.language = {arg(language)}")
    for language in criteria.not_languages:
        where.append(f"(s.language IS NULL OR s.language <> {arg(language)})")
    if criteria.before is not None:
        where.append(f"s.created_at < {arg(criteria.before)}")
    if criteria.after is not None:
        where.append(f"s.created_at >= {arg(criteria.after)}")
    if criteria.in_library:
        where.append(interacted_sql(v))
    if criteria.in_public:
        where.append("s.visibility = 'public' AND a.indexable")
    base = f"SELECT s.* FROM {source} WHERE {' AND '.join(where)}"
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}"
    if not (postgres and criteria.has_text()):
        return await fetch_as(conn, StatusRow, f"{base} ORDER BY {order} DESC{page}", *arg.values)
    # PostgreSQL has no index that returns text matches newest first (FTS5 does), so it
    # either walks the newest statuses testing each (fast when matches are common) or
    # collects every match and sorts (fast when they are rare); its guess of which is
    # which fails for phrases and middling words (seconds at 1,000,000 statuses). So the
    # newest slice of the index is searched first, walked in order; if it holds less than
    # a page, wider slices, each matched through the GIN index then sorted, whose cost
    # follows the matches in the slice rather than its size.
    for i, bound in enumerate(await _pg_windows(conn)):
        window = "" if bound is None else f" AND x.status_id > {int(bound)}"
        ordered = order if i == 0 else f"{order} + 0"  # `+ 0`: no walk along the key
        rows = await fetch_as(
            conn, StatusRow, f"{base}{window} ORDER BY {ordered} DESC{page}", *arg.values
        )
        if len(rows) == limit or bound is None:
            return rows
    return []


WINDOWS = (20_000, 320_000)  # index entries in the slices searched before the whole index


async def _pg_windows(conn: Connection) -> list[int | None]:
    """Lower id bounds of the newest slices of the status index (sizes in `WINDOWS`,
    estimated from the id range and the row estimate), then None for all of it."""
    row = await conn.fetchrow(
        "SELECT max(status_id) AS hi, min(status_id) AS lo, "
        "(SELECT reltuples FROM pg_class WHERE oid = 'status_search'::regclass) AS n "
        "FROM status_search"
    )
    if row is None or row["hi"] is None or not row["n"] or row["n"] <= 0:
        return [None]
    hi, lo, n = int(row["hi"]), int(row["lo"]), float(row["n"])
    per_entry = (hi - lo) / n
    return [hi - int(per_entry * size) for size in WINDOWS if size < n] + [None]


# Accounts ---------------------------------------------------------------------------------------

_SEARCHABLE_ACCOUNT = (
    "a.suspended_at IS NULL AND a.moved_to_account_id IS NULL "
    # Local accounts only once their user may sign in (the instance actor has no user).
    "AND (a.domain IS NOT NULL OR EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id "
    "AND u.approved AND u.confirmed_at IS NOT NULL AND NOT u.disabled))"
)


async def search_accounts(
    conn: Connection,
    words: list[str],
    domain: str | None,
    viewer_id: int | None,
    *,
    following: bool,
    limit: int,
    offset: int,
    exclude_id: int | None = None,
) -> list[AccountRow]:
    """Accounts every one of whose `words` starts their username or a word of their
    display name (or, for accounts that opted in to discovery, appears in their bio),
    at a domain starting with `domain` if given; the viewer and those they follow first,
    then by followers. `following` keeps only those (and the viewer)."""
    arg = _Args()
    followed = "0"
    if viewer_id is not None:
        v = arg(viewer_id)
        followed = (
            f"CASE WHEN a.id = {v} OR EXISTS (SELECT 1 FROM follows ff WHERE ff.account_id = {v} "
            "AND ff.target_account_id = a.id) THEN 1 ELSE 0 END"
        )
    where = [_SEARCHABLE_ACCOUNT]
    for word in words:
        prefix = arg(like_escape(word.lower()) + "%")
        inner = arg("% " + like_escape(word.lower()) + "%")
        anywhere = arg("%" + like_escape(word.lower()) + "%")
        where.append(
            f"(lower(a.username) LIKE {prefix} ESCAPE '\\' "
            f"OR lower(a.display_name) LIKE {prefix} ESCAPE '\\' "
            f"OR lower(a.display_name) LIKE {inner} ESCAPE '\\' "
            f"OR (a.discoverable AND lower(a.note) LIKE {anywhere} ESCAPE '\\'))"
        )
    if domain:
        where.append(f"lower(a.domain) LIKE {arg(like_escape(domain.lower()) + '%')} ESCAPE '\\'")
    if exclude_id is not None:
        where.append(f"a.id <> {arg(exclude_id)}")
    if following and viewer_id is not None:
        where.append(f"{followed} = 1")
    order = [f"{followed} DESC"] if viewer_id is not None else []
    if words:
        order.append(f"CASE WHEN lower(a.username) = {arg(words[0].lower())} THEN 0 ELSE 1 END")
    order += ["a.followers_count DESC", "a.id"]
    sql = (
        f"SELECT a.* FROM accounts a WHERE {' AND '.join(where)} "
        f"ORDER BY {', '.join(order)} LIMIT {arg(limit)} OFFSET {arg(offset)}"
    )
    return await fetch_as(conn, AccountRow, sql, *arg.values)


async def searchable_account(conn: Connection, account_id: int) -> AccountRow | None:
    """An account if search may show it (see `_SEARCHABLE_ACCOUNT`)."""
    return await fetchrow_as(
        conn,
        AccountRow,
        f"SELECT a.* FROM accounts a WHERE a.id = $1 AND {_SEARCHABLE_ACCOUNT}",
        account_id,
    )


async def follows(conn: Connection, viewer_id: int, account_id: int) -> bool:
    """Whether the viewer follows the account."""
    found = await conn.fetchval(
        "SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2",
        viewer_id,
        account_id,
    )
    return found is not None


# Hashtags ---------------------------------------------------------------------------------------


async def search_tags(
    conn: Connection, name: str, limit: int, offset: int, *, exact_only: bool
) -> list[TagRow]:
    """Tags whose name starts with `name` (lower-cased), shortest first, as Mastodon
    orders them; only the exact name when `exact_only`."""
    if exact_only:
        return await fetch_as(
            conn,
            TagRow,
            "SELECT * FROM tags WHERE name = $1 LIMIT $2 OFFSET $3",
            name.lower(),
            limit,
            offset,
        )
    return await fetch_as(
        conn,
        TagRow,
        "SELECT * FROM tags WHERE name LIKE $1 ESCAPE '\\' ORDER BY length(name), name "
        "LIMIT $2 OFFSET $3",
        like_escape(name.lower()) + "%",
        limit,
        offset,
    )
