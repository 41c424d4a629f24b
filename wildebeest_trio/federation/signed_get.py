"""Who is asking: the remote actor behind a signed GET (authorized fetch)."""

from __future__ import annotations

from collections.abc import Mapping

import trio

from ..runtime import Runtime
from ..signatures import SignatureError, SignatureInvalid, parse_signature, verify_request
from ..store.domain_blocks import is_suspended
from .actors import RemoteKey, key_for
from .fetch import DocumentRefused
from .verify import DeliveryRefused


def _check(target: str, headers: Mapping[str, str], key: RemoteKey) -> None:
    verify_request("GET", target, headers, None, public_key=key.public_key_pem, policy="mastodon")


async def _verified(
    rt: Runtime, targets: list[str], headers: Mapping[str, str], key: RemoteKey
) -> bool:
    for target in targets:
        try:
            await trio.to_thread.run_sync(_check, target, headers, key)
        except SignatureInvalid:
            continue
        return True
    return False


async def verify_signed_get(rt: Runtime, url: str, headers: Mapping[str, str]) -> RemoteKey:
    """The verified signer of a GET; DeliveryRefused (401 or 403) when it has none.

    `url` is the full URL the signer requested, on our public origin: RFC 9421 signs
    the target URI and authority, not just the path as draft-cavage does. As Mastodon,
    the URL is tried with its query, then without it (older servers signed the bare
    path); a failing key is fetched once more (rotation).
    """
    bare = url.split("?", 1)[0]
    targets = [url, bare] if bare != url else [url]
    try:
        info = parse_signature("GET", targets[0], headers)
    except SignatureError as exc:
        raise DeliveryRefused(401, f"Request not signed: {exc}") from None
    try:
        key = await key_for(rt, info.key_id)
        if key is None:
            raise DeliveryRefused(401, f"Unknown signing key {info.key_id}")
        host = key.actor_uri.split("/")[2] if "://" in key.actor_uri else None
        if await rt.store.read(is_suspended, host):
            raise DeliveryRefused(403, "Your domain is blocked")
        try:
            if await _verified(rt, targets, headers, key):
                return key
        except SignatureError as exc:
            raise DeliveryRefused(401, f"Verification failed: {exc}") from None
        fresh = await key_for(rt, info.key_id, refresh=True)
    except DocumentRefused as exc:
        raise DeliveryRefused(401, f"Could not fetch the signing key: {exc}") from None
    if fresh is not None and fresh.public_key_pem != key.public_key_pem:
        try:
            if await _verified(rt, targets, headers, fresh):
                return fresh
        except SignatureError as exc:
            raise DeliveryRefused(401, f"Verification failed: {exc}") from None
    raise DeliveryRefused(401, "Verification failed for the signing key")
