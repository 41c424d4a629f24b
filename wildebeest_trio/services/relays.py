"""ActivityPub relays: the admins add and remove them, the relay answers, posts flow.

Two styles, as relays in the wild take them. Mastodon's: the instance actor sends a Follow
of `https://www.w3.org/ns/activitystreams#Public` to the relay's inbox (Mastodon's
`Relay#enable!`). LitePub's (Pleroma, Akkoma and their relays): a Follow of the relay's
own actor, sent to that actor's inbox. Either way the relay stays `pending` until its
Accept (`accepted`) or Reject (`rejected`) names the Follow's id; removing a relay sends
the Undo of that Follow. The relay's actor is kept (named by the admin for LitePub, by the
Accept's sender for Mastodon's) so what it relays is recognized.

Once accepted, local public statuses (their Create, Update and Delete) also go to the
relay's inbox (federation.activities, as Mastodon's StatusReachFinder), and what the relay
sends us is taken in (the inbox): a forwarded Create, LD-signed by its author, even when
nobody here follows the author; a LitePub Announce, as the fetch of the post it names,
not as a boost by the relay.

Every change needs `manage_federation` (Mastodon's RelayPolicy) and is in the audit log.
"""

from __future__ import annotations

import secrets

from .. import roles
from ..federation.actors import ensure_account
from ..federation.delivery import enqueue_deliveries
from ..federation.fetch import DocumentRefused, DocumentUnavailable
from ..federation.instance_actor import instance_actor_uri
from ..ids import now_ms
from ..runtime import Runtime
from ..serializers.activitypub import AS_CONTEXT, AS_PUBLIC, undo_activity
from ..store import Connection
from ..store import relays as relay_rows
from ..store.rows import RelayRow
from .admin import AdminError, NotFound, Staff, http_url, log

STYLES = ("mastodon", "litepub")


def _follow(rt: Runtime, activity_id: str, target: str) -> dict[str, object]:
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Follow",
        "actor": instance_actor_uri(rt),
        "object": target,
    }


def _target(relay: RelayRow) -> str:
    """What our Follow of a relay follows: the Public collection, or the relay's actor."""
    if relay["style"] == "litepub" and relay["actor_uri"]:
        return relay["actor_uri"]
    return AS_PUBLIC


def _key_id(rt: Runtime) -> str:
    return f"{instance_actor_uri(rt)}#main-key"


async def relays(rt: Runtime, staff: Staff) -> list[RelayRow]:
    """Every relay with its state."""
    staff.require(roles.MANAGE_FEDERATION)
    return await rt.store.read(relay_rows.listing)


async def add_relay(rt: Runtime, staff: Staff, address: str, style: str) -> RelayRow:
    """Follow a relay: `address` is its inbox (Mastodon's style) or its actor (LitePub's,
    fetched for its inbox). The Follow goes out from the instance actor."""
    staff.require(roles.MANAGE_FEDERATION)
    if style not in STYLES:
        raise AdminError(f"The style must be one of {', '.join(STYLES)}")
    address = http_url(address, "The relay's address")
    actor_uri: str | None = None
    inbox = address
    if style == "litepub":
        try:
            actor = await ensure_account(rt, address)
        except (DocumentRefused, DocumentUnavailable) as exc:
            raise AdminError(f"The relay's actor could not be fetched: {exc}") from None
        if actor is None or actor["domain"] is None or not actor["inbox_url"]:
            raise AdminError("The relay's actor could not be fetched")
        actor_uri, inbox = actor["uri"], actor["inbox_url"]

    async def unit(conn: Connection) -> RelayRow:
        relay_id = rt.ids.next_id()
        follow_id = f"{rt.config.base_url}/relays/{relay_id}/{secrets.token_hex(8)}"
        row = await relay_rows.insert(
            conn,
            relay_id,
            inbox_url=inbox,
            style=style,
            actor_uri=actor_uri,
            follow_activity_id=follow_id,
            now=now_ms(),
        )
        if row is None:
            raise AdminError("That relay was added already")
        await enqueue_deliveries(
            conn,
            rt.ids,
            key_id=_key_id(rt),
            activity=_follow(rt, follow_id, _target(row)),
            inboxes=[inbox],
        )
        await log(conn, rt, staff, "create", "Relay", relay_id, inbox)
        return row

    return await rt.store.write(unit)


async def remove_relay(rt: Runtime, staff: Staff, relay_id: int) -> None:
    """Stop following a relay: the Undo of our Follow goes out, the relay is forgotten."""
    staff.require(roles.MANAGE_FEDERATION)

    async def unit(conn: Connection) -> None:
        relay = await relay_rows.by_id(conn, relay_id)
        if relay is None:
            raise NotFound()
        follow = _follow(rt, relay["follow_activity_id"], _target(relay))
        undo = undo_activity(instance_actor_uri(rt), f"{relay['follow_activity_id']}/undo", follow)
        await enqueue_deliveries(
            conn, rt.ids, key_id=_key_id(rt), activity=undo, inboxes=[relay["inbox_url"]]
        )
        await relay_rows.delete(conn, relay_id)
        await log(conn, rt, staff, "destroy", "Relay", relay_id, relay["inbox_url"])

    await rt.store.write(unit)


async def answered_in(
    conn: Connection, follow_uri: str | None, actor_uri: str, accepted: bool
) -> bool:
    """Inside the inbox's unit: an Accept or Reject of our Follow of a relay (by the Follow's
    id, as Mastodon matches it) sets its state and remembers who answered; whether it was."""
    if not follow_uri:
        return False
    relay = await relay_rows.by_follow(conn, follow_uri)
    if relay is None:
        return False
    await relay_rows.set_state(conn, relay["id"], "accepted" if accepted else "rejected", now_ms())
    if relay["actor_uri"] is None:
        await relay_rows.set_actor(conn, relay["id"], actor_uri)
    return True


async def is_relay(rt: Runtime, actor_uri: str | None) -> bool:
    """Whether an actor is a relay that accepted our Follow (what it sends is wanted)."""
    if not actor_uri:
        return False
    return await rt.store.read(relay_rows.is_accepted_actor, actor_uri)
