"""Plain text to Mastodon's HTML: paragraphs, line breaks, links, mentions and hashtags.

Links are shortened for display as Mastodon does (the scheme hidden, the part past
30 characters hidden behind an ellipsis) while `href` keeps the whole URL.
Everything else is escaped, so the output is safe by construction.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

URL_RE = re.compile(r"https?://[^\s<>\"'\u3000]+", re.IGNORECASE)
MENTION_RE = re.compile(
    r"(?<![\w/@.])@([a-z0-9_]+(?:[a-z0-9_.-]*[a-z0-9_])?)(?:@([a-z0-9.-]+\.[a-z0-9-]+(?::\d+)?))?",
    re.IGNORECASE,
)
HASHTAG_RE = re.compile(r"(?<![\w/&#])#(\w*[^\W\d_]\w*)", re.UNICODE)
_TRAILING_PUNCT = ".,;:!?)]}'\""
# Mastodon's CustomEmoji::SCAN_RE: `:name:` not glued to letters, digits or colons.
SHORTCODE_RE = re.compile(r"(?<![\w:]):([a-zA-Z0-9_]{2,}):(?![\w:])")


@dataclass(frozen=True)
class MentionTarget:
    """A mentioned account: how to link to it."""

    username: str
    domain: str | None
    url: str
    account_id: int


@dataclass
class Rendered:
    """HTML plus what it refers to."""

    html: str
    mentions: list[MentionTarget] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def _trim_url(url: str) -> str:
    # A sentence's closing punctuation is not part of the link; a balanced ")" is.
    while url and url[-1] in _TRAILING_PUNCT:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def link_html(url: str, rel: str = "nofollow noopener") -> str:
    """An `<a>` for a URL with Mastodon's display shortening."""
    match = re.match(r"(https?://(?:www\.)?)(.*)", url, re.IGNORECASE)
    prefix, rest = (match.group(1), match.group(2)) if match else ("", url)
    display, hidden = rest[:30], rest[30:]
    ellipsis = " ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" '
        f'rel="{rel}" translate="no">'
        f'<span class="invisible">{html.escape(prefix)}</span>'
        f'<span class="{ellipsis.strip()}">{html.escape(display)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def render_text(
    text: str,
    *,
    resolve_mention: Callable[[str, str | None], MentionTarget | None],
    tag_url: Callable[[str], str],
) -> Rendered:
    """Render plain text: blank lines make paragraphs, newlines `<br>`, and links live."""
    out = Rendered(html="")
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p]
    rendered = []
    for paragraph in paragraphs:
        lines = [
            _render_line(line, out, resolve_mention, tag_url) for line in paragraph.split("\n")
        ]
        rendered.append("<p>" + "<br>".join(lines) + "</p>")
    out.html = "".join(rendered)
    return out


def _render_line(
    line: str,
    out: Rendered,
    resolve_mention: Callable[[str, str | None], MentionTarget | None],
    tag_url: Callable[[str], str],
) -> str:
    pieces: list[str] = []
    position = 0
    for start, end, kind, value in _tokens(line):
        pieces.append(html.escape(line[position:start], quote=False))
        raw = line[start:end]
        if kind == "url":
            pieces.append(link_html(value))
            out.links.append(value)
        elif kind == "mention":
            username, _, domain = value.partition("@")
            target = resolve_mention(username, domain or None)
            if target is None:
                pieces.append(html.escape(raw, quote=False))
            else:
                if target not in out.mentions:
                    out.mentions.append(target)
                pieces.append(
                    f'<span class="h-card" translate="no"><a href="{html.escape(target.url)}" '
                    f'class="u-url mention">@<span>{html.escape(target.username)}</span></a>'
                    "</span>"
                )
        else:
            name = value
            if name.lower() not in (t.lower() for t in out.tags):
                out.tags.append(name)
            pieces.append(
                f'<a href="{html.escape(tag_url(name))}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(name)}</span></a>"
            )
        position = end
    pieces.append(html.escape(line[position:], quote=False))
    return "".join(pieces)


def _tokens(line: str) -> Iterable[tuple[int, int, str, str]]:
    """Links, mentions and hashtags in a line, in order, never overlapping."""
    found: list[tuple[int, int, str, str]] = []
    for m in URL_RE.finditer(line):
        url = _trim_url(m.group(0))
        found.append((m.start(), m.start() + len(url), "url", url))

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in found)

    for m in MENTION_RE.finditer(line):
        if free(m.start(), m.end()):
            value = m.group(1) + (f"@{m.group(2)}" if m.group(2) else "")
            found.append((m.start(), m.end(), "mention", value))
    for m in HASHTAG_RE.finditer(line):
        if free(m.start(), m.end()):
            found.append((m.start(), m.end(), "tag", m.group(1)))
    return sorted(found)


def plain_mentions(text: str) -> list[tuple[str, str | None]]:
    """The `(username, domain)` pairs a text mentions (to look them up before rendering)."""
    pairs = []
    for line in text.split("\n"):
        for _, _, kind, value in _tokens(line):
            if kind == "mention":
                username, _, domain = value.partition("@")
                pairs.append((username, domain or None))
    return pairs


def render_field_value(value: str) -> str:
    """A profile field value: escaped, with links live (no paragraphs)."""
    pieces, position = [], 0
    for m in URL_RE.finditer(value):
        url = _trim_url(m.group(0))
        pieces.append(html.escape(value[position : m.start()], quote=False))
        # Mastodon marks a profile's links rel="me": the other end may link back.
        pieces.append(link_html(url, "me nofollow noopener"))
        position = m.start() + len(url)
    pieces.append(html.escape(value[position:], quote=False))
    return "".join(pieces)


def emoji_shortcodes(text: str | None) -> list[str]:
    """The custom emoji shortcodes (`:name:`) a text or HTML uses, first use first."""
    if not text or ":" not in text:
        return []
    return list(dict.fromkeys(SHORTCODE_RE.findall(text)))
