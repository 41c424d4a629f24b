"""Posts as the pages show them (`_card.html`), rendered once per post and kept.

A page of 20 posts spent most of its time in Jinja drawing the same posts again for every
visitor. What a card shows comes from the entity cache's kept parts (`store/entities.py`):
the post's entry and its author's (and a preview card's author's), which are new objects
whenever the database's versions move. So a card is kept with the entries it was drawn
from and used again only while the page's bundle holds those very objects; any edit,
count, card, account or emoji change brings new entries, and the card is drawn again.

What the viewer changes is part of the card's key (signed in or not, whether the post is
theirs, their favourite, boost, bookmark, pin and mute, whether they may quote it), apart
from the CSRF token and the page to return to, which are marks filled in per request (the
marks are random per process, so no post's text can carry them). A card drawn from rows
outside the entity cache (a write unit's, the notifications' API entities) is drawn each
time and not kept.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Template
from markupsafe import Markup, escape
from quart import current_app

from ...media.attachments import placeholder_url

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
# Posts whose cards one process keeps (a card is about 1 to 3.5 kB), and the variants of
# one post kept (viewers who boosted it or not, anonymous, its boosts on timelines).
MAX_POSTS = 4_000
MAX_VARIANTS = 16
CSRF_MARK = f"csrf{secrets.token_hex(16)}"
BACK_MARK = f"back{secrets.token_hex(16)}"


def placeholder(hash_: Any) -> str | None:
    """An attachment's blurhash as a tiny image the page shows while the real one loads."""
    return placeholder_url(hash_) if isinstance(hash_, str) else None


def focus_classes(meta: Any) -> str:
    """Classes placing a cropped image on its focal point (site.css maps each to a share of
    the width or height, in twentieths: a style attribute is refused by the page's CSP)."""
    focus = meta.get("focus") if isinstance(meta, dict) else None
    if not isinstance(focus, dict):
        return ""
    try:
        x = min(max(float(focus["x"]), -1.0), 1.0)
        y = min(max(float(focus["y"]), -1.0), 1.0)
    except (KeyError, TypeError, ValueError):
        return ""
    # Mastodon's focus: x -1 is the left edge, y 1 the top one.
    return f"fx-{round((x + 1) * 10)} fy-{round((1 - y) * 10)}"


def _environment() -> Environment:
    # Synchronous (Quart's is asynchronous: every call in it is awaited), autoescaping as
    # Quart's does for .html.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False, cache_size=16
    )
    env.filters["placeholder"] = placeholder
    env.filters["focus_classes"] = focus_classes
    return env


@functools.cache
def _card_template() -> Template:
    """`_card.html`, compiled once per process."""
    return _environment().get_template("_card.html")


@dataclass
class _Kept:
    """One post's cards and the kept entries they were drawn from."""

    parts: tuple[object, ...]
    variants: dict[tuple[Any, ...], str] = field(default_factory=dict)


class KeptCards:
    """One app's kept cards, most recently used last, and its blank compose form."""

    def __init__(self) -> None:
        self.posts: OrderedDict[str, _Kept] = OrderedDict()
        self.blank_compose: str | None = None
        # Pages render on the event loop's thread; the lock only guards a server that
        # renders from worker threads too.
        self.lock = threading.Lock()


KEPT_CARDS = "wildebeest.kept_cards"


def _kept_cards() -> KeptCards:
    """The kept cards of the app serving this request."""
    found: KeptCards | None = current_app.extensions.get(KEPT_CARDS)
    if found is None:  # the first page this app draws (pages run on one thread)
        found = current_app.extensions.setdefault(KEPT_CARDS, KeptCards())
    return found


def _viewer_key(status: dict[str, Any], viewer: Any) -> tuple[Any, ...]:
    """What of the viewer the card shows (nothing for a visitor who is not signed in)."""
    if not viewer:
        return (None,)
    approval = status.get("quote_approval") or {}
    return (
        status["account"]["id"] == str(viewer["account_id"]),
        status.get("reblogged"),
        status.get("favourited"),
        status.get("bookmarked"),
        status.get("pinned"),
        status.get("muted"),
        approval.get("current_user"),
    )


def _draw(item: Any, main: bool, viewer: Any) -> str:
    html = _card_template().render(
        item=item, main=main, viewer=viewer, csrf_token=CSRF_MARK, back_path=BACK_MARK
    )
    return "\n" + html.strip()


def _kept_card(item: Any, main: bool, viewer: Any) -> str:
    """The card of a `site.Shown` post for this viewer, with the marks still in it: kept
    while its entries are current."""
    parts: tuple[object, ...] | None = getattr(item, "parts", None)
    if parts is None:
        return _draw(item, main, viewer)
    key = (
        item.key,
        item.path,
        main,
        *getattr(item, "variant", ()),
        *_viewer_key(item.status, viewer),
    )
    post = item.status["id"]
    cards = _kept_cards()
    with cards.lock:
        kept = cards.posts.get(post)
        if (
            kept is None
            or len(kept.parts) != len(parts)
            or any(a is not b for a, b in zip(kept.parts, parts, strict=True))
        ):
            kept = cards.posts[post] = _Kept(parts)
        cards.posts.move_to_end(post)
        while len(cards.posts) > MAX_POSTS:
            cards.posts.popitem(last=False)
        found = kept.variants.get(key)
    if found is None:
        found = _draw(item, main, viewer)
        with cards.lock:
            if len(kept.variants) >= MAX_VARIANTS:
                kept.variants.clear()
            kept.variants[key] = found
    return found


def _filled(html: str, viewer: Any, csrf_token: str, back_path: str) -> Markup:
    if viewer:
        # Escaped, as the templates write a value (a cookie's token is the browser's).
        token = str(escape(csrf_token))
        html = html.replace(CSRF_MARK, token).replace(BACK_MARK, str(escape(back_path)))
    return Markup(html)  # drawn by an autoescaping template


def render_card(item: Any, main: bool, viewer: Any, csrf_token: str, back_path: str) -> Markup:
    """The card of a `site.Shown` post for this viewer."""
    return _filled(_kept_card(item, main, viewer), viewer, csrf_token, back_path)


def render_cards(items: list[Any], viewer: Any, csrf_token: str, back_path: str) -> Markup:
    """The cards of a page's posts, one after another (one call from the template, and
    the marks filled once for the page)."""
    html = "".join([_kept_card(item, False, viewer) for item in items])
    return _filled(html, viewer, csrf_token, back_path)


def blank_compose(compose: dict[str, Any], csrf_token: str) -> Markup | None:
    """The compose form of the home page (a new post, nothing typed), drawn once per
    app with the CSRF token filled per request; None for any other compose form."""
    others = ("reply_to", "quoting", "editing", "error")
    if any(compose.get(k) for k in others) or any(compose["values"].values()):
        return None
    cards = _kept_cards()
    if cards.blank_compose is None:
        module = _environment().get_template("_compose.html").make_module({"csrf_token": CSRF_MARK})
        cards.blank_compose = str(module.compose_form(compose))
    # Drawn autoescaped; the token escaped as the template would.
    return Markup(cards.blank_compose.replace(CSRF_MARK, str(escape(csrf_token))))
