"""Checking a delivery to an inbox before anything is stored: size, JSON, signature, origin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import trio

from .. import jsonbounds
from ..runtime import Runtime
from ..signatures import (
    DigestMismatch,
    MalformedDigest,
    SignatureError,
    SignatureInfo,
    SignatureInvalid,
    parse_signature,
    verify_request,
)
from .actors import RemoteKey, key_for
from .as2 import link
from .fetch import DocumentRefused

MAX_BODY = 1024 * 1024
# Below this, verifying (digest and RSA, about 35 µs for a toot) is cheaper on the event
# loop than the hand-off to a worker thread and back.
INLINE_BODY = 64 * 1024
ORIGIN_CHECKED = frozenset({"Create", "Update", "Delete"})


class DeliveryRefused(Exception):
    """A delivery the inbox must refuse: `status` is the HTTP answer, the message why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Delivery:
    """An inbox POST read once: its size checked, its JSON parsed, its Signature header
    parsed (not yet verified)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    activity: dict[str, Any]
    #: The activity's actor, None when it names none.
    actor_uri: str | None
    #: The signature's parameters, or why the request has no readable signature.
    signature: SignatureInfo | SignatureError
    #: `scheme://netloc` of the actor's id, as it spells it, and its host (lower-cased).
    actor_origin: str = ""
    actor_host: str = ""

    @property
    def key_id(self) -> str | None:
        return self.signature.key_id if isinstance(self.signature, SignatureInfo) else None

    def host_of(self, url: str | None) -> str:
        """`host_of(url)`, without parsing a URL under the actor's origin (most of them:
        its key, its activities' and objects' ids)."""
        origin, end = self.actor_origin, len(self.actor_origin)
        if origin and url and url.startswith(origin) and url[end : end + 1] in ("/", "?", "#"):
            return self.actor_host
        return host_of(url)


@dataclass(frozen=True)
class VerifiedDelivery:
    """An activity whose HTTP signature checks out and whose actor signed it."""

    activity: dict[str, Any]
    actor_uri: str
    key: RemoteKey
    #: The HTTP signer is not the actor (a forwarded activity): only an LD signature
    #: by the actor may vouch for it (see federation/inbox.py).
    forwarded: bool = False


def host_of(url: str | None) -> str:
    """The host (and port) of a URL, lower-cased; empty for none."""
    return urlsplit(url).netloc.lower() if url else ""


def read_signature(
    method: str, url: str, headers: Mapping[str, str]
) -> SignatureInfo | SignatureError:
    """A request's signature parameters (not verified), or why it has none readable."""
    try:
        return parse_signature(method, url, headers)
    except SignatureError as exc:
        return exc


def read_delivery(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    signature: SignatureInfo | SignatureError | None = None,
) -> Delivery:
    """Read an inbox POST once (`signature`: its header as `read_signature` read it
    already); DeliveryRefused for a body too large or not a JSON object.

    A missing or malformed signature is not refused here (see `verify_delivery`): the
    inbox first answers for blocked domains and unknown inboxes, as Mastodon does.
    """
    if signature is None:
        signature = read_signature(method, url, headers)
    if len(body) > MAX_BODY:
        raise DeliveryRefused(413, "Request entity too large")
    try:
        activity = jsonbounds.loads(body, max_bytes=MAX_BODY)
    except ValueError:
        raise DeliveryRefused(400, "The body is not valid JSON") from None
    if not isinstance(activity, dict):
        raise DeliveryRefused(400, "The body is not a JSON object")
    actor = link(activity.get("actor"))
    origin = host = ""
    if actor is not None:
        parts = urlsplit(actor)
        origin, host = f"{parts.scheme}://{parts.netloc}", parts.netloc.lower()
    return Delivery(method, url, headers, body, activity, actor, signature, origin, host)


def _check_now(delivery: Delivery, key: RemoteKey) -> None:
    verify_request(
        delivery.method,
        delivery.url,
        delivery.headers,
        delivery.body,
        public_key=key.public_key_pem,
        policy="mastodon",
    )


async def _check(delivery: Delivery, key: RemoteKey) -> None:
    if len(delivery.body) <= INLINE_BODY:
        _check_now(delivery, key)
    else:
        await trio.to_thread.run_sync(_check_now, delivery, key)


async def verify_delivery(
    rt: Runtime,
    delivery: Delivery,
    *,
    allow_forwarded: bool = False,
    cached_key: RemoteKey | None = None,
    key_read: bool = False,
) -> VerifiedDelivery:
    """Verify an inbox POST as Mastodon does; DeliveryRefused says how to answer if not.

    The key is taken from the cache or fetched with its actor; when the signature does
    not verify, the actor is fetched once more (the key may have rotated). A caller that
    already read the key (`cached_key`, with the same key id) saves that lookup; one that
    read it and found none (`key_read` with no `cached_key`) goes straight to the fetch.
    """
    activity, actor, info = delivery.activity, delivery.actor_uri, delivery.signature
    if actor is None:
        raise DeliveryRefused(400, "The activity has no actor")
    if isinstance(info, SignatureError):
        raise DeliveryRefused(401, f"Request not signed: {info}")
    try:
        if cached_key is not None and cached_key.key_id == info.key_id:
            key: RemoteKey | None = cached_key
        else:
            key = await key_for(rt, info.key_id, read=not key_read)
    except DocumentRefused as exc:
        raise DeliveryRefused(401, f"Could not fetch the signing key: {exc}") from None
    if key is None:
        raise DeliveryRefused(401, f"Unknown signing key {info.key_id}")
    try:
        await _check(delivery, key)
    except MalformedDigest as exc:
        raise DeliveryRefused(400, str(exc)) from None
    except DigestMismatch as exc:
        raise DeliveryRefused(401, str(exc)) from None
    except SignatureInvalid:
        try:
            fresh = await key_for(rt, info.key_id, refresh=True)
        except DocumentRefused:
            fresh = None
        if fresh is None or fresh.public_key_pem == key.public_key_pem:
            raise DeliveryRefused(401, "Verification failed for the signing key") from None
        try:
            await _check(delivery, fresh)
        except SignatureError as exc:
            raise DeliveryRefused(401, f"Verification failed: {exc}") from None
        key = fresh
    except SignatureError as exc:
        raise DeliveryRefused(401, f"Verification failed: {exc}") from None
    forwarded = key.actor_uri != actor
    if forwarded and not allow_forwarded:
        # Forwarded activities need an LD signature; not accepted on the HTTP signature alone.
        raise DeliveryRefused(401, "The signing key does not belong to the activity's actor")
    actor_host = delivery.actor_host
    if activity.get("type") in ORIGIN_CHECKED:
        obj = activity.get("object")
        object_id = obj if isinstance(obj, str) else link(obj)
        if object_id is not None and delivery.host_of(object_id) != actor_host:
            raise DeliveryRefused(403, "The object is not on the actor's server")
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and delivery.host_of(activity_id) != actor_host:
        raise DeliveryRefused(403, "The activity id is not on the actor's server")
    return VerifiedDelivery(activity, actor, key, forwarded)
