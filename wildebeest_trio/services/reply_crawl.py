"""Completing remote threads: when a person opens a remote status's thread, its replies
collection is crawled, as Mastodon 4.4's fetch-all-replies does.

`thread_opened` (from `GET /api/v1/statuses/:id/context`) queues a durable job for a public
or unlisted remote status whose replies were not crawled in the last fifteen minutes. The
job fetches the status's Note (signed, through `fetch_document`: private addresses refused,
size and time caps), walks its `replies` collection (the collection and its pages from the
Note's own server only, `first` inline or linked, then `next`), fetches each reply from its
origin and stores it through the one remote-note path (`remote_statuses.store_fetched_note`),
then crawls the replies of those replies, breadth first. Every crawl is bounded: replies
fetched, collection pages read and depth.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..federation.as2 import as_list, first, link
from ..federation.fetch import DocumentRefused, DocumentUnavailable, fetch_document, same_origin
from ..federation.notes import NoteRefused
from ..ids import now_ms
from ..jobs import JobKind, JobRegistry
from ..runtime import Runtime
from ..store import Connection
from ..store import statuses as status_rows
from .remote_statuses import store_fetched_note

log = logging.getLogger(__name__)

FETCH_REPLIES = JobKind("status.fetch_replies", max_attempts=3)
# Mastodon fetches a thread's replies again after fifteen minutes at the soonest.
REFETCH_MS = 15 * 60 * 1000
# Bounds of one crawl: replies fetched, collection pages read, levels of replies below the
# opened status.
MAX_REPLIES = 200
MAX_PAGES = 40
MAX_DEPTH = 5


@dataclass
class _Budget:
    """What one crawl may still fetch."""

    replies: int
    pages: int


async def thread_opened(rt: Runtime, status_id: int) -> None:
    """A person opened the thread of a status: when it is a public or unlisted remote
    status whose replies were not crawled lately, queue the crawl."""
    status = await rt.store.read(status_rows.status_by_id, status_id)
    if status is None or status["local"] or status["visibility"] not in ("public", "unlisted"):
        return
    fetched = status.get("replies_fetched_at")
    now = now_ms()
    if fetched is not None and now - fetched < REFETCH_MS:
        return

    async def unit(conn: Connection) -> None:
        if await status_rows.claim_replies_fetch(conn, status_id, now, now - REFETCH_MS):
            await FETCH_REPLIES.enqueue(
                conn,
                rt.ids,
                {"status_id": status_id},
                dedupe_key=f"{FETCH_REPLIES.name}:{status_id}",
            )

    await rt.store.write(unit)


async def _fetch(rt: Runtime, url: str) -> dict[str, Any] | None:
    try:
        return await fetch_document(rt, url)
    except (DocumentUnavailable, DocumentRefused) as exc:
        log.info("reply crawl: %s not fetched: %s", url, exc)
        return None


async def _collection_items(rt: Runtime, note: dict[str, Any], budget: _Budget) -> list[str]:
    """The ids of the items of a Note's replies collection, read page by page from the
    Note's own server, within the budget."""
    origin = str(note.get("id") or "")
    replies = first(note.get("replies"))
    if isinstance(replies, str):
        if not same_origin(replies, origin) or budget.pages <= 0:
            return []
        budget.pages -= 1
        replies = await _fetch(rt, replies)
    if not isinstance(replies, dict):
        return []
    found: list[str] = []
    page: dict[str, Any] = replies
    fetched: set[str] = set()
    inline = 0
    while True:
        for item in [*as_list(page.get("orderedItems")), *as_list(page.get("items"))]:
            uri = link(item)
            if uri is not None:
                found.append(uri)
        following = page.get("first") if page is replies else page.get("next")
        if isinstance(following, dict) and ("orderedItems" in following or "items" in following):
            # An inline page (the first, as Mastodon embeds it): read, not fetched.
            inline += 1
            if inline > MAX_PAGES:
                break
            page = following
            continue
        url = link(following)
        out_of_budget = budget.pages <= 0 or len(found) >= budget.replies
        if url is None or url in fetched or not same_origin(url, origin) or out_of_budget:
            return found
        fetched.add(url)
        budget.pages -= 1
        page = await _fetch(rt, url) or {}
    return found


async def _take(rt: Runtime, uri: str) -> dict[str, Any] | None:
    """Fetch a reply from its origin and store it; its document once it is here."""
    document = await _fetch(rt, uri)
    try:
        row = await store_fetched_note(rt, document) if document is not None else None
    except NoteRefused as exc:
        log.info("reply crawl: %s not taken: %s", uri, exc)
        return None
    return document if row is not None else None


async def crawl(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: fetch and store the replies below a remote status, breadth first."""
    status = await rt.store.read(status_rows.status_by_id, int(payload["status_id"]))
    if status is None or status["local"] or status["deleted_at"] is not None:
        return
    root = await _fetch(rt, status["uri"])
    if root is None:
        return
    budget = _Budget(MAX_REPLIES, MAX_PAGES)
    seen = {status["uri"]}
    waiting: deque[tuple[dict[str, Any], int]] = deque([(root, 0)])
    stored = 0
    while waiting and budget.replies > 0:
        note, depth = waiting.popleft()
        for uri in await _collection_items(rt, note, budget):
            if uri in seen or same_origin(uri, rt.config.base_url):
                continue  # ours are complete here already
            if budget.replies <= 0:
                break
            seen.add(uri)
            budget.replies -= 1
            document = await _take(rt, uri)
            if document is None:
                continue
            stored += 1
            if depth + 1 < MAX_DEPTH:
                waiting.append((document, depth + 1))
    log.info("reply crawl of %s: %d replies taken", status["uri"], stored)


def register(registry: JobRegistry) -> None:
    registry.register(FETCH_REPLIES, crawl)


__all__ = ["FETCH_REPLIES", "crawl", "register", "thread_opened"]
