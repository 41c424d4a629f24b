"""Name look-ups: no threads, bounded in time and in number, cached both ways, and only
ever asked of DNS servers the outbound policy allows."""

from __future__ import annotations

import pytest
import trio

from tests.conftest import loopback_outbound
from tests.fakes.dns import BlackHole, Zone
from wildebeest_trio.net import FetchError
from wildebeest_trio.resolver import ResolveError, Resolver, read_hosts

pytest_plugins = ("tests.fakes.fixtures",)


def _resolver(*servers: tuple[str, int], **options: object) -> Resolver:
    return Resolver(servers=list(servers), hosts={"localhost": ("127.0.0.1",)}, **options)  # type: ignore[arg-type]


async def test_literals_and_the_hosts_file_need_no_dns(zone: Zone) -> None:
    resolver = _resolver(zone.address)
    assert await resolver.lookup("127.0.0.1") == ["127.0.0.1"]
    assert await resolver.lookup("[::1]") == ["::1"]
    assert await resolver.lookup("LocalHost.") == ["127.0.0.1"]
    assert zone.queries == []


def test_hosts_file_reading(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "hosts"
    path.write_text(
        "# comment\n127.0.0.1 localhost vm\n::1 localhost ip6-localhost # trailing\n"
        "not-an-address name\n10.0.0.7\tdb.internal  DB\n"
    )
    assert read_hosts(path) == {
        "localhost": ("127.0.0.1", "::1"),
        "vm": ("127.0.0.1",),
        "ip6-localhost": ("::1",),
        "db.internal": ("10.0.0.7",),
        "db": ("10.0.0.7",),
    }
    assert read_hosts(Path(str(tmp_path)) / "missing") == {}


async def test_answers_ipv4_first_and_cached(zone: Zone) -> None:
    zone.names["dual.test"] = ["2001:db8::5", "198.51.100.5"]
    resolver = _resolver(zone.address)
    assert await resolver.lookup("dual.test") == ["198.51.100.5", "2001:db8::5"]
    assert sorted(zone.queries) == [("dual.test", "A"), ("dual.test", "AAAA")]
    assert await resolver.lookup("DUAL.test.") == ["198.51.100.5", "2001:db8::5"]
    assert len(zone.queries) == 2


async def test_unknown_names_are_refused_and_remembered(zone: Zone) -> None:
    resolver = _resolver(zone.address)
    with pytest.raises(ResolveError, match=r"nowhere\.test: no such host"):
        await resolver.lookup("nowhere.test")
    asked = len(zone.queries)
    with pytest.raises(ResolveError, match="no such host"):
        await resolver.lookup("nowhere.test")
    assert len(zone.queries) == asked


async def test_concurrent_look_ups_of_one_name_share_one_query(zone: Zone) -> None:
    zone.names["busy.test"] = ["198.51.100.7"]
    resolver = _resolver(zone.address)
    results: list[list[str]] = []

    async def look() -> None:
        results.append(await resolver.lookup("busy.test"))

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(look)
    assert results == [["198.51.100.7"]] * 10
    assert len(zone.queries) == 2


async def test_a_silent_server_costs_at_most_the_timeout(black_hole: BlackHole) -> None:
    resolver = _resolver(black_hole.address, timeout=0.5)
    started = trio.current_time()
    with pytest.raises(ResolveError, match=r"no DNS answer within 0\.5s"):
        await resolver.lookup("h1.blackhole.test")
    assert trio.current_time() - started < 1.5
    assert black_hole.queries >= 2  # A and AAAA, asked at once
    # The failure is remembered: no second wait.
    asked = black_hole.queries
    with trio.fail_after(0.2):
        with pytest.raises(ResolveError, match="no DNS answer"):
            await resolver.lookup("h1.blackhole.test")
    assert black_hole.queries == asked


async def test_look_ups_in_flight_are_bounded(black_hole: BlackHole) -> None:
    resolver = _resolver(black_hole.address, timeout=0.5, max_concurrent=2)
    errors: list[str] = []

    async def look(n: int) -> None:
        try:
            await resolver.lookup(f"h{n}.blackhole.test")
        except ResolveError as exc:
            errors.append(str(exc))

    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        for n in range(6):
            nursery.start_soon(look, n)
    # Two look-ups ran (A and AAAA each); the rest gave up when the deadline came.
    assert trio.current_time() - started < 1.5
    assert black_hole.queries <= 4
    assert sum("no DNS answer" in e for e in errors) == 2
    assert sum("too many look-ups" in e for e in errors) == 4


async def test_the_cache_is_bounded(zone: Zone) -> None:
    for n in range(5):
        zone.names[f"n{n}.test"] = [f"198.51.100.{n + 1}"]
    resolver = _resolver(zone.address, cache_size=3)
    for n in range(5):
        await resolver.lookup(f"n{n}.test")
    assert len(resolver._cache) == 3
    asked = len(zone.queries)
    await resolver.lookup("n0.test")  # fell out: asked again
    assert len(zone.queries) == asked + 2


async def test_servers_outside_the_allow_list_are_never_asked(zone: Zone) -> None:
    # The tests' guard (conftest) would fail this test if a query went to 192.0.2.53.
    outbound = loopback_outbound(dns_servers=[("192.0.2.53", 53)])
    with pytest.raises(FetchError, match=r"no DNS server may be asked.*192\.0\.2\.53"):
        await outbound.addresses("example.org")
    # A loopback server is asked; the address it gives is checked like any other.
    zone.names["far.test"] = ["93.184.216.34"]
    zone.names["near.test"] = ["127.0.0.5"]
    outbound = loopback_outbound(dns_servers=[zone.address])
    assert await outbound.addresses("near.test") == ["127.0.0.5"]
    with pytest.raises(FetchError, match=r"far\.test has an address outside WB_OUTBOUND_ALLOW"):
        await outbound.addresses("far.test")
