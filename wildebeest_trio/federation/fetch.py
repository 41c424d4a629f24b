"""Fetching ActivityPub documents: signed by the instance actor, checked as Mastodon checks.

A document is accepted only with status 200, an ActivityStreams content type
(`application/activity+json`, or `application/ld+json` with the ActivityStreams
profile), a JSON object body of at most 1 MiB, and an `id` equal to the URL it was
finally fetched from (so a server cannot speak for another's objects).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from .. import jsonbounds
from ..net import FetchError, answer_excerpt, safe_get
from ..runtime import Runtime
from ..signatures import PrivateKey, sign_request
from ..store import accounts as account_rows
from .instance_actor import instance_actor_uri

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


class DocumentRefused(Exception):
    """A fetched document that cannot be trusted or used; the message is one line."""


class DocumentUnavailable(DocumentRefused):
    """The document could not be fetched now (network failure, 5xx, 429): worth a retry."""


def is_activitypub_type(content_type: str) -> bool:
    """Whether a Content-Type is one Mastodon accepts for ActivityStreams documents."""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media == "application/activity+json":
        return True
    return media == "application/ld+json" and "https://www.w3.org/ns/activitystreams" in params


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


async def instance_key(rt: Runtime) -> tuple[str, PrivateKey] | None:
    """The instance actor's key id and signing key (None: no key yet), read once per
    process: a local key id always names the same key."""
    key_id = f"{instance_actor_uri(rt)}#main-key"
    kept = rt.delivery.instance_key
    if kept is not None and kept[0] == key_id:
        return kept
    pem = await rt.store.read(account_rows.private_key_of, key_id)
    if pem is None:
        return None
    rt.delivery.instance_key = (key_id, rt.delivery.private_key(pem))  # parsed once
    return rt.delivery.instance_key


async def _instance_key(rt: Runtime) -> tuple[str, PrivateKey]:
    found = await instance_key(rt)
    if found is None:
        raise DocumentRefused("the instance actor has no key yet")
    return found


async def fetch_document(rt: Runtime, url: str) -> dict[str, Any]:
    """GET an ActivityPub document with a signed request; the checked JSON object."""
    key_id, key = await _instance_key(rt)

    def sign(method: str, target: str, headers: dict[str, str]) -> dict[str, str]:
        return sign_request(method, target, headers, None, key_id=key_id, private_key=key)

    try:
        fetched = await safe_get(
            url,
            headers={"Accept": ACCEPT, "User-Agent": rt.config.user_agent},
            outbound=rt.outbound,
            max_bytes=MAX_DOCUMENT_BYTES,
            sign=sign,
        )
    except FetchError as exc:
        log.info("fetching %s failed: %s", url, exc)
        raise DocumentUnavailable(f"cannot fetch {url}: {exc}") from None
    if fetched.status != 200:
        # What the peer said, on our side: a server refusing our signed fetches (a 401, or
        # a 500 from one that cannot read our instance actor) shows up here, not only as
        # a search or a follow that quietly finds nothing. Gone accounts are routine.
        log.log(
            logging.INFO if fetched.status in (404, 410) else logging.WARNING,
            "fetching %s: the server answered %d: %s",
            url,
            fetched.status,
            answer_excerpt(fetched.body),
        )
    if fetched.status >= 500 or fetched.status in (408, 429):
        raise DocumentUnavailable(f"{url} answered {fetched.status}")
    if fetched.status != 200:
        raise DocumentRefused(f"{url} answered {fetched.status}")
    if not is_activitypub_type(fetched.headers.get("content-type", "")):
        raise DocumentRefused(f"{url} is not an ActivityStreams document")
    try:
        document = jsonbounds.loads(fetched.body, max_bytes=MAX_DOCUMENT_BYTES)
    except ValueError:
        raise DocumentRefused(f"{url} is not valid JSON") from None
    if not isinstance(document, dict):
        raise DocumentRefused(f"{url} is not a JSON object")
    if document.get("id") != fetched.url:
        raise DocumentRefused(f"{url}: the document's id is not the URL it came from")
    return document


async def first_page_items(rt: Runtime, url: str) -> list[Any]:
    """The items of a collection's first page (the collection's own items when it is not
    paged; a linked first page only from the collection's origin), as Mastodon reads a
    featured or partial followers collection. DocumentRefused or DocumentUnavailable when
    it cannot be read."""
    collection: Any = await fetch_document(rt, url)
    page = collection.get("first")
    if isinstance(page, str) and same_origin(page, url):
        collection = await fetch_document(rt, page)
    elif isinstance(page, dict):
        collection = page
    found: list[Any] = []
    for key in ("orderedItems", "items"):
        value = collection.get(key)
        found.extend(value if isinstance(value, list) else [value] if value else [])
    return found
