"""Followers synchronization (FEP-8fcf), the parts federation needs: the digest of a
followers collection as seen by one server, and the `Collection-Synchronization` header.

A delivery of an activity addressed to its actor's followers carries, for the receiving
server, `collectionId` (the followers collection), `url` (where that server may fetch the
part of the collection on its own origin: `/users/<name>/followers_synchronization`) and
`digest`: the XOR of the SHA-256 of each follower URI on that origin, in hex, as Mastodon's
`remote_followers_hash` computes it (32 zero bytes for none).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from .as2 import as_list

HEADER = "Collection-Synchronization"
# Mastodon's Account::URL_PREFIX_RE: a URL's scheme and authority, as written.
_PREFIX_RE = re.compile(r"\Ahttps?://[^/]+")
_PARAM_RE = re.compile(r'([A-Za-z]+)="([^"]*)"')
MAX_HEADER = 4096


def url_prefix(url: str) -> str | None:
    """`scheme://authority` of a URL as written (Mastodon's prefix), or None."""
    found = _PREFIX_RE.match(url)
    return found.group(0) if found else None


def digest(uris: Iterable[str]) -> str:
    """The XOR of the SHA-256 of each URI, in hex."""
    total = 0
    for uri in uris:
        total ^= int.from_bytes(hashlib.sha256(uri.encode()).digest(), "big")
    return total.to_bytes(32, "big").hex()


def digests_by_origin(uris: Iterable[str]) -> dict[str, str]:
    """The digest of the URIs under each origin prefix."""
    grouped: dict[str, list[str]] = {}
    for uri in uris:
        prefix = url_prefix(uri)
        if prefix is not None:
            grouped.setdefault(prefix, []).append(uri)
    return {prefix: digest(found) for prefix, found in grouped.items()}


def synchronization_url(actor_uri: str) -> str:
    """Where a local actor's followers on one origin are served to that origin."""
    return f"{actor_uri}/followers_synchronization"


def header_value(followers_url: str, actor_uri: str, hex_digest: str) -> str:
    return (
        f'collectionId="{followers_url}", digest="{hex_digest}", '
        f'url="{synchronization_url(actor_uri)}"'
    )


#: The ways a document names the public audience.
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})


def followers_only(activity: dict[str, Any], collection: str) -> bool:
    """Whether an activity is for the followers `collection` and not for everyone: what
    Mastodon synchronizes followers on (its `private_visibility?` statuses), since only
    there does a follower the sender lost see what it should not."""
    audience = _audience(activity)
    return collection in audience and not audience & PUBLIC


def _audience(activity: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for document in (activity, activity.get("object")):
        if isinstance(document, dict):
            for field in ("to", "cc"):
                found.update(a for a in as_list(document.get(field)) if isinstance(a, str))
    return found


def parse_header(value: str) -> dict[str, str] | None:
    """The parameters of a `Collection-Synchronization` header (the syntax of a Signature
    header's), or None when it lacks one of collectionId, digest and url."""
    if len(value) > MAX_HEADER:
        return None
    params = {k: v for k, v in _PARAM_RE.findall(value)}
    if not all(params.get(k) for k in ("collectionId", "digest", "url")):
        return None
    return params


__all__ = [
    "HEADER",
    "digest",
    "digests_by_origin",
    "followers_only",
    "header_value",
    "parse_header",
    "synchronization_url",
    "url_prefix",
]
