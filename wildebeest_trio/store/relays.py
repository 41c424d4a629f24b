"""ActivityPub relays this instance follows, and what each answered."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .rows import RelayRow


async def insert(
    conn: Connection,
    relay_id: int,
    *,
    inbox_url: str,
    style: str,
    actor_uri: str | None,
    follow_activity_id: str,
    now: int,
) -> RelayRow | None:
    """A new pending relay; None when that inbox is a relay already."""
    await conn.execute(
        "INSERT INTO relays (id, inbox_url, style, actor_uri, follow_activity_id, state, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) "
        "ON CONFLICT (inbox_url) DO NOTHING",
        relay_id,
        inbox_url,
        style,
        actor_uri,
        follow_activity_id,
        now,
    )
    row = await by_id(conn, relay_id)
    return row


async def by_id(conn: Connection, relay_id: int) -> RelayRow | None:
    return await fetchrow_as(conn, RelayRow, "SELECT * FROM relays WHERE id = $1", relay_id)


async def by_follow(conn: Connection, follow_activity_id: str) -> RelayRow | None:
    """The relay a Follow with this id was sent to."""
    return await fetchrow_as(
        conn, RelayRow, "SELECT * FROM relays WHERE follow_activity_id = $1", follow_activity_id
    )


async def listing(conn: Connection) -> list[RelayRow]:
    """Every relay, oldest first."""
    return await fetch_as(conn, RelayRow, "SELECT * FROM relays ORDER BY id")


async def accepted_inboxes(conn: Connection) -> list[str]:
    """The inboxes of the relays that accepted our Follow."""
    rows = await fetch_as(
        conn, RelayRow, "SELECT * FROM relays WHERE state = 'accepted' ORDER BY id"
    )
    return [r["inbox_url"] for r in rows]


async def is_accepted_actor(conn: Connection, actor_uri: str) -> bool:
    """Whether `actor_uri` is the actor of a relay that accepted our Follow."""
    row = await fetchrow_as(
        conn,
        RelayRow,
        "SELECT * FROM relays WHERE actor_uri = $1 AND state = 'accepted'",
        actor_uri,
    )
    return row is not None


async def set_state(conn: Connection, relay_id: int, state: str, now: int) -> None:
    await conn.execute(
        "UPDATE relays SET state = $2, updated_at = $3 WHERE id = $1", relay_id, state, now
    )


async def set_actor(conn: Connection, relay_id: int, actor_uri: str) -> None:
    """Remember the relay's actor (a Mastodon-style relay names it in its Accept)."""
    await conn.execute("UPDATE relays SET actor_uri = $2 WHERE id = $1", relay_id, actor_uri)


async def delete(conn: Connection, relay_id: int) -> None:
    await conn.execute("DELETE FROM relays WHERE id = $1", relay_id)
