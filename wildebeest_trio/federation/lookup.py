"""Resolving remote accounts and statuses for search and lookups.

`user@domain` goes through WebFinger (`/.well-known/webfinger?resource=acct:...`, and the
`lrdd` template of `/.well-known/host-meta` when WebFinger answers 404), then the actor
is fetched and stored by `actors.refresh_actor`. A URL is fetched (signed by the
instance actor) and is an actor (an account) or a post (a status). Every request goes
through `net.safe_get`: no private addresses unless the configuration allows them,
bounded sizes, redirects and time; suspended domains are not contacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from .. import jsonbounds
from ..ids import now_ms
from ..net import Fetched, FetchError, safe_get
from ..runtime import Runtime
from ..signatures import sign_request
from ..store import Connection
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
from ..store import statuses as status_rows
from ..store.domain_blocks import is_suspended
from ..store.rows import AccountRow
from .actors import STALE_MS, refresh_actor
from .fetch import (
    ACCEPT,
    DocumentRefused,
    fetch_document,
    instance_key,
    is_activitypub_type,
    same_origin,
)

JRD_ACCEPT = "application/jrd+json, application/json"
OBJECT_ACCEPT = f"{ACCEPT}, text/html;q=0.1"
MAX_WEBFINGER_BYTES = 64 * 1024
MAX_OBJECT_BYTES = 1024 * 1024
TIME_LIMIT = 30.0
NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page", "Video", "Audio", "Image", "Event"})
_LRDD = re.compile(r"<Link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([a-zA-Z-]+)\s*=\s*("([^"]*)"|\'([^\']*)\')')
_ALTERNATE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)


class LookupFailed(Exception):
    """Nothing could be resolved; the message is one line, safe to log."""


class NotFound(LookupFailed):
    """The remote server answered that it has no such account or object (404 or 410)."""


@dataclass(frozen=True)
class FoundAccount:
    account_id: int


@dataclass(frozen=True)
class FoundStatus:
    status_id: int


def _origin(rt: Runtime, domain: str) -> str:
    # Remote servers are spoken to in https; plain http only when this server itself runs
    # on http (local testing between instances on 127.0.0.1).
    scheme = "http" if rt.config.scheme == "http" else "https"
    return f"{scheme}://{domain}"


async def _get(rt: Runtime, url: str, accept: str, max_bytes: int) -> Fetched:
    try:
        return await safe_get(
            url,
            headers={"Accept": accept, "User-Agent": rt.config.user_agent},
            outbound=rt.outbound,
            max_bytes=max_bytes,
            time_limit=TIME_LIMIT,
        )
    except FetchError as exc:
        raise LookupFailed(f"cannot fetch {url}: {exc}") from None


def _attributes(tag: str) -> dict[str, str]:
    return {m[1].lower(): (m[3] if m[3] is not None else m[4] or "") for m in _ATTR.finditer(tag)}


async def _lrdd_template(rt: Runtime, domain: str) -> str | None:
    """The WebFinger URL template host-meta names (`<Link rel="lrdd" template=...>`)."""
    fetched = await _get(
        rt, f"{_origin(rt, domain)}/.well-known/host-meta", "application/xrd+xml", 64 * 1024
    )
    if fetched.status != 200:
        return None
    text = fetched.body.decode("utf-8", "replace")
    for tag in _LRDD.findall(text):
        attributes = _attributes(tag)
        template = attributes.get("template", "")
        if attributes.get("rel") == "lrdd" and "{uri}" in template:
            if template.startswith(("https://", "http://")):
                return template
    return None


def _self_link(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    for item in document.get("links") or []:
        if not isinstance(item, dict) or item.get("rel") != "self":
            continue
        href, kind = item.get("href"), str(item.get("type") or "")
        if isinstance(href, str) and href.startswith(("https://", "http://")):
            if is_activitypub_type(kind):
                return href
    return None


async def webfinger(rt: Runtime, username: str, domain: str) -> str:
    """The actor URI WebFinger gives for `username@domain` (host-meta when it 404s)."""
    resource = f"acct:{username}@{domain}"
    url = f"{_origin(rt, domain)}/.well-known/webfinger?resource={quote(resource, safe=':@')}"
    fetched = await _get(rt, url, JRD_ACCEPT, MAX_WEBFINGER_BYTES)
    if fetched.status == 404:
        template = await _lrdd_template(rt, domain)
        if template is not None:
            target = template.replace("{uri}", quote(resource, safe=""))
            fetched = await _get(rt, target, JRD_ACCEPT, MAX_WEBFINGER_BYTES)
    if fetched.status in (404, 410):
        raise NotFound(f"WebFinger for {username}@{domain} answered {fetched.status}")
    if fetched.status != 200:
        raise LookupFailed(f"WebFinger for {username}@{domain} answered {fetched.status}")
    try:
        document = jsonbounds.loads(fetched.body, max_bytes=MAX_WEBFINGER_BYTES)
    except ValueError:
        raise LookupFailed(f"WebFinger for {username}@{domain} is not JSON") from None
    href = _self_link(document)
    if href is None:
        raise LookupFailed(f"WebFinger for {username}@{domain} names no ActivityPub actor")
    return href


def _acct_key(username: str, domain: str | None) -> tuple[str, str]:
    return username.lower(), (domain or "").lower()


async def domain_suspended(rt: Runtime, host: str) -> bool:
    async def unit(conn: Connection) -> bool:
        return await is_suspended(conn, host)

    return await rt.store.read(unit)


async def resolve_account(rt: Runtime, username: str, domain: str | None) -> AccountRow | None:
    """The account `username@domain`: the local one, a known remote one fetched within a
    day, or one found now through WebFinger and stored; None if it names nobody. The
    actor's own `preferredUsername@host` must WebFinger back to it when the query named
    it otherwise (as Mastodon checks). LookupFailed when the remote side fails."""
    username = username.strip()
    if domain is None or domain.lower() == rt.config.domain:
        return await rt.store.read(account_rows.account_by_acct, username, None)
    domain = domain.strip().lower()
    if not username or not domain or "/" in domain:
        return None
    if await domain_suspended(rt, domain):
        raise LookupFailed(f"{domain} is suspended")
    known = await rt.store.read(account_rows.account_by_acct, username, domain)
    fresh = known is not None and (known["last_fetched_at"] or 0) > now_ms() - STALE_MS
    if known is not None and fresh:
        return known
    try:
        uri = await webfinger(rt, username, domain)
        if same_origin(uri, rt.config.base_url):
            raise LookupFailed(f"{username}@{domain} points at this server")
        await refresh_actor(rt, uri)
    except (LookupFailed, DocumentRefused) as exc:
        if known is not None:
            return known  # stale beats nothing while the remote side is away
        if isinstance(exc, LookupFailed):
            raise exc from None
        raise LookupFailed(str(exc)) from None
    row = await rt.store.read(account_rows.actor_by_uri, uri)
    if row is None:
        return None
    if _acct_key(row["username"], row["domain"]) != _acct_key(username, domain):
        confirmed = await webfinger(rt, row["username"], row["domain"] or domain)
        if confirmed != uri:
            raise LookupFailed(f"{username}@{domain} does not WebFinger back to {uri}")
    return row


# URLs -----------------------------------------------------------------------------------------


async def local_resource(rt: Runtime, url: str) -> Any:
    """An account or status of this server named by one of its URLs."""
    path = urlsplit(url).path.rstrip("/")
    match = re.fullmatch(r"/(?:@([^/]+)|users/([^/]+))(?:/(?:statuses/)?(\d{1,19}))?", path)
    if match is None:
        return None
    username = match[1] or match[2]
    status_id = match[3]

    async def unit(conn: Connection) -> Any:
        account = await account_rows.account_by_acct(conn, username, None)
        if account is None:
            return None
        if status_id is None:
            return FoundAccount(int(account["id"]))
        status = await status_rows.status_by_id(conn, int(status_id))
        if status is None or status["account_id"] != account["id"]:
            return None
        return FoundStatus(status["id"])

    return await rt.store.read(unit)


async def known(rt: Runtime, url: str) -> Any:
    async def unit(conn: Connection) -> Any:
        status = await inbox_rows.status_by_uri(conn, url)
        if status is not None:
            return FoundStatus(int(status["id"]))
        account_id = await account_rows.account_id_by_url(conn, url)
        return None if account_id is None else FoundAccount(account_id)

    return await rt.store.read(unit)


async def _instance_signer(
    rt: Runtime,
) -> Callable[[str, str, dict[str, str]], dict[str, str]]:
    found = await instance_key(rt)
    if found is None:
        raise LookupFailed("the instance actor has no key yet")
    key_id, key = found

    def sign(method: str, target: str, headers: dict[str, str]) -> dict[str, str]:
        return sign_request(method, target, headers, None, key_id=key_id, private_key=key)

    return sign


async def fetch_object(rt: Runtime, url: str) -> dict[str, Any]:
    """The ActivityPub document a URL stands for: the document itself, or the one its
    `id` names when that differs (a profile page served as JSON), or the one an HTML
    page's `<link rel="alternate">` names. The last hop is always `fetch_document`'s
    strict fetch, so the document's id is the URL it came from."""
    try:
        fetched = await safe_get(
            url,
            headers={"Accept": OBJECT_ACCEPT, "User-Agent": rt.config.user_agent},
            outbound=rt.outbound,
            max_bytes=MAX_OBJECT_BYTES,
            time_limit=TIME_LIMIT,
            sign=await _instance_signer(rt),
        )
    except FetchError as exc:
        raise LookupFailed(f"cannot fetch {url}: {exc}") from None
    if fetched.status in (404, 410):
        raise NotFound(f"{url} answered {fetched.status}")
    if fetched.status != 200:
        raise LookupFailed(f"{url} answered {fetched.status}")
    content_type = fetched.headers.get("content-type", "")
    target: str | None = None
    if is_activitypub_type(content_type):
        try:
            document = jsonbounds.loads(fetched.body, max_bytes=MAX_OBJECT_BYTES)
        except ValueError:
            raise LookupFailed(f"{url} is not valid JSON") from None
        if not isinstance(document, dict):
            raise LookupFailed(f"{url} is not a JSON object")
        if document.get("id") == fetched.url:
            return document
        target = document.get("id") if isinstance(document.get("id"), str) else None
    elif content_type.split(";")[0].strip().lower() == "text/html":
        page = fetched.body.decode("utf-8", "replace")
        for tag in _ALTERNATE.findall(page):
            attributes = _attributes(tag)
            if attributes.get("rel", "").lower() == "alternate" and is_activitypub_type(
                attributes.get("type", "")
            ):
                target = urljoin(fetched.url, attributes.get("href", ""))
                break
    if not target or not target.startswith(("https://", "http://")):
        raise LookupFailed(f"{url} is not an ActivityPub resource")
    try:
        return await fetch_document(rt, target)
    except DocumentRefused as exc:
        raise LookupFailed(str(exc)) from None
