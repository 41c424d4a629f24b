"""What a URL names, for search: a known account or status, or a remote one fetched
from its origin and stored (signed-in viewers only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..federation import lookup
from ..federation.actors import ACTOR_TYPES, refresh_actor
from ..federation.as2 import first
from ..federation.fetch import DocumentRefused, same_origin
from ..federation.notes import NoteRefused
from ..runtime import Runtime
from ..store import accounts as account_rows
from .remote_statuses import store_fetched_note


async def resolve_url(rt: Runtime, url: str, viewer_id: int | None) -> Any:
    """What a URL names: FoundAccount, FoundStatus or None. Known resources are answered
    from the database; unknown remote ones are fetched only for signed-in viewers."""
    url = url.strip()
    if same_origin(url, rt.config.base_url):
        return await lookup.local_resource(rt, url)
    known = await lookup.known(rt, url)
    if known is not None or viewer_id is None:
        return known
    try:
        return await fetch_url(rt, url)
    except (lookup.LookupFailed, DocumentRefused, NoteRefused):
        return None


async def fetch_url(rt: Runtime, url: str) -> Any:
    """What an unknown remote URL names, fetched and stored: FoundAccount, FoundStatus or
    None (something else); LookupFailed (NotFound when the server has no such thing),
    DocumentRefused or NoteRefused when it cannot be had."""
    host = urlsplit(url).netloc.lower()
    if not host:
        return None
    if await lookup.domain_suspended(rt, host):
        raise lookup.LookupFailed(f"{host} is suspended")
    document = await lookup.fetch_object(rt, url)
    if document["id"] != url:
        # A page URL of something already known under its ActivityPub id.
        known = await lookup.known(rt, document["id"])
        if known is not None:
            return known
    kind = first(document.get("type"))
    if kind in ACTOR_TYPES:
        await refresh_actor(rt, document["id"])
        row = await rt.store.read(account_rows.actor_by_uri, document["id"])
        return None if row is None else lookup.FoundAccount(int(row["id"]))
    if kind in lookup.NOTE_TYPES:
        stored = await store_fetched_note(rt, document)
        return None if stored is None else lookup.FoundStatus(int(stored["id"]))
    return None
