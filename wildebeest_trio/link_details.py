"""What a linked page says about itself: the facts of a preview card, read from its HTML.

Pure and synchronous (the card service fetches; this only reads). It follows Mastodon's
`FetchLinkCardService` and `LinkDetailsExtractor`:

- which link of a status gets a card: the first `<a href>` that is not a hashtag
  (`rel="tag"`), not a mention (class `u-url`/`h-card`, or the URL of a mentioned account),
  over http or https, with a host, and not on this server;
- a page's card: JSON-LD (`NewsArticle`/`WebPage`) first, then OpenGraph and Twitter
  tags, then `<title>` and `<meta name="description">`; a `twitter:player` makes it a
  video card with an iframe; `<link rel="canonical">` (same host only) names it;
  `fediverse:creator` names its author's fediverse account;
- oEmbed (JSON only), discovered through `<link type="application/json+oembed">`:
  `link`, `photo`, and `video`/`rich` whose HTML is cut down to a sandboxed iframe.

The HTML is parsed with lxml, never with regular expressions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import nh3

CARD_TYPES = ("link", "photo", "video", "rich")
# The JSON-LD types Mastodon reads a card from.
STRUCTURED_TYPES = ("NewsArticle", "WebPage")
OEMBED_TYPES = ("application/json+oembed", "text/json+oembed")
MAX_TEXT = 2000  # characters kept of a title, description or name (Mastodon's columns hold more)
MAX_HTML = 8000
MAX_DIMENSION = 10_000
# Mastodon's MASTODON_OEMBED sanitizer keeps an iframe from the provider and these attributes,
# and sandboxes it.
IFRAME_ATTRIBUTES = {"allowfullscreen", "frameborder", "height", "scrolling", "src", "width"}
IFRAME_SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"
_LOCALE_RE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][A-Za-z0-9]{2,8})*$")
_CDATA_JUNK = re.compile(
    r"^\s*(/\*\s*<!\[CDATA\[\s*\*/|//\s*<!\[CDATA\[|/\*\s*\]\]>\s*\*/|//\s*\]\]>)\s*$", re.M
)


@dataclass(frozen=True)
class CardFacts:
    """What a card says, as the `preview_cards` row keeps it (URLs absolute, strings never
    None, `published_at` in milliseconds)."""

    url: str
    title: str = ""
    description: str = ""
    type: str = "link"
    link_type: str = "unknown"
    author_name: str = ""
    author_url: str = ""
    provider_name: str = ""
    provider_url: str = ""
    html: str = ""
    width: int = 0
    height: int = 0
    image_url: str | None = None
    image_description: str = ""
    embed_url: str = ""
    published_at: int | None = None
    language: str | None = None
    # `@user@host` of the author's fediverse account (`fediverse:creator`), unresolved.
    creator: str | None = None

    @property
    def worth_keeping(self) -> bool:
        """Mastodon keeps a card with a title or an embed; anything else is no card."""
        return bool(self.title.strip() or self.html.strip())


@dataclass(frozen=True)
class Page:
    """A fetched page read once: its card facts and where its oEmbed lives."""

    facts: CardFacts
    oembed_endpoint: str | None = None


# Which link ------------------------------------------------------------------------------------


def normalize_url(url: str) -> str | None:
    """A URL in one spelling (scheme and host lower-cased, IDNA host, default port dropped,
    an empty path made `/`, no fragment); None when it is no http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if scheme == "https" else 80):
        host = f"{host}:{port}"
    if any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return None
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """A normalized URL's host with its port, lower-cased."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def status_link(content: str, *, mention_urls: set[str], local_hosts: set[str]) -> str | None:
    """The link of a status's HTML that gets a card (Mastodon's rules), normalized; None."""
    if not content.strip():
        return None
    try:
        root = lxml.html.fragment_fromstring(content, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None
    for anchor in root.iter("a"):
        href = anchor.get("href") or ""
        rel = (anchor.get("rel") or "").split()
        classes = anchor.get("class") or ""
        if "tag" in rel or re.search(r"u-url|h-card", classes) or href in mention_urls:
            continue
        url = normalize_url(href)
        if url is not None and host_of(url) not in local_hosts:
            return url
    return None


# Reading a page ---------------------------------------------------------------------------------


def _parse(body: bytes, charset: str | None) -> lxml.html.HtmlElement | None:
    parser = None
    if charset:
        try:
            parser = lxml.html.HTMLParser(encoding=charset)
        except LookupError:
            pass  # an unknown charset name: let the page's own <meta charset> say
    try:
        return lxml.html.document_fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())[:MAX_TEXT]


def _url_or_none(base: str, value: Any, *, same_host: bool = False) -> str | None:
    """An absolute http(s) URL from a tag's value, relative to `base`."""
    if not isinstance(value, str) or not value.strip() or value.strip() == "null":
        return None
    url = normalize_url(urljoin(base, value.strip()))
    if url is None or (same_host and urlsplit(url).hostname != urlsplit(base).hostname):
        return None
    return url


