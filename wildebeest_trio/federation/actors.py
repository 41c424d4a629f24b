"""Remote actors: fetched, checked, sanitized and cached as accounts with their keys."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView, domain_blocks
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
from ..store.rows import AccountRow
from . import featured, profile_links
from .as2 import as_list, first, link
from .fetch import DocumentRefused, DocumentUnavailable, fetch_document, same_origin
from .sanitize import sanitize_html, strip_text

log = logging.getLogger(__name__)

ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})
STALE_MS = 24 * 3600 * 1000  # Mastodon refreshes remote actors older than a day
MAX_NAME = 2048
MAX_SUMMARY = 20 * 1024
MAX_FIELDS = 50
MAX_ATTRIBUTION_DOMAINS = 100


@dataclass(frozen=True)
class RemoteKey:
    """A remote public key and the actor that owns it."""

    key_id: str
    public_key_pem: str
    account_id: int
    actor_uri: str


def _public_key(document: dict[str, Any], actor_id: str) -> tuple[str, str] | None:
    for key in as_list(document.get("publicKey")):
        if not isinstance(key, dict):
            continue
        key_id, owner, pem = key.get("id"), link(key.get("owner")), key.get("publicKeyPem")
        if not (isinstance(key_id, str) and isinstance(pem, str)):
            continue
        # The key must be the actor's own: owned by it and published from its origin.
        if owner == actor_id and same_origin(key_id, actor_id):
            return key_id, pem
    return None


def parse_actor(document: dict[str, Any], fetched_from: str) -> dict[str, Any]:
    """The account columns of an actor document; DocumentRefused if it is not one."""
    actor_id = document.get("id")
    if actor_id != fetched_from:
        raise DocumentRefused("the actor's id is not the URL it came from")
    actor_type = first(document.get("type"))
    if actor_type not in ACTOR_TYPES:
        raise DocumentRefused(f"{actor_id} is not an actor")
    inbox = link(document.get("inbox"))
    if inbox is None:
        raise DocumentRefused(f"{actor_id} has no inbox")
    username = first(document.get("preferredUsername"))
    if not isinstance(username, str) or not username.strip() or len(username) > 2048:
        raise DocumentRefused(f"{actor_id} has no preferredUsername")
    host = urlsplit(actor_id).netloc.lower()
    endpoints = first(document.get("endpoints"))
    shared = link(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    shared = shared or link(document.get("sharedInbox"))
    url = link(document.get("url"))
    if url is not None and not same_origin(url, actor_id):
        url = None  # Mastodon ignores a profile URL on another host
    fields = []
    for item in as_list(document.get("attachment"))[:MAX_FIELDS]:
        if isinstance(item, dict) and first(item.get("type")) == "PropertyValue":
            fields.append(
                {
                    "name": strip_text(str(item.get("name") or ""))[:255],
                    "value": sanitize_html(str(item.get("value") or ""))[:2048],
                    "verified_at": None,
                }
            )
    icon, image = link(document.get("icon")), link(document.get("image"))
    return {
        "uri": actor_id,
        "username": username.strip(),
        "domain": host,
        "url": url or actor_id,
        "actor_type": actor_type,
        "display_name": strip_text(str(first(document.get("name")) or ""))[:MAX_NAME],
        "note": sanitize_html(str(first(document.get("summary")) or ""))[:MAX_SUMMARY],
        "fields": json.dumps(fields),
        "locked": bool(document.get("manuallyApprovesFollowers", False)),
        "bot": actor_type in ("Service", "Application"),
        "discoverable": bool(document.get("discoverable", False)),
        "indexable": bool(document.get("indexable", False)),
        "inbox_url": inbox,
        "shared_inbox_url": shared,
        "outbox_url": link(document.get("outbox")),
        "followers_url": link(document.get("followers")),
        "following_url": link(document.get("following")),
        "featured_url": link(document.get("featured")),
        "avatar_remote_url": icon,
        "header_remote_url": image,
        "also_known_as": json.dumps(
            [u for u in map(link, as_list(document.get("alsoKnownAs"))) if u][:256]
        ),
        # Mastodon 4.3's `attributionDomains`: sites that may name the actor as a page's
        # author (`fediverse:creator`).
        "attribution_domains": json.dumps(
            [
                d.strip().lower()
                for d in as_list(document.get("attributionDomains"))
                if isinstance(d, str) and d.strip() and len(d) <= 253
            ][:MAX_ATTRIBUTION_DOMAINS]
        ),
    }


async def refresh_actor(rt: Runtime, uri: str) -> RemoteKey | None:
    """Fetch an actor and store (or refresh) it with its key; its key, if it publishes one."""
    document = await fetch_document(rt, uri)
    account = parse_actor(document, uri)
    key = _public_key(document, uri)
    now = now_ms()
    account["id"] = rt.ids.next_id()

    async def unit(conn: Connection) -> int:
        # A link verified before stays verified while its value is the same.
        before = await account_rows.remote_fields_by_uri(conn, uri)
        account["fields"] = json.dumps(
            profile_links.carry_over(before, json.loads(account["fields"]))
        )
        account_id = await account_rows.upsert_remote_actor(
            conn,
            account,
            key[0] if key else None,
            key[1] if key else None,
            rt.ids.next_id(),
            now,
        )
        await profile_links.queue_if_needed(conn, rt, account_id)
        if before is None and account.get("featured_url"):
            # First stored: what it shows pinned (Mastodon reads the featured collection).
            await featured.queue(conn, rt, account_id)
        return account_id

    account_id = await rt.store.write(unit)
    if key is None:
        return None
    return RemoteKey(key[0], key[1], account_id, uri)


def remote_key(row: RowView | None) -> RemoteKey | None:
    """The remote key a stored row holds (`public_key_by_key_id`'s or
    `remote_key_by_actor_uri`'s); None for no row, no key or a local account's."""
    if row is None or row["domain"] is None or row["key_id"] is None:
        return None
    return RemoteKey(row["key_id"], row["public_key_pem"], row["account_id"], row["uri"])


async def _stored(conn: Connection, uri: str, key_id: str | None) -> tuple[bool, RemoteKey | None]:
    """Whether what a caller of `fetch_actor` looks for is stored (the key `key_id` if it
    asks for one, else the actor), and the key it is."""
    if key_id is not None:
        key = remote_key(await account_rows.public_key_by_key_id(conn, key_id))
        return key is not None, key
    row = await account_rows.remote_key_by_actor_uri(conn, uri)
    return row is not None, remote_key(row)


async def fetch_actor(
    rt: Runtime, uri: str, *, key_id: str | None = None, refresh: bool = False
) -> RemoteKey | None:
    """Fetch and store an actor the caller did not find (or, with `key_id`, whose key it
    did not find); the actor's key. An actor that many deliveries or activities name at
    once is fetched once: this process's concurrent callers share one fetch and its key.

    Unless `refresh`, what a fetch that ended since the caller looked stored is the
    answer, and the actor is not fetched again.
    """

    async def fetch() -> RemoteKey | None:
        if not refresh:
            found, key = await rt.store.read(_stored, uri, key_id)
            if found:
                return key
        return await refresh_actor(rt, uri)

    key: RemoteKey | None = await rt.actor_fetches.run((uri, refresh), fetch)
    return key


def actor_uri_of_key(key_id: str) -> str:
    """The actor a key id most likely belongs to (`https://host/users/x#main-key`)."""
    return key_id.split("#", 1)[0]


async def key_for(
    rt: Runtime, key_id: str, *, refresh: bool = False, read: bool = True
) -> RemoteKey | None:
    """A remote public key by id: from the cache, or fetched with its actor.

    `refresh` fetches the actor again even when the key is cached (a failed check may
    mean the key rotated); `read=False`: the caller has just looked in the cache and
    found nothing. Local keys are never answered here.
    """
    if not refresh and read:
        key = remote_key(await rt.store.read(account_rows.public_key_by_key_id, key_id))
        if key is not None:
            return key
    uri = actor_uri_of_key(key_id)
    if same_origin(uri, rt.config.base_url):
        return None
    key = await fetch_actor(rt, uri, key_id=key_id, refresh=refresh)
    if key is None or key.key_id != key_id:
        return None
    return key


async def fetchable(rt: Runtime, uri: str) -> bool:
    """Whether an object may be fetched: not from a suspended domain."""
    return not await rt.store.read(domain_blocks.is_suspended, urlsplit(uri).netloc)


async def ensure_account(rt: Runtime, uri: str | None) -> AccountRow | None:
    """A known account by actor URI, fetching a remote one not seen before (never from
    a suspended domain; once for all the activities that name it at the same time)."""
    if not uri:
        return None
    row = await rt.store.read(inbox_rows.account_by_uri, uri)
    if row is not None:
        return row
    if not await fetchable(rt, uri):
        return None
    try:
        await fetch_actor(rt, uri)
    except DocumentUnavailable:
        raise  # retried with the job
    except DocumentRefused as exc:
        log.info("cannot fetch actor %s: %s", uri, exc)
        return None
    return await rt.store.read(inbox_rows.account_by_uri, uri)
