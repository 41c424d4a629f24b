"""Imports of Mastodon's CSV files (its bulk imports), worked through as durable jobs.

An uploaded file is checked whole first (Mastodon's limits and messages: 20 MB, 20,000
rows, the columns of the chosen type, not empty); a bad one changes nothing. Each row is
then stored and an `import.run` job works through them a batch at a time: accounts this
server does not know are found through WebFinger (host-meta when it 404s) and fetched,
bookmarked posts are fetched by URL. A failure that may pass (a server away, a busy peer)
is tried again later, a few times; what fails for good is kept with its reason for the
person to read. One host is asked about a bounded number of rows a second.

Types and columns (Mastodon's): `following` (`Account address`, `Show boosts`, `Notify on
new posts`, `Languages`), `blocking` (`Account address`), `muting` (`Account address`,
`Hide notifications`), `domain_blocking` (`#domain`), `bookmarks` (`#uri`), `lists`
(`List name`, `Account address`). Files without a header row have the type's default
columns. `merge` adds to what the person has; `overwrite` also undoes, once every row is
through, what the file does not list (lists: only the members of the lists it names).
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import logging
import os
import re
import time
import zipfile
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import trio

from ..drafts import NewStatus, PollState, Version
from ..federation import lookup, notes
from ..federation.actors import STALE_MS
from ..federation.fetch import DocumentRefused, DocumentUnavailable, same_origin
from ..federation.notes import PUBLIC, NoteRefused
from ..federation.sanitize import sanitize_html
from ..ids import now_ms
from ..jobs import JobRegistry
from ..jobs.kinds import JobKind
from ..private_files import make_private_dir, write_atomically
from ..runtime import Runtime
from ..store import Connection
from ..store import accounts as account_rows
from ..store import exports as export_rows
from ..store import imports as import_rows
from ..store.rows import ImportRow, ImportRowRow
from . import account_domain_blocks, exports, interactions, lists, media, resolve, statuses
from . import follows as follow_service
from .refusals import StatusNotFound

log = logging.getLogger(__name__)

TYPES = ("following", "blocking", "muting", "domain_blocking", "bookmarks", "lists")
MODES = ("merge", "overwrite")
# Mastodon's Form::Import limits.
MAX_FILE_BYTES = 20 * 1024 * 1024
FILE_TOO_LARGE = "File is too large"
MAX_ROWS = 20_000
DEFAULT_HEADERS = {
    "following": ["Account address"],
    "blocking": ["Account address"],
    "muting": ["Account address"],
    "domain_blocking": ["#domain"],
    "bookmarks": ["#uri"],
    "lists": ["List name", "Account address"],
}
KNOWN_FIRST_HEADERS = frozenset({"Account address", "#domain", "#uri", "List name"})
# Ruby's ActiveModel boolean cast: these are false, any other non-empty text is true.
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})
_ACCT = re.compile(r"[^\s@/]+(@[^\s@/]+)?")

IMPORT_RUN = JobKind("import.run", max_attempts=10)
#: Rows claimed by one run of the job.
BATCH = 100
#: Rows worked on at once in one run.
CONCURRENCY = 8
#: Rows a second that make requests to one host (each a WebFinger and an actor fetch).
HOST_RATE = 4.0
#: Seconds before each retry of a row that failed in a way that may pass; then it fails.
RETRY_DELAYS: tuple[float, ...] = (30.0, 300.0, 1800.0)
#: How long a run holds the rows it claimed (longer than a batch at the host rate).
CLAIM_MS = 15 * 60 * 1000
#: Imports listed on the settings page, and failed rows listed per import.
SHOWN_IMPORTS = 20
SHOWN_FAILURES = 100


class ImportRefused(ValueError):
    """A file that cannot be imported, with Mastodon's message for the person."""


@dataclass(frozen=True)
class Failure:
    """A row that failed: what it named and why."""

    what: str
    reason: str


@dataclass(frozen=True)
class Progress:
    """An import as its owner sees it."""

    id: int
    type: str
    mode: str
    filename: str
    state: str
    total: int
    done: int
    failed: int
    created_at: int
    failures: list[Failure]

    @property
    def left(self) -> int:
        return self.total - self.done - self.failed


