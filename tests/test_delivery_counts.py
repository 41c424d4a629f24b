"""A batch's store work takes few statements, on both backends."""

from __future__ import annotations

from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import delivery as delivery_rows


async def test_counts_and_health_of_many_domains_in_one_statement(rt: Runtime) -> None:
    day = 20_000
    tally = {f"h{n}.example": (n, n % 3) for n in range(1, 60)}
    await rt.store.write(delivery_rows.count_deliveries, day, tally)
    await rt.store.write(delivery_rows.count_deliveries, day, {"h1.example": (2, 5)})
    await rt.store.write(delivery_rows.count_deliveries, day, {})
    rows = await rt.store.read(delivery_rows.deliveries_by_domain, day, day, 100)
    counted = {r["domain"]: (r["delivered"], r["failed"]) for r in rows}
    assert counted == {**tally, "h1.example": (3, 6)}

    await rt.store.write(delivery_rows.record_failure, "down.example", "20260101", 1)
    await rt.store.write(delivery_rows.record_failure, "flaky.example", "20260101", 1)
    for n in range(7):  # failures on seven distinct days: unavailable
        await rt.store.write(delivery_rows.record_failure, "down.example", f"2026010{n + 1}", 1)
    asked = ["down.example", "flaky.example", "fine.example"]
    assert await rt.store.read(delivery_rows.health_among, asked) == (
        {"down.example"},
        {"down.example", "flaky.example"},
    )
    assert await rt.store.read(delivery_rows.health_among, []) == (set(), set())
