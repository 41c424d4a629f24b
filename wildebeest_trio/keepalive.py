"""HTTP/1.1 exchanges over kept-alive connections: h11 driven directly on Trio streams.

The delivery path sends thousands of small POSTs to a few hundred hosts, and the
client's own cost per request decides how many the machine can send. Measured per
request on the shared two-core machine (4 KB POST, keep-alive, bench/README.md):
httpx with a pool per host 1.2 to 1.9 ms of CPU, httpcore's pool 0.8 to 1.0 ms, one
httpcore connection 0.4 to 0.6 ms, h11 (the HTTP/1.1 engine both of them use) on a
Trio stream 0.17 to 0.22 ms. So deliveries speak h11 themselves: a `Connection` is
one TCP (or TLS) connection to an address already checked by the caller, carrying
one exchange at a time and kept for the next while both sides allow it.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass

import h11
import trio

from .net import describe

#: Bytes of an answer kept; the rest is read (so the connection can be reused) and dropped.
ANSWER_LIMIT = 64 * 1024
#: Bytes read past ANSWER_LIMIT before the connection is given up instead.
DRAIN_LIMIT = 1024 * 1024


class ExchangeError(Exception):
    """The exchange failed (connection, TLS, protocol); the message is one line.

    `before_answer` is true when nothing of an answer had arrived: on a reused
    connection that is the server having closed it while idle, worth one retry.
    """

    def __init__(self, message: str, *, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


def header_bytes(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header (name, value) pairs as bytes, for `Connection.exchange`.

    Latin-1, as HTTP header fields are: whatever a peer gave us cannot fail to encode.
    """
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


@dataclass
class Answer:
    """A server's answer: status, headers (lower-case names) and the start of the body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key == wanted:
                return value.decode("latin-1")
        return None


class Connection:
    """One kept-alive HTTP/1.1 connection; one exchange at a time."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        self._h11 = h11.Connection(h11.CLIENT)
        self.exchanges = 0
        self.idle_since = time.monotonic()

    @classmethod
    async def open(
        cls,
        address: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        server_hostname: str,
    ) -> Connection:
        """Connect to `address` (already checked); TLS names `server_hostname`."""
        # The address is already resolved and checked: connect to it directly (open_tcp_stream
        # would look it up again and race candidates, costing more than the connect).
        family = trio.socket.AF_INET6 if ":" in address else trio.socket.AF_INET
        sock = trio.socket.socket(family, trio.socket.SOCK_STREAM)
        try:
            try:
                await sock.connect((address, port))
            except BaseException:
                sock.close()
                raise
            stream: trio.abc.Stream = trio.SocketStream(sock)
            if ssl_context is not None:
                tls = trio.SSLStream(
                    stream, ssl_context, server_hostname=server_hostname, https_compatible=True
                )
                try:
                    await tls.do_handshake()
                except BaseException:
                    await trio.aclose_forcefully(stream)
                    raise
                stream = tls
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise ExchangeError(
                f"cannot connect to {address}:{port}: {describe(exc)}", before_answer=True
            ) from None
        return cls(stream)

    @property
    def reusable(self) -> bool:
        """Whether the last exchange ended cleanly with the connection left open."""
        return self._h11.our_state is h11.IDLE and self._h11.their_state is h11.IDLE

    async def exchange(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """Send one request with a body and read the whole answer (its first 64 KiB kept).

        Header names and values are bytes (h11 takes them faster than text)."""
        conn = self._h11
        answered = False
        try:
            request = h11.Request(
                method=method,
                target=target,
                headers=[*headers, (b"Content-Length", b"%d" % len(body))],
            )
            # One write: headers and body in the same segment (two would cost each side a
            # wake-up more per request).
            data = (conn.send(request) or b"") + (conn.send(h11.Data(data=body)) or b"")
            conn.send(h11.EndOfMessage())
            await self._stream.send_all(data)
            status = 0
            answer_headers: list[tuple[bytes, bytes]] = []
            kept = bytearray()
            seen = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await self._stream.receive_some(65536))
                    continue
                kind = type(event)
                if kind is h11.Response:
                    answered = True
                    status = event.status_code  # type: ignore[union-attr]
                    answer_headers = list(event.headers)  # type: ignore[union-attr]
                elif kind is h11.Data:
                    chunk = event.data  # type: ignore[union-attr]
                    seen += len(chunk)
                    if len(kept) < ANSWER_LIMIT:
                        kept += chunk[: ANSWER_LIMIT - len(kept)]
                    if seen > DRAIN_LIMIT:
                        await self.aclose()  # not worth reading on: the connection ends here
                        break
                elif kind is h11.EndOfMessage:
                    break
                elif kind is h11.ConnectionClosed:
                    raise h11.RemoteProtocolError("connection closed before an answer")
                # InformationalResponse (100 Continue...): keep reading.
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError) as exc:
            await self.aclose()
            raise ExchangeError(describe(exc), before_answer=not answered) from None
        except h11.ProtocolError as exc:
            await self.aclose()
            raise ExchangeError(describe(exc), before_answer=not answered) from None
        self.exchanges += 1
        self.idle_since = time.monotonic()
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        return Answer(status, answer_headers, bytes(kept))

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)
