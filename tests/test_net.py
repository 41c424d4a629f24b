"""safe_get: the one way to fetch what another server names, within every limit."""

from __future__ import annotations

from functools import partial

import pytest
import trio

from tests.conftest import free_port, loopback_outbound
from tests.fakes.remote import AP, RemoteServer
from wildebeest_trio.breakers import Breakers
from wildebeest_trio.net import FetchError, Outbound, is_public_address, safe_get

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
    ],
)
def test_address_classes(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.fixture
def origin(remote: RemoteServer) -> str:
    """A server with a document, a large body, redirects to the document and a slow answer;
    its origin."""
    remote.put_file(f"{remote.base}/doc", '{"ok": true}', AP)
    remote.put_file(f"{remote.base}/big", "x" * 5000, "text/plain")
    for n in range(4):
        target = "/doc" if n == 0 else f"/hop/{n - 1}"
        remote.answer(f"{remote.base}/hop/{n}", 302, headers={"Location": target})
    remote.put_file(f"{remote.base}/slow", "late", "text/plain")
    remote.answer(f"{remote.base}/slow", delay=30)
    return remote.base


@pytest.fixture
def outbound() -> Outbound:
    return loopback_outbound()


async def test_private_addresses_refused_unless_allowed(origin: str, outbound: Outbound) -> None:
    with pytest.raises(FetchError, match="private or loopback"):
        await safe_get(f"{origin}/doc", outbound=loopback_outbound(allow_private=False))
    fetched = await safe_get(f"{origin}/doc", outbound=outbound)
    assert fetched.status == 200 and fetched.body == b'{"ok": true}'
    assert fetched.headers["content-type"] == "application/activity+json"


async def test_redirects_are_counted_checked_and_signed(origin: str, outbound: Outbound) -> None:
    signed: list[str] = []

    def sign(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        signed.append(url)
        return {"Signature": f"for {url}"}

    fetched = await safe_get(f"{origin}/hop/2", outbound=outbound, sign=sign)
    assert fetched.url == f"{origin}/doc"
    assert signed == [f"{origin}/hop/2", f"{origin}/hop/1", f"{origin}/hop/0", f"{origin}/doc"]
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await safe_get(f"{origin}/hop/3", outbound=outbound)
    with pytest.raises(FetchError, match="not followed"):
        await safe_get(f"{origin}/hop/0", outbound=outbound, max_redirects=0)


async def test_size_and_time_limits(origin: str, outbound: Outbound) -> None:
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        await safe_get(f"{origin}/big", outbound=outbound, max_bytes=1000)
    with pytest.raises(FetchError, match=r"no answer within 0\.3s"):
        await safe_get(f"{origin}/slow", outbound=outbound, time_limit=0.3)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://x/", "http:///nohost", "ftp://127.0.0.1/"]
)
async def test_only_http_urls(url: str, outbound: Outbound) -> None:
    with pytest.raises(FetchError):
        await safe_get(url, outbound=outbound)


async def test_unreachable_is_a_fetch_error(outbound: Outbound) -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await safe_get(f"http://127.0.0.1:{free_port()}/x", outbound=outbound, time_limit=5)


async def test_public_addresses_refused_outside_the_allow_list(outbound: Outbound) -> None:
    # WB_OUTBOUND_ALLOW=127.0.0.0/8,::1/128 as in every test: a public address is refused
    # before any connection (the conftest guard would fail the test on a connect to it).
    for url in ("http://93.184.216.34/", "https://[2606:4700::1111]/x"):
        with pytest.raises(FetchError, match="outside WB_OUTBOUND_ALLOW"):
            await safe_get(url, outbound=outbound)
    # A name is refused too: the system's DNS servers are not on loopback, so not asked.
    with pytest.raises(FetchError, match="no DNS server may be asked"):
        await safe_get("https://example.org/", outbound=outbound)


async def test_redirects_out_of_the_allow_list_are_refused(
    remote: RemoteServer, outbound: Outbound
) -> None:
    remote.answer(f"{remote.base}/away", 302, headers={"Location": "http://93.184.216.34/x"})
    with pytest.raises(FetchError, match="outside WB_OUTBOUND_ALLOW"):
        await safe_get(f"{remote.base}/away", outbound=outbound)


async def test_a_failing_host_is_left_alone_for_a_while(origin: str) -> None:
    outbound = loopback_outbound(fetch_breakers=Breakers(threshold=3, cool_off=60))
    dead = f"http://127.0.0.1:{free_port()}"
    for _ in range(3):
        with pytest.raises(FetchError, match="cannot connect"):
            await safe_get(f"{dead}/x", outbound=outbound)
    with pytest.raises(FetchError, match="keeps failing; not contacted for another 60s"):
        await safe_get(f"{dead}/x", outbound=outbound)
    # Other hosts are not affected, and an answer closes a host's breaker.
    assert (await safe_get(f"{origin}/doc", outbound=outbound)).status == 200
    for _ in range(2):
        with pytest.raises(FetchError):
            await safe_get(f"{origin.replace('127.0.0.1', '127.0.0.2')}/x", outbound=outbound)
    assert outbound.fetch_breakers.open_for(origin.split("//")[1]) == 0


async def test_concurrent_fetches_per_host_are_bounded(remote: RemoteServer) -> None:
    remote.put_file(f"{remote.base}/wait", "ok", "text/plain")
    remote.answer(f"{remote.base}/wait", delay=0.2)
    outbound = loopback_outbound(fetch_per_host=2)
    async with trio.open_nursery() as fetches:
        for _ in range(8):
            fetches.start_soon(partial(safe_get, f"{remote.base}/wait", outbound=outbound))
    assert remote.most_at_once == 2
    assert len(outbound.fetch_limits) == 0  # nothing kept for a host no longer fetched from
