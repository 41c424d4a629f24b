"""The HTTP server's connections: the keep-alive timer (http/connections.py) closes what
Hypercorn's own idle task closes, when it does; and a GET without a body, answered in one
task (http/asgi_http.py), gets the same answer as through quart-trio's two tasks.

The keep-alive tests run Hypercorn with each connection class on Trio's virtual clock
(autojump: time moves on whenever every task waits), so they wait for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio import serve as hypercorn_serve
from hypercorn.trio.tcp_server import TCPServer as HypercornTCPServer

from tests.test_http_keepalive import Connection, _connect
from wildebeest_trio.http import connections
from wildebeest_trio.runtime import Runtime

KEEP_ALIVE = 5.0
SLOW = 3 * KEEP_ALIVE  # what /slow takes to answer: longer than the keep-alive time
# More than a socket's buffers take at once: written in parts as the client reads.
BIG = bytes(range(256)) * 32768


async def _app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Any]],
    send: Callable[[Any], Awaitable[None]],
) -> None:
    """ASGI: `/slow` answers after `SLOW` seconds, `/big` with `BIG`, anything else at once."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"] == "/slow":
        await trio.sleep(SLOW)
    body = BIG if scope["path"] == "/big" else b"ok"
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=["hypercorn", "ours"])
async def server(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    nursery: trio.Nursery,
) -> AsyncIterator[tuple[int, trio.Event]]:
    """Hypercorn serving `_app` with the connections of Hypercorn or of http/connections.py
    (every test passes with both: the same behaviour): its port and its shutdown trigger."""
    chosen = connections.TCPServer if request.param == "ours" else HypercornTCPServer
    monkeypatch.setattr(hypercorn_run, "TCPServer", chosen)
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.keep_alive_timeout = KEEP_ALIVE
    config.graceful_timeout = 60.0
    shutdown = trio.Event()
    binds = await nursery.start(
        lambda task_status: hypercorn_serve(  # type: ignore[call-arg]
            _app, config, shutdown_trigger=shutdown.wait, task_status=task_status
        )
    )
    yield int(binds[0].rsplit(":", 1)[1]), shutdown
    shutdown.set()


async def _open(port: int) -> Connection:
    return Connection(await trio.open_tcp_stream("127.0.0.1", port))


async def _get(connection: Connection, path: str = "/", wait: float = 2 * SLOW) -> None:
    await connection.send("GET", path)
    answer = await connection.answer(wait)
    assert (answer.status, answer.body) == (200, b"ok")


async def _closed_after(connection: Connection) -> float:
    """Seconds (virtual) until the server closes the connection."""
    start = trio.current_time()
    with trio.fail_after(10 * KEEP_ALIVE):
        try:
            while await connection._fill():
                pass
        except trio.BrokenResourceError:  # reset: closed too
            pass
    return trio.current_time() - start


# What a connection is sent before it is left idle: a pause is the virtual seconds slept.
SEQUENCES = {
    "nothing": [],
    "one request": ["/"],
    # Pauses under the keep-alive time, far more than it in all: the timer starts again.
    "again and again": ["/", KEEP_ALIVE * 0.8] * 8 + ["/"],
    # A request longer than the keep-alive time is answered, on a connection still open.
    "a slow request": ["/slow", "/"],
}


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
async def test_an_idle_connection_is_closed_after_the_keep_alive_time(
    autojump_clock: Any, server: tuple[int, trio.Event], sequence: list[str | float]
) -> None:
    connection = await _open(server[0])
    for step in sequence:
        if isinstance(step, str):
            await _get(connection, step)
        else:
            await trio.sleep(step)
    assert KEEP_ALIVE <= await _closed_after(connection) < KEEP_ALIVE + 1


async def test_on_shutdown_idle_connections_close_at_once_busy_ones_after_their_answer(
    autojump_clock: Any, server: tuple[int, trio.Event]
) -> None:
    port, shutdown = server
    idle, busy = await _open(port), await _open(port)
    await _get(idle)
    await busy.send("GET", "/slow")
    await trio.sleep(1)  # the slow request is being served
    shutdown.set()
    assert await _closed_after(idle) < 1
    answer = await busy.answer(2 * SLOW)
    assert (answer.status, answer.body) == (200, b"ok")
    assert await _closed_after(busy) < 1


async def test_an_answer_larger_than_the_socket_takes_arrives_whole(
    server: tuple[int, trio.Event],
) -> None:
    # On the real clock: the kernel's time to move megabytes is not virtual.
    slow_reader, gone = await _open(server[0]), await _open(server[0])
    await gone.send("GET", "/big")
    await gone.stream.aclose()  # leaves while its answer is being written
    await slow_reader.send("GET", "/big")
    await trio.sleep(0.2)  # the server fills the socket and waits (or has not yet: no matter)
    answer = await slow_reader.answer(60)
    assert (answer.status, answer.body == BIG) == (200, True)
    await _get(slow_reader)  # the same connection, still in step


def _comparable(headers: dict[str, str]) -> dict[str, str]:
    # What differs from one request to the next whatever the path: the time, the request's
    # id and a page's fresh CSRF cookie.
    return {k: v for k, v in headers.items() if k not in ("date", "x-request-id", "set-cookie")}


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/nothing_here", "/about", "/nope"])
async def test_a_get_without_a_body_gets_the_answer_of_one_with_an_empty_body(
    rt: Runtime, live_server: str, path: str
) -> None:
    # `Content-Length: 0` declares a body, so that request takes quart-trio's two tasks.
    connection = await _connect(rt)
    await connection.send("GET", path)
    direct = await connection.answer()
    await connection.send("GET", path, length=0)
    two_tasks = await connection.answer()
    assert direct.status == two_tasks.status
    assert direct.body == two_tasks.body
    assert _comparable(direct.headers) == _comparable(two_tasks.headers)
    await connection.still_serves()


async def test_head_answers_the_headers_of_get_without_the_body(
    rt: Runtime, live_server: str
) -> None:
    connection = await _connect(rt)
    await connection.send("GET", "/api/v1/instance")
    get = await connection.answer()
    await connection.send("HEAD", "/api/v1/instance")
    with trio.fail_after(2):
        while b"\r\n\r\n" not in connection.buffer:
            assert await connection._fill()
    head, _, rest = connection.buffer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert rest == b""
    assert f"content-length: {len(get.body)}".encode() in head.lower()
    connection.buffer = b""
    await connection.still_serves()
