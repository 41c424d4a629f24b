"""Search: full-text status matches, accounts by name, hashtags by prefix.

The status index is kept by triggers (migration 0014): a contentless FTS5 table
`status_search` keyed by status id on SQLite, a `status_search` table of tsvectors with a
GIN index on PostgreSQL (which also indexes when each status was posted: migration 0018).
Both index the same text, `search_text(spoiler, content)`, and neither stems.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import Connection, Row
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
) -> list[Row]:
    """The statuses matching `criteria` that the viewer may find, newest first.

    Findable: live, not a boost, visible to the viewer (`visible_sql`), not from an
    account hidden from them (blocks either way, mutes), nor from a suspended one; and,
    for a remote status, one the viewer interacted with or a public one whose author opted
    in to search (`indexable`), as Mastodon's two indexes allow.

    SQLite's FTS5 index hands out matches newest first, so one statement does it all
    (`in_one_statement`). PostgreSQL's GIN index does not: there a text search that no
    account, date or library narrows down looks for its matches in slices of the index,
    newest first (`_NewestFirst`, below).
    """
    if conn.dialect == "postgres" and criteria.has_text() and not _narrowed(criteria):
        return await _NewestFirst(criteria, viewer_id, now).page(conn, limit, offset)
    return await in_one_statement(conn, criteria, viewer_id, now, limit, offset)


async def in_one_statement(
    conn: Connection,
    criteria: StatusCriteria,
    viewer_id: int,
    now: int,
    limit: int,
    offset: int,
) -> list[Row]:
    """`search_statuses` as one statement, the database choosing how to run it: on
    PostgreSQL what it does for searches that something besides the words narrows (and
    what the slices must agree with)."""
    postgres = conn.dialect == "postgres"
    arg = _Args()
    where = _findable_sql(criteria, arg(viewer_id), arg(now), arg, postgres)
    if criteria.has_text():
        if postgres:
            source = "status_search x JOIN statuses s ON s.id = x.status_id"
            where.append(f"x.document @@ {_pg_match(criteria)}")
            order = "x.status_id"
        else:
            expression = " AND ".join(_fts5_string(w) for w in criteria.words + criteria.phrases)
            source = "status_search JOIN statuses s ON s.id = status_search.rowid"
            where.append(f"status_search MATCH {arg(expression)}")
            order = "status_search.rowid"
    else:
        source = "statuses s"
        order = "s.id"
    if criteria.min_id is not None:
        where.append(f"s.id > {arg(criteria.min_id)}")
    if criteria.max_id is not None:
        where.append(f"s.id < {arg(criteria.max_id)}")
    sql = (
        f"SELECT s.* FROM {source} JOIN accounts a ON a.id = s.account_id "
        f"WHERE {' AND '.join(where)} ORDER BY {order} DESC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return await conn.fetch(sql, *arg.values)


def _narrowed(criteria: StatusCriteria) -> bool:
    """Whether something besides the words picks out few statuses (an account, the
    viewer's library, dates), so that the planner had better start from it."""
    return bool(
        criteria.account_id is not None
        or criteria.from_ids
        or criteria.in_library
        or criteria.before is not None
        or criteria.after is not None
    )


def _pg_match(criteria: StatusCriteria, text: Callable[[str], str] = pg_literal) -> str:
    """The tsquery of the words and phrases, each word or phrase put in by `text` (by
    default as a constant: see `pg_literal`)."""
    queries = [f"plainto_tsquery('simple', {text(w)})" for w in criteria.words]
    queries += [f"phraseto_tsquery('simple', {text(p)})" for p in criteria.phrases]
    return f"({' && '.join(queries)})"


def _findable_sql(
    criteria: StatusCriteria, v: str, t: str, arg: _Args, postgres: bool
) -> list[str]:
    """The conditions on `s` (a status) and `a` (its author) besides the words and the
    id bounds: what the viewer may find, and the operators."""
    where = [
        LIVE,
        "s.reblog_of_id IS NULL",
        visible_sql("s", v),
        # Boosts are not searched, so only the author can be hidden from the viewer.
        f"s.account_id NOT IN ({hidden_accounts_sql(v, t)})",
        "a.suspended_at IS NULL",
        f"(s.local OR {interacted_sql(v)} OR (s.visibility = 'public' AND a.indexable))",
    ]
    for text in criteria.excluded:
        if postgres:
            where.append(
                "NOT EXISTS (SELECT 1 FROM status_search nx WHERE nx.status_id = s.id "
                f"AND nx.document @@ (SELECT phraseto_tsquery('simple', {arg(text)})))"
            )
        else:
            where.append(
                "s.id NOT IN (SELECT rowid FROM status_search "
                f"WHERE status_search MATCH {arg(_fts5_string(text))})"
            )
    if criteria.account_id is not None:
        where.append(f"s.account_id = {arg(criteria.account_id)}")
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
    return where


# PostgreSQL: newest matches first -------------------------------------------------------------
#
# The GIN index (migration 0018) holds, beside each status's words, the buckets of time its
# id falls in: one bucket of each size in RECENCY_SHIFTS (2**shift milliseconds, each size
# four times the last: about 4 s up to 2.2 years), and, for phrases, the (hashed) pairs of
# neighbouring words. Asked for the matches within two or three buckets, GIN intersects
# the words' entries with the buckets', so the cost follows the matches in that slice of
# time, not all the matches of the words (nor, for a phrase, every status holding its
# words), and not the statuses in the slice.
#
# A search first tests the newest WALK entries one by one (a common word or phrase is
# found there); past them it asks the index for slices of ids further back, each as wide
# as the matches so far say it takes to fill the page, but at least as wide as everything
# searched before it and at most 64 times as wide, until the page is full or the oldest
# entry is passed. So a query that matches nothing ends after the walk and at most
# log2(age of the oldest status / width of the walk) slices, each read from the index
# (with nothing matching, each is 64 times the last: after the walk, two slices cover the
# 1,000,000 statuses of the benchmark).

RECENCY_SHIFTS = tuple(range(12, 37, 2))  # as `wb_search_buckets` (migration 0018)
WALK = 500  # newest index entries tested one by one before the index is asked
MAX_BUCKETS = 16  # a slice wider than this many of the largest is matched without them
_TOP_ID = 2**63 - 1


def recency_buckets(status_id: int) -> list[int]:
    """What `wb_search_buckets(status_id)` holds: for each size, the bucket the id's
    millisecond falls in, tagged with the size so that sizes never share a value."""
    return [(shift << 48) + (status_id >> (16 + shift)) for shift in RECENCY_SHIFTS]


def recency_slice(hi: int, width: int, floor: int) -> tuple[int, list[int] | None]:
    """The slice of ids below `hi` (and above `floor`) at least `width` wide: its lowest
    id, where a bucket starts, and the buckets it covers: two or three of the smallest
    size at least half as wide (so it is at most about twice as wide as asked); None
    instead of buckets when it would take more than MAX_BUCKETS of the largest."""
    lowest = max(hi - width, floor + 1)
    shift = next((s for s in RECENCY_SHIFTS if 2 << (16 + s) >= hi - lowest), RECENCY_SHIFTS[-1])
    bits = 16 + shift
    first, last = lowest >> bits, (hi - 1) >> bits
    if last - first >= MAX_BUCKETS:
        return floor + 1, None
    return max(first << bits, floor + 1), [(shift << 48) + b for b in range(first, last + 1)]


def _batch(missing: int) -> int:
    """How many matches to ask for when `missing` findable ones are wanted (a few of
    them may not be findable)."""
    return missing + missing // 4 + 4


class _NewestFirst:
    """A PostgreSQL text search: the newest matches of the words (see above), each batch
    with the row of every match the viewer may find (as one statement would test) in the
    same statement.

    Its statements take the words as parameters and do not change with them, so the
    connection prepares each once; their plans cannot go wrong with a word's frequency:
    the walk is a walk by its shape, the slices leave the planner nothing but the GIN
    index (the id bounds are written so that no other index serves them), and each match
    is looked up by its id."""

    def __init__(self, criteria: StatusCriteria, viewer_id: int, now: int) -> None:
        arg = _Args()
        words: list[str] = []

        def word(text: str) -> str:
            words.append(arg(text))
            return words[-1]

        # A subquery, so that the tsquery is made once, not once per row tested.
        self.match = f"(SELECT {_pg_match(criteria, word)})"
        # What the index is asked in a slice: every word, and for a phrase its pairs of
        # neighbouring words (see `wb_search_pairs`), which the index answers exactly;
        # whether the words of a phrase are neighbours is then tested on each candidate
        # (`ts_match_vq` is `@@` the planner cannot give to the index: as an index
        # condition, each candidate would be tested on all of them, pairs made again).
        phrases = words[len(criteria.words) :]
        every = " && ".join(f"plainto_tsquery('simple', {w})" for w in words)
        self.index_match = f"(SELECT {every})"
        self.pairs = "".join(
            f" AND wb_search_pairs(document) @> (SELECT wb_search_phrase_pairs({p}))"
            for p in phrases
        )
        if phrases:
            self.pairs += f" AND ts_match_vq(document, {self.match})"
        where = _findable_sql(criteria, arg(viewer_id), arg(now), arg, postgres=True)
        # `OFFSET 0`: looked up for each match, never joined wholesale.
        self.findable = (
            "LEFT JOIN LATERAL (SELECT s.* FROM statuses s JOIN accounts a "
            f"ON a.id = s.account_id WHERE s.id = c.status_id AND {' AND '.join(where)} "
            "OFFSET 0) f ON true"
        )
        self.args = arg.values
        self.hi = _TOP_ID if criteria.max_id is None else criteria.max_id  # ids below it
        self.floor = -_TOP_ID - 1 if criteria.min_id is None else criteria.min_id  # above
        self.walking = True
        self.slice: tuple[int, list[int] | None] | None = None
        self.searched = 0  # how wide the ids searched so far are
        self.matched = 0  # and how many of them matched

    async def page(self, conn: Connection, limit: int, offset: int) -> list[Row]:
        """Rows `offset` to `offset + limit` of the findable matches."""
        page: list[Row] = []
        found = 0
        while found < offset + limit and self.hi > self.floor + 1:
            step = self._walk if self.walking else self._from_index
            # Before the offset only the ids come back: those rows are counted, not shown.
            skipping = found < offset
            missing = offset - found if skipping else offset + limit - found
            for row in await step(conn, missing, "f.id" if skipping else "f.*"):
                if not skipping:
                    page.append({k: v for k, v in row.items() if k not in _BOOKKEEPING})
                found += 1
        return page

    def _params(self, *values: Any) -> tuple[list[str], list[Any]]:
        n = len(self.args)
        return [f"${n + i}" for i in range(1, len(values) + 1)], [*self.args, *values]

    def _findable_among(self, matches: str, missing: str, columns: str) -> str:
        """The first `missing` findable rows (their `columns`) among `matches` (a
        statement giving up to `want` ids of matches), and the oldest match, findable or
        not, unless `missing` were found; each row with how many matches there were."""
        return (
            f"WITH c AS MATERIALIZED ({matches}) "
            f"SELECT c.status_id AS match_id, (SELECT count(*) FROM c) AS matches, {columns} "
            f"FROM c {self.findable} "
            "WHERE f.id IS NOT NULL OR c.status_id = (SELECT min(status_id) FROM c) "
            f"ORDER BY c.status_id DESC LIMIT {missing}"
        )

    def _continue(self, rows: list[Row], want: int, missing: int) -> tuple[list[Row], bool]:
        """The findable rows of a batch, and whether the place it searched may hold more
        matches: it found `missing` findable ones, or `want` matches; then the next batch
        starts below the last match it looked at."""
        found = [r for r in rows if r["id"] is not None]
        if len(found) == missing or (rows and rows[0]["matches"] == want):
            self.hi = rows[-1]["match_id"]
            return found, True
        return found, False

    async def _walk(self, conn: Connection, missing: int, columns: str) -> list[Row]:
        """Test the newest WALK entries one by one; every row also tells which entries
        those were and where the index begins (one row with no match if none matched)."""
        want = _batch(missing)
        (hi, floor, limit, first), args = self._params(self.hi, self.floor, want, missing)
        newest = (
            f"FROM status_search WHERE status_id < {hi} AND status_id > {floor} "
            f"ORDER BY status_id DESC LIMIT {WALK}"
        )
        matches = (
            f"SELECT status_id FROM (SELECT status_id, document {newest}) w "
            f"WHERE document @@ {self.match} ORDER BY status_id DESC LIMIT {limit}"
        )
        rows = await conn.fetch(
            "SELECT e.*, m.* FROM (SELECT min(status_id) AS walk_bottom, max(status_id) AS "
            "walk_top, count(*) AS walk_seen, (SELECT min(status_id) FROM status_search) "
            f"AS index_oldest FROM (SELECT status_id {newest}) w) e LEFT JOIN "
            f"({self._findable_among(matches, first, columns)}) m ON true "
            "ORDER BY m.match_id DESC NULLS LAST",
            *args,
        )
        walked = rows[0]
        if walked["match_id"] is None:
            rows = []
        found, more = self._continue(rows, want, missing)
        if more:
            return found
        self.walking = False
        if walked["walk_seen"] < WALK:
            self.hi = self.floor + 1  # the walk saw every entry left
        else:
            self.searched = walked["walk_top"] + 1 - walked["walk_bottom"]
            self.matched = rows[0]["matches"] if rows else 0
            self.hi = walked["walk_bottom"]
            self.floor = max(self.floor, walked["index_oldest"] - 1)
        return found

    async def _from_index(self, conn: Connection, missing: int, columns: str) -> list[Row]:
        """The newest matches of the current slice, through the index."""
        want = _batch(missing)
        if self.slice is None:
            # As wide as the matches so far say it takes to find `want` more (so its own
            # matches are about that many, whatever the word), at least as wide as all
            # searched so far (so the slices double at least), at most 64 times.
            scale = min(64.0, max(1.0, 1.5 * want / max(self.matched, 0.5)))
            self.slice = recency_slice(self.hi, int(self.searched * scale) + 1, self.floor)
        low, buckets = self.slice
        (hi, lowest, limit, first, *within), args = self._params(
            self.hi, low, want, missing, *([] if buckets is None else [buckets])
        )
        matches = (
            f"SELECT status_id FROM status_search WHERE document @@ {self.index_match}{self.pairs}"
            + "".join(f" AND wb_search_buckets(status_id) && {b}" for b in within)
            # `+ 0`: no b-tree walk along the key, nor a scan of the slice's key range
            + f" AND status_id + 0 < {hi} AND status_id + 0 >= {lowest} "
            f"ORDER BY status_id + 0 DESC LIMIT {limit}"
        )
        rows = await conn.fetch(self._findable_among(matches, first, columns), *args)
        found, more = self._continue(rows, want, missing)
        if not more:
            self.searched += self.hi - low
            self.matched += rows[0]["matches"] if rows else 0
            self.hi, self.slice = low, None
        return found


_BOOKKEEPING = frozenset(
    {"match_id", "matches", "walk_bottom", "walk_top", "walk_seen", "index_oldest"}
)


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
) -> list[Row]:
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
    return await conn.fetch(sql, *arg.values)


async def searchable_account(conn: Connection, account_id: int) -> Row | None:
    """An account if search may show it (see `_SEARCHABLE_ACCOUNT`)."""
    return await conn.fetchrow(
        f"SELECT a.* FROM accounts a WHERE a.id = $1 AND {_SEARCHABLE_ACCOUNT}", account_id
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
) -> list[Row]:
    """Tags whose name starts with `name` (lower-cased), shortest first, as Mastodon
    orders them; only the exact name when `exact_only`."""
    if exact_only:
        return await conn.fetch(
            "SELECT * FROM tags WHERE name = $1 LIMIT $2 OFFSET $3", name.lower(), limit, offset
        )
    return await conn.fetch(
        "SELECT * FROM tags WHERE name LIKE $1 ESCAPE '\\' ORDER BY length(name), name "
        "LIMIT $2 OFFSET $3",
        like_escape(name.lower()) + "%",
        limit,
        offset,
    )