def _dimension(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return 0
    return number if 0 < number <= MAX_DIMENSION else 0


def _time_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _language(value: Any) -> str | None:
    match = _LOCALE_RE.match(value.strip()) if isinstance(value, str) else None
    return match.group(1).lower() if match else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _structured(doc: lxml.html.HtmlElement) -> dict[str, Any]:
    """The first JSON-LD object of a supported type (pages often carry broken ones too)."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = _CDATA_JUNK.sub("", script.text or "")
        try:
            data = json.loads(text)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and item.get("@type") in STRUCTURED_TYPES:
                return item
    return {}


class _Tags:
    """The meta and link tags of a page, first value of each name."""

    def __init__(self, doc: lxml.html.HtmlElement) -> None:
        self.meta: dict[str, str] = {}
        self.named: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.oembed: str | None = None
        for meta in doc.iter("meta"):
            content = meta.get("content")
            if content is None:
                continue
            for key in (meta.get("property"), meta.get("name")):
                if key:
                    self.meta.setdefault(key.strip().lower(), content)
            if meta.get("name"):
                self.named.setdefault(meta.get("name", "").strip().lower(), content)
        for link in doc.iter("link"):
            href = link.get("href")
            if not href:
                continue
            for rel in (link.get("rel") or "").lower().split():
                self.links.setdefault(rel, href)
            if self.oembed is None and (link.get("type") or "").strip().lower() in OEMBED_TYPES:
                self.oembed = href

    def get(self, name: str) -> str | None:
        """An OpenGraph or Twitter tag: `<meta property=...>` or `<meta name=...>`."""
        return self.meta.get(name)


def read_page(url: str, body: bytes, charset: str | None = None) -> Page | None:
    """A fetched HTML page's card facts (Mastodon's LinkDetailsExtractor); None when the
    body is no HTML document at all."""
    doc = _parse(body, charset)
    if doc is None:
        return None
    tags = _Tags(doc)
    data = _structured(doc)
    author = _first(data.get("author")) if isinstance(_first(data.get("author")), dict) else {}
    publisher = (
        _first(data.get("publisher")) if isinstance(_first(data.get("publisher")), dict) else {}
    )
    title_tag = next(doc.iter("title"), None)
    player = _url_or_none(url, tags.get("twitter:player"))
    width = _dimension(tags.get("twitter:player:width"))
    height = _dimension(tags.get("twitter:player:height"))
    image = _first(data.get("image"))
    if isinstance(image, dict):
        image = image.get("url")
    og_type = (tags.get("og:type") or "").strip().lower()
    facts = CardFacts(
        url=_url_or_none(url, tags.links.get("canonical") or tags.get("og:url"), same_host=True)
        or url,
        title=_text(data.get("headline"))
        or _text(tags.get("og:title"))
        or _text(title_tag.text_content() if title_tag is not None else ""),
        description=_text(data.get("description"))
        or _text(tags.get("og:description"))
        or _text(tags.named.get("description")),
        type="video" if player else "link",
        link_type="article"
        if data.get("@type") == "NewsArticle" or og_type == "article"
        else "unknown",
        author_name=_text(author.get("name"))
        or _text(tags.get("og:author"))
        or _text(tags.get("og:author:username")),
        author_url=_url_or_none(url, author.get("url")) or "",
        provider_name=_text(publisher.get("name")) or _text(tags.get("og:site_name")),
        html=iframe(player, width, height) if player else "",
        width=width,
        height=height,
        image_url=_url_or_none(url, image) or _url_or_none(url, tags.get("og:image")),
        image_description=_text(tags.get("og:image:alt")),
        embed_url=_url_or_none(url, tags.get("twitter:player:stream")) or "",
        published_at=_time_ms(data.get("datePublished"))
        or _time_ms(tags.get("article:published_time")),
        language=_language(data.get("inLanguage"))
        or _language(tags.get("og:locale"))
        or _language(doc.get("lang")),
        creator=_creator(tags.named.get("fediverse:creator")),
    )
    endpoint = _url_or_none(url, tags.oembed) if tags.oembed else None
    return Page(facts=facts, oembed_endpoint=endpoint)


def _creator(value: str | None) -> str | None:
    """`@user@host` (or `user@host`) of a `fediverse:creator` tag; None when malformed."""
    if not value:
        return None
    handle = value.strip().lstrip("@")
    user, sep, host = handle.partition("@")
    if not sep or not user or not host or any(c.isspace() for c in handle) or "@" in host:
        return None
    return f"{user}@{host.lower()}"


# Embeds and oEmbed ------------------------------------------------------------------------------


def iframe(src: str, width: int, height: int) -> str:
    """The iframe Mastodon builds for a `twitter:player`."""
    return (
        f'<iframe src="{_attr(src)}" width="{width}" height="{height}" allowfullscreen="true" '
        'allowtransparency="true" scrolling="no" frameborder="0"></iframe>'
    )


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def sanitize_embed(html: str) -> str:
    """An oEmbed's HTML cut down to its sandboxed iframes (no scripts, nothing else), or ""."""
    if not html or len(html) > MAX_HTML * 4:
        return ""
    cleaned = nh3.clean(
        html,
        tags={"iframe"},
        attributes={"iframe": IFRAME_ATTRIBUTES},
        url_schemes={"http", "https"},
        set_tag_attribute_values={"iframe": {"sandbox": IFRAME_SANDBOX}},
        strip_comments=True,
        link_rel=None,
    )
    try:
        root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    frames = [f for f in root.iter("iframe") if normalize_url(f.get("src") or "")]
    if not frames:
        return ""
    return "".join(lxml.html.tostring(f, encoding="unicode", with_tail=False) for f in frames)[
        :MAX_HTML
    ]


