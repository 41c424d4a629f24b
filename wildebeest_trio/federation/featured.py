"""A remote actor's featured collection (pinned posts): the job that reads it, declared
here so that storing an actor (federation.actors) can queue it; its handler lives with the
inbound handlers (inbox/featured.py), which also apply `Add` and `Remove`."""

from __future__ import annotations

from ..jobs import JobKind
from ..runtime import Runtime
from ..store import Connection

SYNC_FEATURED = JobKind("account.featured", max_attempts=3)


async def queue(conn: Connection, rt: Runtime, account_id: int) -> None:
    """Inside a unit: read an account's featured collection soon (once at a time)."""
    await SYNC_FEATURED.enqueue(
        conn,
        rt.ids,
        {"account_id": account_id},
        dedupe_key=f"{SYNC_FEATURED.name}:{account_id}",
    )


__all__ = ["SYNC_FEATURED", "queue"]
