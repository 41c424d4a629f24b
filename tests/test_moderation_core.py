"""The shared moderation core: domain blocks that cover subdomains, and report rows."""

from __future__ import annotations

import pytest

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.domain_blocks import (
    InvalidDomainBlock,
    block_domain,
    unblock_domain,
)
from wildebeest_trio.store import Connection
from wildebeest_trio.store import reports as report_rows
from wildebeest_trio.store.domain_blocks import block_for, is_suspended


async def test_a_block_covers_subdomains_and_the_nearest_block_wins(rt: Runtime) -> None:
    async def unit(conn: Connection) -> list[object]:
        await block_domain(conn, rt.ids, "Example.COM.", severity="suspend")
        await block_domain(conn, rt.ids, "ok.example.com", severity="noop", reject_media=True)
        return [
            await is_suspended(conn, "example.com"),
            await is_suspended(conn, "social.example.com:8443"),
            (await block_for(conn, "a.ok.example.com"))["severity"],
            await block_for(conn, "example.org"),
            await block_for(conn, None),
            await unblock_domain(conn, "example.com"),
            await is_suspended(conn, "social.example.com"),
        ]

    assert await rt.store.write(unit) == [True, True, "noop", None, None, True, False]


async def test_bad_domains_and_severities_are_refused(rt: Runtime) -> None:
    for domain, severity in (
        ("https://x.org", "silence"),
        ("a..b", "silence"),
        ("not a domain!", "silence"),
        ("x.org", "ban"),
    ):

        async def unit(conn: Connection, d: str = domain, s: str = severity) -> None:
            await block_domain(conn, rt.ids, d, severity=s)

        with pytest.raises(InvalidDomainBlock):
            await rt.store.write(unit)


async def test_reports_round_trip_and_resolve_once(rt: Runtime) -> None:
    ann = await create_local_account(rt, "ann", "ann@example.org", password="pw-long-enough")
    bob = await create_local_account(rt, "bob", "bob@example.org", password="pw-long-enough")
    report_id = rt.ids.next_id()

    async def unit(conn: Connection) -> list[object]:
        row = await report_rows.insert(
            conn,
            {
                "id": report_id,
                "account_id": ann.account_id,
                "target_account_id": bob.account_id,
                "status_ids": ["12", 13],
                "category": "spam",
                "comment": "spam",
                "now": now_ms(),
            },
        )
        open_before = [r["id"] for r in await report_rows.listing(conn, resolved=False)]
        first = await report_rows.resolve(conn, report_id, ann.account_id, now_ms())
        second = await report_rows.resolve(conn, report_id, ann.account_id, now_ms())
        return [row["status_ids"], open_before, first, second]

    assert await rt.store.write(unit) == [[12, 13], [report_id], True, False]
