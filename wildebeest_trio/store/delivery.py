"""Per-domain delivery health: failure days and unavailable domains (Mastodon's tracker)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .base import Connection, fetch_as
from .paging import found_among
from .rows import DeliveryCountRow, UnavailableDomainRow

FAILURE_DAYS_THRESHOLD = 7


async def is_unavailable(conn: Connection, domain: str) -> bool:
    found = await conn.fetchval("SELECT 1 FROM unavailable_domains WHERE domain = $1", domain)
    return found is not None


async def unavailable_among(conn: Connection, domains: Collection[str]) -> set[str]:
    """Which of these domains are marked unavailable."""
    return await found_among(
        conn, "SELECT domain FROM unavailable_domains WHERE domain IN", domains
    )


async def failing_among(conn: Connection, domains: Collection[str]) -> set[str]:
    """Which of these domains have failures on record (a success should clear them)."""
    return await found_among(
        conn, "SELECT DISTINCT domain FROM delivery_failures WHERE domain IN", domains
    )


async def record_failure(conn: Connection, domain: str, day: str, now: int) -> bool:
    """Note a failed attempt today; True when the domain just became unavailable."""
    await conn.execute(
        "INSERT INTO delivery_failures (domain, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        domain,
        day,
    )
    days = await conn.fetchval("SELECT COUNT(*) FROM delivery_failures WHERE domain = $1", domain)
    if int(days) < FAILURE_DAYS_THRESHOLD:
        return False
    changed = await conn.execute(
        "INSERT INTO unavailable_domains (domain, since) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        domain,
        now,
    )
    return changed == 1


async def mark_available(conn: Connection, domain: str) -> None:
    """A success or a signed request from the domain: forget its failures."""
    await conn.execute("DELETE FROM delivery_failures WHERE domain = $1", domain)
    await conn.execute("DELETE FROM unavailable_domains WHERE domain = $1", domain)


async def unavailable_domains(conn: Connection) -> list[UnavailableDomainRow]:
    """The domains given up on, by name, with since when."""
    return await fetch_as(
        conn, UnavailableDomainRow, "SELECT domain, since FROM unavailable_domains ORDER BY domain"
    )


# Deliveries per domain and day, for the admin dashboard ----------------------------------------


async def count_deliveries(
    conn: Connection, day: int, tally: Mapping[str, tuple[int, int]]
) -> None:
    """Add a batch's (delivered, failed) attempts per domain to the day's counts."""
    for domain, (delivered, failed) in sorted(tally.items()):
        await conn.execute(
            "INSERT INTO delivery_counts (day, domain, delivered, failed) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (day, domain) DO UPDATE SET "
            "delivered = delivery_counts.delivered + excluded.delivered, "
            "failed = delivery_counts.failed + excluded.failed",
            day,
            domain,
            delivered,
            failed,
        )


async def deliveries_by_domain(
    conn: Connection, first_day: int, last_day: int, limit: int
) -> list[DeliveryCountRow]:
    """Attempts per domain between two days (inclusive), the busiest first (`day` is the
    first day with any)."""
    return await fetch_as(
        conn,
        DeliveryCountRow,
        "SELECT MIN(day) AS day, domain, CAST(SUM(delivered) AS BIGINT) AS delivered, "
        "CAST(SUM(failed) AS BIGINT) AS failed "
        "FROM delivery_counts WHERE day >= $1 AND day <= $2 GROUP BY domain "
        "ORDER BY SUM(delivered) + SUM(failed) DESC, domain LIMIT $3",
        first_day,
        last_day,
        limit,
    )


async def forget_delivery_counts(conn: Connection, before_day: int) -> None:
    await conn.execute("DELETE FROM delivery_counts WHERE day < $1", before_day)
