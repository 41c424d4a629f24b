"""Whole public pages kept for visitors who are not signed in, as Mastodon caches its
pages for logged-out visitors, but never stale: a page is kept with the facts it was drawn
from and served again only while the same reads give the same facts.

Each page still does its reads (they are what says whether a post was added, edited or
deleted, in any process); what it saves is building the entities and rendering. The facts
(`validators`) are compared with `==`: rows by value (the profile's account, the site's
title), the entity cache's entries by identity (a moved version brings a new entry, see
cards.py), and the page's order of posts and cursors by value. A page is kept only when
every post on it comes from the entity cache, and only for a visitor without a session: a
signed-in view is never kept here, so it can never reach anyone else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from quart import Response, current_app, request

from ...services.types import StatusBundle
from ..browser import csrf_token, page_response

# Pages one process keeps (20 to 70 kB each): a bound on memory.
MAX_PAGES = 256

KEPT_PAGES = "wildebeest.kept_pages"


class KeptPages:
    """One app's kept pages (by path, or what else keys them), most recently used last,
    each with its facts. A page is kept encoded, in the pieces between its CSRF marks
    (one piece for a page without forms), so serving it is a join, not a search."""

    def __init__(self, limit: int) -> None:
        self.pages: OrderedDict[Hashable, tuple[tuple[Any, ...], list[bytes]]] = OrderedDict()
        self.limit = limit
        self.lock = threading.Lock()

    def get(self, key: Hashable, validators: tuple[Any, ...]) -> list[bytes] | None:
        """The page kept under `key` if it was drawn from the same facts."""
        with self.lock:
            found = self.pages.get(key)
            if found is None or found[0] != validators:
                return None
            self.pages.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, validators: tuple[Any, ...], pieces: list[bytes]) -> None:
        """Keep a page drawn from `validators` (the least recently used go past the limit)."""
        with self.lock:
            self.pages[key] = (validators, pieces)
            self.pages.move_to_end(key)
            while len(self.pages) > self.limit:
                self.pages.popitem(last=False)


def kept_pages(name: str, limit: int) -> KeptPages:
    """The kept pages of the app serving this request that `name` holds."""
    found: KeptPages | None = current_app.extensions.get(name)
    if found is None:  # the first page this app draws (pages run on one thread)
        found = current_app.extensions.setdefault(name, KeptPages(limit))
    return found


def bundle_facts(bundle: StatusBundle, parts: Callable[[StatusBundle, int], Any]) -> Any:
    """What a page of statuses shows of the bundle, as comparable facts; None when a post on
    it is not drawn from the entity cache (that page is not kept)."""
    facts: list[Any] = [tuple(bundle.order), tuple(sorted(bundle.cursors.items()))]
    for status_id in bundle.order:
        row = bundle.statuses[status_id]
        shown = parts(bundle, row["reblog_of_id"] or status_id)
        if shown is None:
            return None
        facts.append(shown)
        if row["reblog_of_id"] is not None:
            booster = bundle.account_entries.get(row["account_id"])
            if booster is None:
                return None
            facts.append(booster)
    return tuple(facts)


async def kept_page(
    validators: tuple[Any, ...] | None,
    draw: Callable[[], Awaitable[Response]],
    finish: Callable[[Response], Response],
) -> Response:
    """The page this request asks for, drawn by `draw` or kept from an earlier drawing for
    the same `validators` (None: never kept). Only for visitors who are not signed in;
    `finish` adds what every answer of the page carries (the kept one too)."""
    if validators is None or any(v is None for v in validators):
        return await draw()
    key = request.full_path
    kept = kept_pages(KEPT_PAGES, MAX_PAGES)
    pieces = kept.get(key, validators)
    if pieces is not None:
        csrf_token()  # the browser gets its CSRF cookie as with a drawn page
        return finish(page_response(pieces[0], 200))
    response = await draw()
    if response.status_code == 200:
        kept.put(key, validators, [await response.get_data()])
    return response
