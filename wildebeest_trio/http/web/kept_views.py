"""Whole signed-in pages (the web app's home) kept per account, never stale: a page is
kept with the facts it was drawn from and served again only while the same reads give
the same facts, as anonymous.py keeps the public pages for visitors without a session.

The page still does its reads (the session, the feed's page, the unread count: they are
what says a post was added, edited, deleted, favourited, or a notification came, in any
process); what it saves is building the entities and rendering. The facts are the
viewer's session row (less its last use, which no page shows), the unread count, the
site's title, the page's posts as anonymous.py compares them (order, cursors, the entity
cache's entries by identity) and the viewer's own state of those posts (favourites,
boosts, bookmarks, pins, muted conversations, follows, filters, votes, quotes), by value.

The viewer's CSRF token is drawn as a mark and filled per request (cards.py's mark), so a
kept page holds no browser's token; pages are kept by account and path (with its query),
so no account is ever shown another's page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from markupsafe import escape
from quart import Response, request

from ...services.types import Row, StatusBundle
from ..browser import csrf_token, page_response
from .anonymous import kept_pages
from .cards import CSRF_MARK

# Pages one process keeps (about 70 kB each, the home of 20 posts): a bound on memory.
MAX_PAGES = 128

KEPT_VIEWS = "wildebeest.kept_views"


def viewer_row_facts(viewer: Row) -> dict[str, Any]:
    """The session's row as a page shows it: all of it but its last use (moved once a
    minute, shown nowhere)."""
    return {k: v for k, v in viewer.items() if k != "last_seen_at"}


def viewer_facts(bundle: StatusBundle) -> tuple[Any, ...]:
    """The viewer's own state of a bundle's posts, as comparable facts (by value)."""
    return (
        bundle.viewer_id,
        bundle.favourited,
        bundle.reblogged,
        bundle.bookmarked,
        bundle.pinned,
        bundle.muted_conversations,
        bundle.following,
        bundle.followed_by,
        bundle.filtered,
        bundle.own_votes,
        bundle.quotes,
        bundle.quoted_hidden,
        bundle.quote_filters,
        bundle.shallow_quoted,
        bundle.polls,
    )


async def kept_view(
    owner: int,
    validators: tuple[Any, ...] | None,
    draw: Callable[[str], Awaitable[Response]],
) -> Response:
    """The signed-in page of `owner` this request asks for: drawn by `draw` (given the
    CSRF token to draw) or kept from an earlier drawing for the same `validators` (None:
    never kept)."""
    token = csrf_token()
    if validators is None or any(v is None for v in validators):
        return await draw(token)
    key = (owner, request.full_path)
    kept = kept_pages(KEPT_VIEWS, MAX_PAGES)
    filling = str(escape(token)).encode()  # as the templates write it
    pieces = kept.get(key, validators)
    if pieces is not None:
        return page_response(filling.join(pieces), 200)
    response = await draw(CSRF_MARK)
    pieces = (await response.get_data()).split(CSRF_MARK.encode())
    if response.status_code == 200:
        kept.put(key, validators, pieces)
    response.set_data(filling.join(pieces))
    return response
