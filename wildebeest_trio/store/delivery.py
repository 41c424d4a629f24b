"""Per-domain delivery health: failure days and unavailable domains (Mastodon's tracker)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from .base import Connection, fetch_as
from .paging import placeholders
from .rows import DeliveryCountRow, UnavailableDomainRow

FAILURE_DAYS_THRESHOLD = 7


async def is_unavailable(conn: Connection, domain: str) -> bool:
    found = await conn.fetchval("SELECT 1 FROM unavailable_domains WHERE domain = $1", domain)
    return found is not None


async def health_among(conn: Connection, domains: Collection[str]) -> tuple[set[str], set[str]]:
    """Which of these domains are marked unavailable, and which have failures on record (a
    success should clear them): one statement, of the same text for any number of domains
    on PostgreSQL (prepared once per connection, where an IN list of each length is a
    statement of its own)."""
    args: list[str | list[str]]
    if conn.dialect == "postgres":
        among, args = "= ANY($1::text[])", [list(domains)]
    else:
        if not domains:
            return set(), set()
        among, args = f"IN ({placeholders(1, len(domains))})", [*domains]
    rows = await conn.fetch(
        f"SELECT domain, 1 AS unavailable FROM unavailable_domains WHERE domain {among} "
        f"UNION ALL SELECT DISTINCT domain, 0 FROM delivery_failures WHERE domain {among}",
        *args,
    )
    unavailable = {r["domain"] for r in rows if r["unavailable"]}
    return unavailable, {r["domain"] for r in rows if not r["unavailable"]}


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
    """Add a batch's (delivered, failed) attempts per domain to the day's counts, in one
    statement (a batch spans tens of domains: a round trip each was most of its write)."""
    rows = sorted(tally.items())  # one order in every writer: no deadlock between them
    upsert = (
        "ON CONFLICT (day, domain) DO UPDATE SET "
        "delivered = delivery_counts.delivered + excluded.delivered, "
        "failed = delivery_counts.failed + excluded.failed"
    )
    if conn.dialect == "postgres":
        await conn.execute(
            "INSERT INTO delivery_counts (day, domain, delivered, failed) "
            "SELECT $1, u.domain, u.delivered, u.failed "
            "FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS u (domain, delivered, failed) "
            + upsert,
            day,
            [domain for domain, _ in rows],
            [delivered for _, (delivered, _) in rows],
            [failed for _, (_, failed) in rows],
        )
        return
    if not rows:
        return
    # SQLite has no arrays: the rows go as one JSON array (`WHERE true` lets the parser
    # tell the upsert clause from a join condition).
    await conn.execute(
        "INSERT INTO delivery_counts (day, domain, delivered, failed) "
        "SELECT $1, value ->> 0, value ->> 1, value ->> 2 FROM json_each($2) WHERE true " + upsert,
        day,
        json.dumps([[domain, delivered, failed] for domain, (delivered, failed) in rows]),
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