def read_oembed(page: CardFacts, endpoint: str, data: Any) -> CardFacts | None:
    """A card from an oEmbed answer (Mastodon's attempt_oembed); None when it makes none
    (then the page's own tags are used)."""
    if not isinstance(data, dict) or str(data.get("version", "")) != "1.0":
        return None
    kind = data.get("type")
    if kind not in CARD_TYPES:
        return None
    facts = replace(
        page,
        type=kind,
        title=_text(data.get("title")),
        description="",
        author_name=_text(data.get("author_name")),
        author_url=_url_or_none(endpoint, data.get("author_url")) or "",
        provider_name=_text(data.get("provider_name")),
        provider_url=_url_or_none(endpoint, data.get("provider_url")) or "",
        width=0,
        height=0,
        html="",
        embed_url="",
        image_url=None,
    )
    thumbnail = _url_or_none(endpoint, data.get("thumbnail_url"))
    if kind == "link":
        return replace(facts, image_url=thumbnail)
    size = {"width": _dimension(data.get("width")), "height": _dimension(data.get("height"))}
    if kind == "photo":
        photo = _url_or_none(endpoint, data.get("url"))
        return None if photo is None else replace(facts, embed_url=photo, image_url=photo, **size)
    embed = sanitize_embed(data.get("html") if isinstance(data.get("html"), str) else "")
    return replace(facts, html=embed, image_url=thumbnail, **size) if embed else None


__all__ = [
    "CardFacts",
    "Page",
    "host_of",
    "iframe",
    "normalize_url",
    "read_oembed",
    "read_page",
    "sanitize_embed",
    "status_link",
]


# Profile links (rel="me") -----------------------------------------------------------------------


def rel_me_links(body: bytes, charset: str | None = None) -> list[str]:
    """The `href`s of a page's `<a rel="me">` and `<link rel="me">`, in document order
    (Mastodon's `a[rel~='me'],link[rel~='me']`), as written."""
    doc = _parse(body, charset)
    if doc is None:
        return []
    found = []
    for element in doc.iter("a", "link"):
        if "me" in (element.get("rel") or "").lower().split():
            found.append((element.get("href") or "").strip())
    return found


def sole_link(value_html: str) -> str | None:
    """The URL of a remote profile field whose value is one link showing its own address
    (Mastodon's `extract_url_from_html`); None for anything else."""
    if not value_html.strip():
        return None
    try:
        root = lxml.html.fragment_fromstring(value_html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None
    children = list(root)
    if len(children) != 1 or (root.text or "").strip() or (children[0].tail or "").strip():
        return None
    element = children[0]
    href = element.get("href")
    if element.tag != "a" or not href or href != element.text_content():
        return None
    return str(href)


def verifiable_url(value: str) -> str | None:
    """A field value Mastodon would verify: an `https` URL with a host, no user or password,
    its host already in normal form; None otherwise."""
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "https" or not host or parts.username or parts.password:
        return None
    if not host.isascii() or host != host.lower() or "@" in parts.netloc:
        return None
    return value
