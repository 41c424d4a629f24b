"""safe_get: the one way to fetch what another server names, within every limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

from tests.conftest import free_port
from wildebeest_trio.net import FetchError, is_public_address, safe_get


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
async def origin(nursery: trio.Nursery) -> AsyncIterator[str]:
    app = QuartTrio("origin")
    seen: list[dict[str, str]] = []
    app.config["seen"] = seen

    @app.route("/doc")
    async def doc() -> Response:
        seen.append(dict(request.headers))
        return Response('{"ok": true}', content_type="application/activity+json")

    @app.route("/big")
    async def big() -> Response:
        return Response("x" * 5000)

    @app.route("/hop/<int:n>")
    async def hop(n: int) -> Response:
        seen.append(dict(request.headers))
        target = "/doc" if n == 0 else f"/hop/{n - 1}"
        return Response("", status=302, headers={"Location": target})

    @app.route("/slow")
    async def slow() -> Response:
        await trio.sleep(30)
        return Response("late")

    config = HypercornConfig()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    await nursery.start(serve, app, config)
    yield f"http://127.0.0.1:{port}"


async def test_private_addresses_refused_unless_allowed(origin: str) -> None:
    with pytest.raises(FetchError, match="private or loopback"):
        await safe_get(f"{origin}/doc")
    fetched = await safe_get(f"{origin}/doc", allow_private=True)
    assert fetched.status == 200 and fetched.body == b'{"ok": true}'
    assert fetched.headers["content-type"] == "application/activity+json"


async def test_redirects_are_counted_checked_and_signed(origin: str) -> None:
    signed: list[str] = []

    def sign(method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        signed.append(url)
        return {"Signature": f"for {url}"}

    fetched = await safe_get(f"{origin}/hop/2", allow_private=True, sign=sign)
    assert fetched.url == f"{origin}/doc"
    assert signed == [f"{origin}/hop/2", f"{origin}/hop/1", f"{origin}/hop/0", f"{origin}/doc"]
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await safe_get(f"{origin}/hop/3", allow_private=True)
    with pytest.raises(FetchError, match="not followed"):
        await safe_get(f"{origin}/hop/0", allow_private=True, max_redirects=0)


async def test_size_and_time_limits(origin: str) -> None:
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        await safe_get(f"{origin}/big", allow_private=True, max_bytes=1000)
    with pytest.raises(FetchError, match=r"no answer within 0\.3s"):
        await safe_get(f"{origin}/slow", allow_private=True, time_limit=0.3)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://x/", "http:///nohost", "ftp://127.0.0.1/"]
)
async def test_only_http_urls(url: str) -> None:
    with pytest.raises(FetchError):
        await safe_get(url, allow_private=True)


async def test_unreachable_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await safe_get(f"http://127.0.0.1:{free_port()}/x", allow_private=True, time_limit=5)