class _Failed(Exception):
    """A row that did not go through: `transient` ones are tried again."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


# Reading the file ---------------------------------------------------------------------------


def _boolean(text: str | None) -> bool | None:
    value = (text or "").strip().lower()
    if not value:
        return None
    return value not in _FALSE


def _row(kind: str, cells: dict[str, str]) -> dict[str, Any]:
    """The row's columns as the job reads them."""
    acct = (cells.get("Account address") or "").strip().removeprefix("@")
    if kind == "following":
        languages = [x.strip() for x in (cells.get("Languages") or "").split(",") if x.strip()]
        return {
            "acct": acct,
            "show_reblogs": _boolean(cells.get("Show boosts")),
            "notify": _boolean(cells.get("Notify on new posts")),
            "languages": languages[:10] or None,
        }
    if kind == "muting":
        return {"acct": acct, "hide_notifications": _boolean(cells.get("Hide notifications"))}
    if kind == "domain_blocking":
        return {"domain": (cells.get("#domain") or "").strip().lower()}
    if kind == "bookmarks":
        return {"uri": (cells.get("#uri") or "").strip()}
    if kind == "lists":
        return {"list": (cells.get("List name") or "").strip(), "acct": acct}
    return {"acct": acct}


def _what(data: dict[str, Any]) -> str:
    """What a row names, for the person."""
    for key in ("acct", "domain", "uri", "url"):
        if data.get(key):
            named = str(data[key])
            return f"{data['list']}: {named}" if data.get("list") else named
    return "(empty row)"


def _well_formed(kind: str, data: dict[str, Any]) -> bool:
    if kind == "archive":
        return bool(data.get("url"))
    if kind == "domain_blocking":
        domain = data["domain"]
        return bool(domain) and " " not in domain and "/" not in domain
    if kind == "bookmarks":
        return str(data["uri"]).startswith(("https://", "http://"))
    if kind == "lists" and not data["list"]:
        return False
    return _ACCT.fullmatch(data["acct"]) is not None


def parse(kind: str, data: bytes) -> list[dict[str, Any]]:
    """The rows of an uploaded file; ImportRefused, with Mastodon's message, for a file
    that cannot be imported as `kind`."""
    if kind not in TYPES:
        raise ImportRefused("Choose what the file lists")
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(FILE_TOO_LARGE)
    if not data.strip():
        raise ImportRefused("Empty CSV file")
    try:
        if b"\x00" in data:
            raise ValueError("the file is not text")
        text = data.decode("utf-8-sig")
        table = [
            cells
            for cells in csv.reader(io.StringIO(text, newline=""), strict=True)
            if any(cell.strip() for cell in cells)
        ]
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        detail = "the file is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc
        raise ImportRefused(f"Invalid CSV file. Error: {detail}") from None
    if not table:
        raise ImportRefused("Empty CSV file")
    first = [cell.strip() for cell in table[0]]
    if first[0] in KNOWN_FIRST_HEADERS:
        headers, body = first, table[1:]
    else:
        headers, body = DEFAULT_HEADERS[kind], table
    if not all(header in headers for header in DEFAULT_HEADERS[kind]):
        raise ImportRefused("Incompatible with the selected import type")
    if not body:
        raise ImportRefused("Empty CSV file")
    if len(body) > MAX_ROWS:
        raise ImportRefused(f"The file contains more than {MAX_ROWS} rows")
    rows = [_row(kind, dict(zip(headers, cells, strict=False))) for cells in body]
    # A file of another type (a list of domains chosen as follows...) is refused whole;
    # a stray bad row further down only fails itself.
    if not _well_formed(kind, rows[0]):
        raise ImportRefused("Incompatible with the selected import type")
    return rows


# Starting and showing ------------------------------------------------------------------------


