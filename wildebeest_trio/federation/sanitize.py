"""Remote HTML made safe to store and show: Mastodon's allowed tags, attributes and classes."""

from __future__ import annotations

import unicodedata

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "span",
    "a",
    "del",
    "s",
    "pre",
    "code",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "sub",
    "sup",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "translate"},
    "span": {"translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
ALLOWED_CLASSES = {
    "a": {"h-card", "u-url", "mention", "hashtag", "status-link", "unhandled-link"},
    "span": {"h-card", "invisible", "ellipsis", "mention", "hashtag"},
}
URL_SCHEMES = {
    "http",
    "https",
    "dat",
    "dweb",
    "ipfs",
    "ipns",
    "ssb",
    "gopher",
    "xmpp",
    "magnet",
    "gemini",
}


def sanitize_html(html: str) -> str:
    """Remote HTML with only what Mastodon keeps; links get `rel="nofollow noopener"`."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def strip_text(text: str) -> str:
    """A plain-text value (names): control characters out, whitespace trimmed."""
    return "".join(
        c for c in text if unicodedata.category(c) not in ("Cc", "Cf") or c in "\u200d"
    ).strip()
