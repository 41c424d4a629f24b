"""Followers synchronization (FEP-8fcf), the receiving side, as Mastodon acts on it.

An activity delivered with a `Collection-Synchronization` header tells what its signer's
server believes about who here follows the signer: a digest of those followers. When it
names the signer's own followers collection and a URL on the signer's origin, and the
digest differs from ours, a durable job fetches that URL (the part of the collection on
our origin, signed by our instance actor) and repairs the difference, as Mastodon's
`SynchronizeFollowersService`:

- a local account following the signer that the other side does not list stops
  following it (its Undo is sent, as an unfollow here sends one);
- a local account the other side lists that has a pending request here gets it
  accepted; one that neither follows nor asked to is sent an Undo of a Follow (the other
  side keeps a follow we do not have).
"""

from __future__ import annotations

import logging
from typing import Any

from ..federation import followers_sync
from ..federation.as2 import link
from ..federation.fetch import DocumentRefused, DocumentUnavailable, first_page_items, same_origin
from ..jobs import JobKind, JobRegistry
from ..runtime import Runtime
from ..services import follows
from ..store import Connection, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import inbox as inbox_rows

log = logging.getLogger(__name__)

SYNCHRONIZE = JobKind("followers.synchronize", max_attempts=3)
# The most followers a partial collection is read for.
MAX_ITEMS = 10_000


async def check(rt: Runtime, payload: dict[str, Any]) -> None:
    """An activity came with a `Collection-Synchronization` header: queue the repair when
    the signer's digest of its followers here differs from ours."""
    params = followers_sync.parse_header(str(payload.get("sync") or ""))
    signer = payload.get("signer")
    if params is None or not isinstance(signer, str):
        return

    async def unit(conn: Connection) -> None:
        account = await inbox_rows.account_by_uri(conn, signer)
        if account is None or account["domain"] is None or not account["followers_url"]:
            return
        if params["collectionId"] != account["followers_url"]:
            return
        if followers_sync.url_prefix(params["url"]) != followers_sync.url_prefix(signer):
            return  # only the signer's own server says who follows it
        ours = await follow_rows.follower_uris_of(conn, account["id"], local=True)
        if followers_sync.digest(ours) == params["digest"].lower():
            return
        await SYNCHRONIZE.enqueue(
            conn,
            rt.ids,
            {"account_id": account["id"], "url": params["url"]},
            dedupe_key=f"{SYNCHRONIZE.name}:{account['id']}",
        )

    await rt.store.write(unit)


async def _items(rt: Runtime, url: str) -> list[str] | None:
    """The actor URIs of a partial followers collection (its first page when paged), or
    None when it cannot be read."""
    try:
        items = await first_page_items(rt, url)
    except (DocumentUnavailable, DocumentRefused) as exc:
        log.info("followers synchronization: %s not read: %s", url, exc)
        return None
    return [uri for uri in map(link, items[:MAX_ITEMS]) if uri is not None]


async def synchronize(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: read the partial collection and repair the follows it disagrees with."""
    account_id = int(payload["account_id"])
    items = await _items(rt, str(payload["url"]))
    if items is None:
        return
    listed = {uri for uri in items if same_origin(uri, rt.config.base_url)}

    async def unit(conn: Connection) -> None:
        target = await account_rows.account_by_id(conn, account_id)
        if target is None or target["domain"] is None:
            return
        for follow in await follow_rows.local_followers(conn, account_id):
            follower = await account_rows.account_by_id(conn, follow["account_id"])
            if follower is not None and follower["uri"] not in listed:
                await follows.unfollow_in(conn, rt, dict(follower), dict(target), by=follower["id"])
        for uri in sorted(listed):
            follower = await inbox_rows.account_by_uri(conn, uri)
            if follower is None or follower["domain"] is not None:
                continue
            if await follow_rows.is_follower(conn, follower["id"], account_id):
                continue
            request = await follow_rows.request_row(conn, follower["id"], account_id)
            if request is not None:
                # The Accept went through but never reached us.
                await follows.accept_request_in(conn, rt, dict(request), federate=False)
                continue
            # They keep a follow we have no record of: undo it (no Follow id is known).
            await outbox.record(
                conn,
                rt.ids,
                "follow.deleted",
                follower["id"],
                rt.ids.next_id(),
                {"target_account_id": account_id},
            )

    await rt.store.write(unit)


def register(registry: JobRegistry) -> None:
    registry.register(SYNCHRONIZE, synchronize)


__all__ = ["SYNCHRONIZE", "check", "register", "synchronize"]