async def start(
    rt: Runtime, account_id: int, kind: str, mode: str, filename: str, data: bytes
) -> int:
    """Check a file and queue its import; the import's id. ImportRefused changes nothing."""
    if mode not in MODES:
        raise ImportRefused("Choose merge or overwrite")
    rows = parse(kind, data)
    import_id = rt.ids.next_id()

    async def unit(conn: Connection) -> None:
        await import_rows.insert_import(
            conn,
            import_id,
            account_id,
            kind,
            mode,
            filename[:255],
            [json.dumps(row) for row in rows],
            now_ms(),
        )
        await IMPORT_RUN.enqueue(conn, rt.ids, {"import_id": import_id})

    await rt.store.write(unit)
    return import_id


def _failures(rows: list[ImportRowRow]) -> list[Failure]:
    return [Failure(_what(json.loads(r["data"])), r["error"] or "Failed") for r in rows]


def _progress(row: ImportRow, failed: list[ImportRowRow]) -> Progress:
    return Progress(
        id=row["id"],
        type=row["type"],
        mode=row["mode"],
        filename=row["filename"],
        state=row["state"],
        total=row["total_rows"],
        done=row["done_rows"],
        failed=row["failed_rows"],
        created_at=row["created_at"],
        failures=_failures(failed),
    )


async def imports_of(rt: Runtime, account_id: int) -> list[Progress]:
    """The account's recent imports, newest first, each with its failed rows."""

    async def unit(conn: Connection) -> list[Progress]:
        found = []
        for row in await import_rows.imports_of(conn, account_id, SHOWN_IMPORTS):
            failed = await import_rows.rows_in_state(conn, row["id"], "failed", SHOWN_FAILURES)
            found.append(_progress(row, failed))
        return found

    return await rt.store.read(unit)


async def progress(rt: Runtime, account_id: int, import_id: int) -> Progress | None:
    """One of the account's imports; None when it has no such import."""

    async def unit(conn: Connection) -> Progress | None:
        row = await import_rows.import_by_id(conn, import_id)
        if row is None or row["account_id"] != account_id:
            return None
        failed = await import_rows.rows_in_state(conn, import_id, "failed", SHOWN_FAILURES)
        return _progress(row, failed)

    return await rt.store.read(unit)


# Pacing ------------------------------------------------------------------------------------------


class HostPacer:
    """At most `rate` starts a second per host, in this process: each caller is given the
    next free slot of its host and sleeps until it."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        now = time.monotonic()
        at = max(now, self._next.get(host, 0.0))
        self._next[host] = at + self.interval
        if len(self._next) > 10_000:  # forget hosts whose slots have passed
            self._next = {h: t for h, t in self._next.items() if t > now}
        if at > now:
            await trio.sleep(at - now)


PACER = HostPacer(HOST_RATE)
Pace = Callable[[str], Awaitable[None]]


# Working through the rows ---------------------------------------------------------------------


def _acct_parts(rt: Runtime, acct: str) -> tuple[str, str | None]:
    """(username, domain), domain None for this server's accounts."""
    username, _, domain = acct.partition("@")
    domain = domain.lower()
    return username, None if not domain or domain == rt.config.domain.lower() else domain


def _acct_key(rt: Runtime, username: str, domain: str | None) -> str:
    if domain is None or domain.lower() == rt.config.domain.lower():
        return username.lower()
    return f"{username.lower()}@{domain.lower()}"


async def _account(rt: Runtime, acct: str, pace: Pace) -> int:
    """The id of the account an address names, found through WebFinger when unknown."""
    if _ACCT.fullmatch(acct) is None:
        raise _Failed("Not an account address")
    username, domain = _acct_parts(rt, acct)
    if domain is not None:
        if await lookup.domain_suspended(rt, domain):
            raise _Failed("Refused (the server is suspended here)")
        known = await rt.store.read(account_rows.account_by_acct, username, domain)
        if known is None or (known["last_fetched_at"] or 0) <= now_ms() - STALE_MS:
            await pace(domain)
    try:
        row = await lookup.resolve_account(rt, username, domain)
    except lookup.NotFound:
        raise _Failed("Unknown account") from None
    except lookup.LookupFailed as exc:
        raise _Failed(f"Server unreachable ({exc})", transient=True) from None
    if row is None:
        raise _Failed("Unknown account")
    if row["suspended_at"] is not None:
        raise _Failed("Refused (the account is suspended)")
    return int(row["id"])


