"""Move: a remote account moved; services/moves moves its local followers."""

from __future__ import annotations

import json
import logging

from ..federation.actors import refresh_actor
from ..federation.as2 import link
from ..federation.fetch import same_origin
from ..services import moves
from ..store import inbox as inbox_rows
from . import Context

log = logging.getLogger(__name__)


async def on_move(ctx: Context) -> None:
    """Check the move against the target's `alsoKnownAs`, then record it: local followers
    follow the new account instead (their Follow goes out through the outbox, as for any
    local follow)."""
    rt, origin = ctx.rt, ctx.actor
    if link(ctx.activity.get("object")) != origin["uri"]:
        return
    target_uri = link(ctx.activity.get("target"))
    if target_uri is None or target_uri == origin["uri"]:
        return
    # A remote target is fetched fresh (the alias must be there now, whatever we cached);
    # a local one is read as it is.
    if not same_origin(target_uri, rt.config.base_url):
        await refresh_actor(rt, target_uri)
    target = await rt.store.read(inbox_rows.account_by_uri, target_uri)
    if target is None or target["suspended_at"] is not None:
        return
    aliases = json.loads(target["also_known_as"] or "[]")
    if not isinstance(aliases, list) or origin["uri"] not in aliases:
        log.info("refusing the move of %s: %s does not list it", origin["uri"], target_uri)
        return
    await moves.moved(rt, origin, target)
