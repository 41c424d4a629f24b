"""Limited federation's allow-list: the domains that may federate with us."""

from __future__ import annotations

from .base import Connection, fetchrow_as, fetchval_as
from .paging import Page, fetch_page
from .rows import DomainAllowRow


async def insert(conn: Connection, allow_id: int, domain: str, now: int) -> DomainAllowRow:
    """Allow `domain` (kept as it is when already allowed); the stored row."""
    await conn.execute(
        "INSERT INTO domain_allows (id, domain, created_at, updated_at) VALUES ($1, $2, $3, $3) "
        "ON CONFLICT (domain) DO NOTHING",
        allow_id,
        domain,
        now,
    )
    row = await fetchrow_as(
        conn, DomainAllowRow, "SELECT * FROM domain_allows WHERE domain = $1", domain
    )
    assert row is not None
    return row


async def by_id(conn: Connection, allow_id: int) -> DomainAllowRow | None:
    return await fetchrow_as(
        conn, DomainAllowRow, "SELECT * FROM domain_allows WHERE id = $1", allow_id
    )


async def delete(conn: Connection, allow_id: int) -> None:
    await conn.execute("DELETE FROM domain_allows WHERE id = $1", allow_id)


async def page(conn: Connection, at: Page) -> list[DomainAllowRow]:
    """Allowed domains by id, newest first."""
    return await fetch_page(
        conn, DomainAllowRow, "SELECT * FROM domain_allows WHERE TRUE", [], "id", at
    )


async def allows(conn: Connection, host: str) -> bool:
    """Whether `host` or one of its parent domains is allowed."""
    labels = host.lower().split(":", 1)[0].split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    marks = ", ".join(f"${i + 1}" for i in range(len(candidates)))
    found = await fetchval_as(
        conn, int, f"SELECT COUNT(*) FROM domain_allows WHERE domain IN ({marks})", *candidates
    )
    return bool(found)