async def _status(rt: Runtime, uri: str, pace: Pace) -> int:
    """The id of the status a URL names, fetched when unknown."""
    if not uri.startswith(("https://", "http://")):
        raise _Failed("Not a post's address")
    if same_origin(uri, rt.config.base_url):
        found = await lookup.local_resource(rt, uri)
    else:
        found = await lookup.known(rt, uri)
        if found is None:
            host = urlsplit(uri).netloc.lower()
            if await lookup.domain_suspended(rt, host):
                raise _Failed("Refused (the server is suspended here)")
            await pace(host)
            try:
                found = await resolve.fetch_url(rt, uri)
            except lookup.NotFound:
                raise _Failed("Post not found") from None
            except DocumentUnavailable as exc:
                raise _Failed(f"Server unreachable ({exc})", transient=True) from None
            except (DocumentRefused, NoteRefused) as exc:
                raise _Failed(f"Refused ({exc})") from None
            except lookup.LookupFailed as exc:
                raise _Failed(f"Server unreachable ({exc})", transient=True) from None
    if not isinstance(found, lookup.FoundStatus):
        raise _Failed("Post not found")
    return found.status_id


async def _apply(
    rt: Runtime, imp: ImportRow, data: dict[str, Any], list_ids: dict[str, int], pace: Pace
) -> None:
    """Do what one row says."""
    account_id, kind = imp["account_id"], imp["type"]
    if kind == "archive":
        await _import_post(rt, imp, data, pace)
        return
    if kind == "domain_blocking":
        try:
            await account_domain_blocks.block(rt, account_id, data["domain"])
        except account_domain_blocks.InvalidDomainBlock as exc:
            raise _Failed(f"Not a domain ({exc})") from None
        return
    if kind == "bookmarks":
        status_id = await _status(rt, data["uri"], pace)
        try:
            await interactions.set_bookmark(rt, account_id, status_id, True)
        except StatusNotFound:
            raise _Failed("Post not found") from None
        return
    target = await _account(rt, data["acct"], pace)
    if target == account_id:
        return  # Mastodon skips oneself
    try:
        if kind == "following":
            options = follow_service.FollowOptions(
                reblogs=data["show_reblogs"], notify=data["notify"], languages=data["languages"]
            )
            await follow_service.follow(rt, account_id, target, options)
        elif kind == "blocking":
            await follow_service.block(rt, account_id, target)
        elif kind == "muting":
            hide = data["hide_notifications"]
            await follow_service.mute(rt, account_id, target, True if hide is None else hide, 0)
        else:
            relation = (await follow_service.relationships(rt, account_id, [target]))[0]
            if not relation.following and not relation.requested:
                await follow_service.follow(rt, account_id, target, follow_service.FollowOptions())
            await lists.add(rt, account_id, list_ids[data["list"]], [target])
    except follow_service.CannotFollow as exc:
        raise _Failed(f"Refused ({exc})") from None
    except (follow_service.AccountNotFound, lists.ListNotFound):
        raise _Failed("Unknown account") from None
    except lists.InvalidList as exc:
        raise _Failed(f"Refused ({exc})") from None


async def _lists_named(rt: Runtime, account_id: int, titles: set[str]) -> dict[str, int]:
    """The ids of the account's lists with these titles, made when missing (before the
    rows are worked on at once, so that a list is made once)."""
    found = {row["title"]: int(row["id"]) for row in await lists.all_lists(rt, account_id)}
    for title in sorted(titles - set(found)):
        try:
            made = await lists.create(rt, account_id, title[:255], "list", False)
        except lists.InvalidList:
            continue
        found[title] = int(made["id"])
    return found


def _host(rt: Runtime, data: dict[str, Any]) -> str:
    """The host a row's look-ups go to ('' for none)."""
    if data.get("acct"):
        return _acct_parts(rt, str(data["acct"]))[1] or ""
    if data.get("uri"):
        return urlsplit(str(data["uri"])).netloc.lower()
    return ""


Outcome = tuple[str, str]  # ("done" | "failed" | "retry", reason)


