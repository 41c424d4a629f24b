"""The deliveries' HTTP/1.1 client (keepalive.py) against scripted servers on 127.0.0.1:
how each kind of answer is read, when a connection is kept, and what it refuses."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import pytest
import trio

from wildebeest_trio.keepalive import ANSWER_LIMIT, DRAIN_LIMIT, Connection, ExchangeError

Script = Callable[[trio.SocketStream, bytes], Awaitable[None]]
HEADERS = [(b"Host", b"peer.example"), (b"Content-Type", b"application/activity+json")]


async def _request(stream: trio.SocketStream, buffer: bytearray) -> bytes:
    """One whole request (head and Content-Length body) from the stream."""
    while b"\r\n\r\n" not in buffer:
        more = await stream.receive_some(65536)
        if not more:
            raise EOFError
        buffer += more
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(buffer) < end + length:
        buffer += await stream.receive_some(65536)
    request = bytes(buffer[: end + length])
    del buffer[: end + length]
    return request


async def _serve(nursery: trio.Nursery, *answers: bytes | Script) -> tuple[int, list[bytes]]:
    """A server answering each request on a connection with the next of `answers`
    (bytes to send, or a script given the stream and the request); the port and the
    requests it received."""
    received: list[bytes] = []

    async def handle(stream: trio.SocketStream) -> None:
        buffer = bytearray()
        try:
            for answer in answers:
                request = await _request(stream, buffer)
                received.append(request)
                if isinstance(answer, bytes):
                    await stream.send_all(answer)
                else:
                    await answer(stream, request)
            await stream.receive_some(1)  # the client's close
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    serve = functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1")
    [listener] = await nursery.start(serve)
    return listener.socket.getsockname()[1], received


async def _connect(port: int) -> Connection:
    return await Connection.open("127.0.0.1", port, ssl_context=None, server_hostname="peer")


async def test_a_request_is_sent_whole_and_the_connection_kept(nursery: trio.Nursery) -> None:
    ok = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nX-Thing: a\r\n\r\nok"
    port, received = await _serve(nursery, ok, ok)
    connection = await _connect(port)
    for n in range(2):
        answer = await connection.exchange(b"POST", b"/inbox?x=1", HEADERS, b'{"n":%d}' % n)
        assert (answer.status, answer.body, answer.header("X-Thing")) == (202, b"ok", "a")
        assert connection.reusable
    assert received[1] == (
        b"POST /inbox?x=1 HTTP/1.1\r\nHost: peer.example\r\n"
        b"Content-Type: application/activity+json\r\nContent-Length: 7\r\n\r\n"
        b'{"n":1}'
    )
    assert connection.exchanges == 2
    await connection.aclose()


async def test_chunked_answers_interim_answers_and_folded_headers(nursery: trio.Nursery) -> None:
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-Long: one\r\n two\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n"
    )

    async def in_pieces(stream: trio.SocketStream, request: bytes) -> None:
        await stream.send_all(chunked)
        await trio.sleep(0.01)
        await stream.send_all(b"5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n")

    port, _ = await _serve(nursery, in_pieces, b"HTTP/1.1 204 No Content\r\n\r\n")
    connection = await _connect(port)
    answer = await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert (answer.status, answer.body, answer.header("x-long")) == (200, b"hello world", "one two")
    assert connection.reusable
    answer = await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert (answer.status, answer.body, connection.reusable) == (204, b"", True)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\n\r\nok",  # framed by the connection's end
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",  # more than asked
    ],
)
async def test_answers_that_end_the_connection(nursery: trio.Nursery, answer: bytes) -> None:
    async def then_close(stream: trio.SocketStream, request: bytes) -> None:
        await stream.send_all(answer)
        if b"Content-Length" not in answer:
            await stream.aclose()

    port, _ = await _serve(nursery, then_close)
    connection = await _connect(port)
    got = await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert (got.status, got.body, connection.reusable) == (200, b"ok", False)


async def test_a_large_body_is_kept_in_part_and_a_huge_one_abandoned(
    nursery: trio.Nursery,
) -> None:
    large = b"x" * (ANSWER_LIMIT + 10)
    huge = DRAIN_LIMIT + 100_000
    port, _ = await _serve(
        nursery,
        b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(large), large),
        b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (huge, b"y" * huge),
    )
    connection = await _connect(port)
    answer = await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert (answer.status, len(answer.body), connection.reusable) == (500, ANSWER_LIMIT, True)
    answer = await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert (answer.status, len(answer.body), connection.reusable) == (500, ANSWER_LIMIT, False)


@pytest.mark.parametrize(
    ("answer", "message", "before_answer"),
    [
        (b"", "closed before an answer", True),
        (b"HTTP/1.1 200 OK\r\n", "closed before an answer", False),
        (b"SMTP ready\r\n\r\n", "malformed status line", False),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "malformed header", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "bad Content-Length", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", "inside an answer", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size", False),
        (b"HTTP/1.1 101 Switching\r\n\r\n", "switched protocols", False),
        (b"HTTP/1.1 200 OK\r\nX: " + b"v" * (70 * 1024), "head is too large", False),
    ],
)
async def test_broken_answers_fail_the_exchange(
    nursery: trio.Nursery, answer: bytes, message: str, before_answer: bool
) -> None:
    async def then_close(stream: trio.SocketStream, request: bytes) -> None:
        await stream.send_all(answer)
        await stream.aclose()

    port, _ = await _serve(nursery, then_close)
    connection = await _connect(port)
    with pytest.raises(ExchangeError, match=message) as caught:
        await connection.exchange(b"POST", b"/inbox", HEADERS, b"{}")
    assert caught.value.before_answer is before_answer
    assert not connection.reusable


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        (b"/inbox HTTP/1.1\r\nX: y", HEADERS),
        (b"/inbox", [*HEADERS, (b"X-Sync", b"a\r\nInjected: yes")]),
        (b"/inbox", [*HEADERS, (b"X-Sync", b"a\nb")]),
        (b"/inbox", [*HEADERS, (b"Bad Name", b"a")]),
    ],
)
async def test_requests_that_would_split_are_refused(
    nursery: trio.Nursery, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    port, received = await _serve(nursery, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    connection = await _connect(port)
    with pytest.raises(ExchangeError, match="bad"):
        await connection.exchange(b"POST", target, headers, b"{}")
    assert received == []
