"""Leases on id-generator node slots, so processes sharing a database never share a node."""

from __future__ import annotations

from ..ids import MAX_NODES
from .base import Connection


class NoFreeNode(Exception):
    """Every node slot is leased by a live process."""


async def claim_node(conn: Connection, owner: str, now: int, ttl_ms: int) -> int:
    """Lease a free (or expired) node slot to `owner`; the slot number."""
    rows = await conn.fetch("SELECT node, expires_at FROM id_nodes")
    live = {r["node"] for r in rows if r["expires_at"] > now}
    for node in range(MAX_NODES):
        if node in live:
            continue
        changed = await conn.execute(
            "INSERT INTO id_nodes (node, owner, expires_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (node) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at WHERE id_nodes.expires_at <= $4",
            node,
            owner,
            now + ttl_ms,
            now,
        )
        if changed == 1:
            return node
    raise NoFreeNode(f"all {MAX_NODES} id node slots are leased")


async def renew_node(conn: Connection, node: int, owner: str, now: int, ttl_ms: int) -> bool:
    """Extend a lease; False when it was lost (expired and taken by another process)."""
    changed = await conn.execute(
        "UPDATE id_nodes SET expires_at = $1 WHERE node = $2 AND owner = $3",
        now + ttl_ms,
        node,
        owner,
    )
    return changed == 1


async def release_node(conn: Connection, node: int, owner: str) -> None:
    """Give a slot back."""
    await conn.execute("DELETE FROM id_nodes WHERE node = $1 AND owner = $2", node, owner)