async def _work(rt: Runtime, imp: ImportRow, rows: list[ImportRowRow]) -> dict[int, Outcome]:
    """Work through claimed rows: one host's rows in order at its pace, hosts at once."""
    parsed = [(row, json.loads(row["data"])) for row in rows]
    list_ids: dict[str, int] = {}
    if imp["type"] == "lists":
        titles = {str(data["list"]) for _, data in parsed if data.get("list")}
        list_ids = await _lists_named(rt, imp["account_id"], titles)
    by_host: dict[str, list[tuple[ImportRowRow, dict[str, Any]]]] = {}
    for row, data in parsed:
        by_host.setdefault(_host(rt, data), []).append((row, data))
    limiter = trio.CapacityLimiter(CONCURRENCY)
    outcomes: dict[int, Outcome] = {}

    async def one_host(items: list[tuple[ImportRowRow, dict[str, Any]]]) -> None:
        for row, data in items:
            async with limiter:
                outcomes[row["position"]] = await _one(rt, imp, data, list_ids)

    async with trio.open_nursery() as nursery:
        for items in by_host.values():
            nursery.start_soon(one_host, items)
    return outcomes


async def _one(
    rt: Runtime, imp: ImportRow, data: dict[str, Any], list_ids: dict[str, int]
) -> Outcome:
    try:
        if not _well_formed(imp["type"], data):
            raise _Failed("Not what this type of file lists")
        if imp["type"] == "lists" and data["list"] not in list_ids:
            raise _Failed("Refused (not a list name)")
        await _apply(rt, imp, data, list_ids, PACER.wait)
    except _Failed as exc:
        return ("retry" if exc.transient else "failed", exc.reason)
    except Exception as exc:  # one row's surprise must not stop the others
        log.exception("import %d: row failed", imp["id"])
        return ("retry", f"Unexpected error ({type(exc).__name__})")
    return ("done", "")


async def run(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: work through a batch of an import's due rows, record what became of
    them, and queue the next run (when the next row is due) or finish the import."""
    import_id = int(payload["import_id"])
    now = now_ms()

    async def claim(conn: Connection) -> tuple[ImportRow | None, list[ImportRowRow]]:
        imp = await import_rows.import_by_id(conn, import_id)
        if imp is None or imp["state"] != "running":
            return None, []
        return imp, await import_rows.claim_rows(conn, import_id, now, now + CLAIM_MS, BATCH)

    imp, rows = await rt.store.write(claim)
    if imp is None:
        return
    outcomes = await _work(rt, imp, rows) if rows else {}
    done: list[int] = []
    failed: list[tuple[int, str]] = []
    retries: list[tuple[int, str, int]] = []
    later = now_ms()
    for row in rows:
        state, reason = outcomes.get(row["position"], ("retry", "Not tried"))
        if state == "done":
            done.append(row["position"])
        elif state == "retry" and row["attempts"] < len(RETRY_DELAYS):
            retries.append(
                (row["position"], reason, later + int(RETRY_DELAYS[row["attempts"]] * 1000))
            )
        else:
            failed.append((row["position"], reason))

    async def record(conn: Connection) -> int | None:
        await import_rows.record_rows(conn, import_id, done=done, failed=failed, retries=retries)
        waiting = await import_rows.next_waiting_at(conn, import_id)
        if waiting is not None:
            delay = max(0, waiting - now_ms()) / 1000
            await IMPORT_RUN.enqueue(conn, rt.ids, {"import_id": import_id}, delay=delay)
        return waiting

    if await rt.store.write(record) is not None:
        return
    if imp["mode"] == "overwrite" and imp["type"] != "archive":
        await _overwrite(rt, imp)
    if imp["type"] == "archive":
        await trio.to_thread.run_sync(_unlink, _archive_path(rt, import_id))
    await rt.store.write(import_rows.finish_import, import_id, now_ms())


# Overwriting ----------------------------------------------------------------------------------


async def _all(
    rt: Runtime, read: Callable[[Connection, int, int], Coroutine[Any, Any, list[Any]]]
) -> list[Any]:
    """Every row of a paged export reader."""
    return [row async for rows in exports.pages(rt, read) for row in rows]


async def _overwrite(rt: Runtime, imp: ImportRow) -> None:
    """Undo what the file does not list (Mastodon's overwrite mode)."""
    account_id, kind = imp["account_id"], imp["type"]
    rows = [json.loads(d) for d in await rt.store.read(import_rows.row_data, imp["id"])]

    def key_of_acct(acct: str) -> str:
        return _acct_key(rt, *_acct_parts(rt, acct))

    wanted = {key_of_acct(str(r.get("acct", ""))) for r in rows if r.get("acct")}

    def unwanted(entries: list[Any]) -> list[int]:
        return [
            int(e["account_id"])
            for e in entries
            if _acct_key(rt, e["username"], e["domain"]) not in wanted
        ]

    async def page_of(read: Any, *args: Any) -> list[Any]:
        async def unit(conn: Connection, after: int, limit: int) -> list[Any]:
            return list(await read(conn, account_id, *args, after, limit))

        return await _all(rt, unit)

    if kind == "following":
        follows = await page_of(export_rows.follows)
        follows += await page_of(export_rows.follow_requests)
        for target in unwanted(follows):
            await follow_service.unfollow(rt, account_id, target)
    elif kind == "blocking":
        for target in unwanted(await page_of(export_rows.blocks)):
            await follow_service.unblock(rt, account_id, target)
    elif kind == "muting":
        for target in unwanted(await page_of(export_rows.mutes, now_ms())):
            await follow_service.unmute(rt, account_id, target)
    elif kind == "domain_blocking":
        domains = {str(r["domain"]) for r in rows}
        for entry in await page_of(export_rows.domain_blocks):
            if entry["domain"] not in domains:
                await account_domain_blocks.unblock(rt, account_id, entry["domain"])
    elif kind == "bookmarks":
        uris = {str(r["uri"]) for r in rows}
        for entry in await page_of(export_rows.bookmarks):
            if entry["uri"] not in uris and entry["url"] not in uris:
                try:
                    await interactions.set_bookmark(rt, account_id, entry["status_id"], False)
                except StatusNotFound:
                    continue
    else:
        members: dict[str, set[str]] = {}
        for r in rows:
            members.setdefault(str(r["list"]), set()).add(key_of_acct(str(r["acct"])))
        for entry in await page_of(export_rows.list_members):
            keep = members.get(entry["title"])
            if keep is not None and _acct_key(rt, entry["username"], entry["domain"]) not in keep:
                await lists.remove(rt, account_id, entry["list_id"], [entry["account_id"]])


# Posts from a Mastodon archive --------------------------------------------------------------------

#: The most posts, and the largest outbox.json, read from one archive.
MAX_ARCHIVE_POSTS = 50_000
MAX_OUTBOX_BYTES = 256 * 1024 * 1024
MAX_MEDIA_BYTES = 64 * 1024 * 1024
NOTE_TYPES = frozenset({"Note", "Question", "Article"})


def _archive_path(rt: Runtime, import_id: int) -> Path:
    return Path(rt.config.data_dir) / "imports" / f"{import_id}.zip"


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _first_language(note: dict[str, Any]) -> str | None:
    content_map = note.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        language = next(iter(content_map))
        return language[:16] if isinstance(language, str) else None
    return None


def _post_row(item: Any) -> dict[str, Any] | None:
    """A public or unlisted post of an archive's outbox as an import row; None for the
    rest (boosts, private and direct posts)."""
    if not isinstance(item, dict) or item.get("type") != "Create":
        return None
    note = item.get("object")
    if not isinstance(note, dict) or note.get("type") not in NOTE_TYPES:
        return None
    audience = {
        key: {x for x in (note.get(key) or []) if isinstance(x, str)}
        if isinstance(note.get(key), list)
        else {note[key]}
        if isinstance(note.get(key), str)
        else set()
        for key in ("to", "cc")
    }
    if PUBLIC & audience["to"]:
        visibility = "public"
    elif PUBLIC & audience["cc"]:
        visibility = "unlisted"
    else:
        return None
    url = note.get("url") if isinstance(note.get("url"), str) else note.get("id")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    media = []
    for attachment in note.get("attachment") or []:
        if isinstance(attachment, dict) and isinstance(attachment.get("url"), str):
            name = attachment.get("name")
            media.append(
                {"path": attachment["url"], "description": name if isinstance(name, str) else None}
            )
    reply = note.get("inReplyTo")
    tagged = notes.note_tags(note)
    poll = notes.poll_of(note)
    return {
        "url": url,
        "id": note.get("id") if isinstance(note.get("id"), str) else url,
        "content": str(note.get("content") or ""),
        "summary": str(note.get("summary") or ""),
        "sensitive": bool(note.get("sensitive")),
        "published": str(note.get("published") or ""),
        "language": _first_language(note),
        "in_reply_to": reply if isinstance(reply, str) else None,
        "visibility": visibility,
        "media": media[:4],
        "tags": tagged.tags,
        "mentions": [{"href": href, "name": name} for href, name in tagged.mentions],
        "poll": None
        if poll is None
        else {
            "options": poll.options,
            "tallies": poll.tallies,
            "multiple": poll.multiple,
            "expires_at": poll.expires_at,
            "voters_count": poll.voters_count,
        },
    }


def read_archive(data: bytes) -> list[dict[str, Any]]:
    """The public and unlisted posts of a Mastodon archive, oldest first."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        info = archive.getinfo("outbox.json")
    except (zipfile.BadZipFile, KeyError):
        raise ImportRefused("This is not a Mastodon archive (a zip with outbox.json)") from None
    if info.file_size > MAX_OUTBOX_BYTES:
        raise ImportRefused("The archive's outbox.json is too large")
    try:
        outbox = json.loads(archive.read(info))
    except (ValueError, zipfile.BadZipFile, OSError):
        raise ImportRefused("The archive's outbox.json cannot be read") from None
    items = outbox.get("orderedItems") if isinstance(outbox, dict) else None
    if not isinstance(items, list):
        raise ImportRefused("The archive's outbox.json lists no posts")
    rows = [row for row in map(_post_row, items) if row is not None]
    if not rows:
        raise ImportRefused("The archive has no public or unlisted posts")
    if len(rows) > MAX_ARCHIVE_POSTS:
        raise ImportRefused(f"The archive has more than {MAX_ARCHIVE_POSTS} posts")
    rows.sort(key=lambda row: row["published"])
    # A reply to a post of the archive names its parent by its id; the imported parent is
    # found by its URL.
    urls = {row["id"]: row["url"] for row in rows}
    for row in rows:
        row["parent_url"] = urls.get(row["in_reply_to"] or "")
    return rows


async def start_archive(rt: Runtime, account_id: int, filename: str, data: bytes) -> int:
    """Queue the import of a Mastodon archive's public and unlisted posts as the account's
    history; the import's id. ImportRefused changes nothing."""
    if not data:
        raise ImportRefused("Choose a file")
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(FILE_TOO_LARGE)
    rows = await trio.to_thread.run_sync(read_archive, data)
    import_id = rt.ids.next_id()
    path = _archive_path(rt, import_id)
    await trio.to_thread.run_sync(make_private_dir, path.parent)
    await trio.to_thread.run_sync(write_atomically, path, data)

    async def unit(conn: Connection) -> None:
        await import_rows.insert_import(
            conn,
            import_id,
            account_id,
            "archive",
            "merge",
            filename[:255],
            [json.dumps(row) for row in rows],
            now_ms(),
        )
        await IMPORT_RUN.enqueue(conn, rt.ids, {"import_id": import_id})

    try:
        await rt.store.write(unit)
    except BaseException:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(_unlink, path)
        raise
    return import_id


def _read_member(path: Path, name: str) -> bytes | None:
    """One file of a stored archive (None when it is missing or too large)."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(name.lstrip("/"))
        except KeyError:
            return None
        if info.file_size > MAX_MEDIA_BYTES:
            return None
        return archive.read(info)


def _published_ms(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


async def _mentioned(rt: Runtime, mention: dict[str, Any], pace: Pace) -> int | None:
    """The account an archived post mentions: known here by its actor (or profile) URL, or
    found by its address through WebFinger; None when neither (the post keeps the link)."""
    href = str(mention.get("href") or "")
    if href.startswith(("https://", "http://")):
        if same_origin(href, rt.config.base_url):
            found = await lookup.local_resource(rt, href)
        else:
            found = await lookup.known(rt, href)
        if isinstance(found, lookup.FoundAccount):
            return found.account_id
    acct = str(mention.get("name") or "").strip().removeprefix("@")
    if "@" not in acct and href:
        # Mastodon names an account of the post's own server by its username alone.
        acct = f"{acct}@{urlsplit(href).netloc}"
    try:
        return await _account(rt, acct, pace)
    except _Failed:
        return None


def _closed_poll(poll: dict[str, Any] | None, now: int) -> PollState | None:
    """An archived poll as it was when the archive was made, closed here (its voters are
    on the other server): its options, counts and end, or now for one still open."""
    if not poll or not poll.get("options"):
        return None
    expires_at = poll.get("expires_at")
    return PollState(
        options=[str(o) for o in poll["options"]],
        multiple=bool(poll.get("multiple")),
        expires_at=min(expires_at, now) if isinstance(expires_at, int) else now,
        tallies=poll.get("tallies"),
        voters_count=poll.get("voters_count"),
    )


async def _import_post(rt: Runtime, imp: ImportRow, data: dict[str, Any], pace: Pace) -> None:
    """Make one archived post part of the account's history (once: a post already
    imported is found by its original URL), with its poll, hashtags and the mentions of
    accounts known or found here; no one is told of it."""
    account_id = imp["account_id"]
    if await rt.store.read(import_rows.status_by_url, account_id, data["url"]) is not None:
        return
    parent = None
    content = sanitize_html(data["content"])
    reply_to = data["in_reply_to"]
    if reply_to:
        if data.get("parent_url"):
            parent = await rt.store.read(import_rows.status_by_url, account_id, data["parent_url"])
        if parent is None:
            # A reply to a post not imported here: a plain post that links to it.
            link = html.escape(reply_to, quote=True)
            content += f'<p>In reply to <a href="{link}">{link}</a></p>'
    uploads = []
    for item in data["media"]:
        blob = await trio.to_thread.run_sync(
            _read_member, _archive_path(rt, imp["id"]), item["path"]
        )
        if blob is None:
            raise _Failed(f"Media missing from the archive ({item['path']})")
        try:
            row = await media.upload(
                rt, account_id, blob, synchronous=True, description=item["description"]
            )
        except media.MediaError as exc:
            raise _Failed(f"Media could not be read ({exc})") from None
        uploads.append(int(row["id"]))
    mentions = []
    for mention in data.get("mentions") or []:
        found = await _mentioned(rt, mention, pace)
        if found is not None and found != account_id:
            mentions.append(found)
    version = Version(
        content=content,
        spoiler_text=data["summary"][:1000],
        sensitive=data["sensitive"],
        language=data["language"],
        mentions=list(dict.fromkeys(mentions)),
        tags=[str(tag) for tag in data.get("tags") or []],
        at=_published_ms(data["published"]),
    )
    new = NewStatus(
        version=version,
        visibility=data["visibility"],
        parent=cast(dict[str, Any], parent),
        url=data["url"],
        uploads=uploads,
        poll=_closed_poll(data.get("poll"), now_ms()),
        history=True,
    )

    async def unit(conn: Connection) -> None:
        author = await account_rows.account_by_id(conn, account_id)
        if author is None:
            raise _Failed("The account is gone")
        await statuses.create(conn, rt, cast(dict[str, Any], author), new)

    await rt.store.write(unit)


def register(registry: JobRegistry) -> None:
    registry.register(IMPORT_RUN, run)


__all__ = [
    "FILE_TOO_LARGE",
    "IMPORT_RUN",
    "MAX_FILE_BYTES",
    "MODES",
    "TYPES",
    "Failure",
    "HostPacer",
    "ImportRefused",
    "Progress",
    "imports_of",
    "parse",
    "progress",
    "read_archive",
    "register",
    "start",
    "start_archive",
]
