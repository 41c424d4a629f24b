"""HTTP/1.1 exchanges over kept-alive connections, written and read by hand on Trio sockets.

The delivery path sends thousands of small POSTs to a few hundred hosts, and the
client's own cost per request decides how many the machine can send. Measured per
request on the shared two-core machine (4 KB POST, keep-alive, bench/README.md):
httpx with a pool per host 1.2 to 1.9 ms of CPU, httpcore's pool 0.8 to 1.0 ms, one
httpcore connection 0.4 to 0.6 ms, h11 (the HTTP/1.1 engine both of them use) on a
Trio stream 0.17 to 0.22 ms. A request here is one bytes join and an answer one
`find` for the end of its head: the few things a delivery needs of HTTP/1.1 (a status,
a header or two, a body framed by Content-Length, chunks or the connection's end,
interim 1xx answers skipped) with every size bounded. On plain TCP the socket is used
directly: a send that fits the kernel's buffer and an answer already waiting cost no
trip through Trio's scheduler (TLS goes through `trio.SSLStream`).

A `Connection` is one TCP (or TLS) connection to an address already checked by the
caller, carrying one exchange at a time and kept for the next while both sides allow it.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass

import trio

from .net import describe

#: Bytes of an answer kept; the rest is read (so the connection can be reused) and dropped.
ANSWER_LIMIT = 64 * 1024
#: Bytes read past ANSWER_LIMIT before the connection is given up instead.
DRAIN_LIMIT = 1024 * 1024
#: Bytes of an answer's head (status line and headers, with any interim 1xx answers), and
#: of one chunk-size line or the trailers of a chunked body.
HEAD_LIMIT = 64 * 1024
#: Interim (1xx) answers skipped before the final one.
INTERIM_LIMIT = 8
RECEIVE_SIZE = 65536


class ExchangeError(Exception):
    """The exchange failed (connection, TLS, protocol); the message is one line.

    `before_answer` is true when nothing of an answer had arrived: on a reused
    connection that is the server having closed it while idle, worth one retry.
    """

    def __init__(self, message: str, *, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


class _ProtocolError(Exception):
    """The peer broke HTTP/1.1 (or one of our bounds); the message says how."""


def header_bytes(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header (name, value) pairs as bytes, for `Connection.exchange`.

    Latin-1, as HTTP header fields are: whatever a peer gave us cannot fail to encode.
    """
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")
#: Header names already checked (a process sends a handful of distinct ones).
_checked_names: set[bytes] = set()


class LocalError(ValueError):
    """A request this client refuses to send: it would not be valid HTTP/1.1."""


def request_head(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], length: int
) -> bytes:
    """A request's head with its Content-Length, ending in the blank line.

    Refuses (`LocalError`) what would not be one request: a method or header name that is
    no token, a target with spaces or controls, a value holding CR, LF or NUL (an
    injected header or request), as h11 refused them."""
    if not _TOKEN.fullmatch(method) or not target or _BAD_TARGET.search(target):
        raise LocalError(f"bad request line {method!r} {target!r}")
    for name, _ in headers:
        if name not in _checked_names:
            if not _TOKEN.fullmatch(name):
                raise LocalError(f"bad header name {name!r}")
            if len(_checked_names) < 256:
                _checked_names.add(name)
    fields = b"\r\n".join([name + b": " + value.strip(b" \t") for name, value in headers])
    # The values are joined by exactly one CRLF each: any other CR, LF or NUL is in a value.
    breaks = len(headers) - 1 if headers else 0
    if fields.count(b"\n") != breaks or fields.count(b"\r") != breaks or b"\0" in fields:
        raise LocalError("bad header value: it holds CR, LF or NUL")
    head = b"%s %s HTTP/1.1\r\n" % (method, target)
    if fields:
        head += fields + b"\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % length


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


_HEAD_END = re.compile(rb"\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([0-9]{3})(?:[ \t][^\r\n]*)?")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")


class _Abandoned(Exception):
    """More than DRAIN_LIMIT bytes of body: the answer is cut short here."""


class Connection:
    """One kept-alive HTTP/1.1 connection; one exchange at a time."""

    def __init__(
        self, stream: trio.abc.Stream | None, sock: trio.socket.SocketType, raw: socket.socket
    ) -> None:
        #: TLS: the stream every byte goes through. Plain TCP: None, `raw` is used directly.
        self._stream = stream
        self._sock = sock
        #: The same socket as `sock` (non-blocking), for sends and receives that need no wait.
        self._raw = raw
        self._reusable = True
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
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        raw = socket.socket(family, socket.SOCK_STREAM)
        sock = trio.socket.from_stdlib_socket(raw)  # makes it non-blocking
        stream: trio.abc.Stream | None = None
        try:
            try:
                await sock.connect((address, port))
            except BaseException:
                sock.close()
                raise
            if ssl_context is None:
                # As trio.SocketStream does: small requests leave at once.
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            else:
                tls = trio.SSLStream(
                    trio.SocketStream(sock),
                    ssl_context,
                    server_hostname=server_hostname,
                    https_compatible=True,
                )
                try:
                    await tls.do_handshake()
                except BaseException:
                    await trio.aclose_forcefully(tls.transport_stream)
                    raise
                stream = tls
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise ExchangeError(
                f"cannot connect to {address}:{port}: {describe(exc)}", before_answer=True
            ) from None
        return cls(stream, sock, raw)

    @property
    def reusable(self) -> bool:
        """Whether the last exchange ended cleanly with the connection left open."""
        return self._reusable

    async def _send(self, data: bytes) -> None:
        if self._stream is not None:
            await self._stream.send_all(data)
            return
        raw = self._raw
        view = memoryview(data)
        while view:
            try:
                sent = raw.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(raw)
                continue
            view = view[sent:]

    async def _receive(self) -> bytes:
        """The next bytes the peer sent (b"" at its end), waiting for them if need be."""
        if self._stream is not None:
            return await self._stream.receive_some(RECEIVE_SIZE)
        raw = self._raw
        while True:
            try:
                return raw.recv(RECEIVE_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(raw)

    async def exchange(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """Send one request with a body and read the whole answer (its first 64 KiB kept).

        Header names and values are bytes, sent as given (a Content-Length is added)."""
        self._reusable = False
        answered = False
        try:
            # One write: head and body in the same segment (two would cost each side a
            # wake-up more per request).
            await self._send(request_head(method, target, headers, len(body)) + body)
            buffer = bytearray()
            for _ in range(INTERIM_LIMIT + 1):
                start = 0
                while (end := _HEAD_END.search(buffer, start)) is None:
                    if len(buffer) > HEAD_LIMIT:
                        raise _ProtocolError("the answer's head is too large")
                    start = max(0, len(buffer) - 2)
                    more = await self._receive()
                    if not more:
                        raise _ProtocolError("connection closed before an answer")
                    answered = True
                    buffer += more
                head = bytes(buffer[: end.start()])
                del buffer[: end.end()]
                status, fields, version = _parse_head(head)
                if status >= 200:
                    break
                if status == 101:
                    raise _ProtocolError("the server switched protocols")
            else:
                raise _ProtocolError("too many interim answers")
            answer, clean = await self._read_body(method, status, fields, version, buffer)
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError) as exc:
            await self.aclose()
            raise ExchangeError(describe(exc), before_answer=not answered) from None
        except (_ProtocolError, LocalError) as exc:
            await self.aclose()
            raise ExchangeError(str(exc), before_answer=not answered) from None
        self.exchanges += 1
        self.idle_since = time.monotonic()
        self._reusable = clean
        if not clean:
            await self.aclose()
        return answer

    async def _read_body(
        self,
        method: bytes,
        status: int,
        fields: list[tuple[bytes, bytes]],
        version: int,
        buffer: bytearray,
    ) -> tuple[Answer, bool]:
        """The answer with its body read after `buffer` (the bytes past the head), and
        whether the connection is left clean for another exchange."""
        length: int | None = None
        codings: list[bytes] = []
        close = version < 1  # h11 neither keeps an HTTP/1.0 server's connection
        for name, value in fields:
            if name == b"content-length":
                if not value.isdigit() or len(value) > 18:
                    raise _ProtocolError("bad Content-Length")
                if length is not None and int(value) != length:
                    raise _ProtocolError("conflicting Content-Length")
                length = int(value)
            elif name == b"transfer-encoding":
                codings += [c.strip().lower() for c in value.split(b",")]
            elif name == b"connection":
                if b"close" in (t.strip().lower() for t in value.split(b",")):
                    close = True
        kept = bytearray()
        clean = not close
        try:
            if method == b"HEAD" or status in (204, 304):
                pass
            elif codings and codings[-1] == b"chunked":
                await self._read_chunked(buffer, kept)
            elif length is not None and not codings:
                await self._read_length(buffer, kept, length)
            else:  # framed by the connection's end
                await self._read_to_end(buffer, kept)
                clean = False
            # Bytes past the answer are no answer to anything we asked: give the connection up.
            clean = clean and not buffer
        except _Abandoned:
            clean = False  # not worth reading on: the connection ends here
        return Answer(status, fields, bytes(kept)), clean

    @staticmethod
    def _take(kept: bytearray, piece: bytes | bytearray, seen: int) -> int:
        if len(kept) < ANSWER_LIMIT:
            kept += piece[: ANSWER_LIMIT - len(kept)]
        seen += len(piece)
        if seen > DRAIN_LIMIT:
            raise _Abandoned
        return seen

    async def _more(self, buffer: bytearray, what: str) -> None:
        more = await self._receive()
        if not more:
            raise _ProtocolError(f"connection closed inside {what}")
        buffer += more

    async def _read_length(self, buffer: bytearray, kept: bytearray, length: int) -> int:
        seen = 0
        while True:
            piece = buffer[:length]
            del buffer[:length]
            seen = self._take(kept, piece, seen)
            length -= len(piece)
            if not length:
                return seen
            await self._more(buffer, "an answer")

    async def _read_to_end(self, buffer: bytearray, kept: bytearray) -> int:
        seen = self._take(kept, buffer, 0)
        buffer.clear()
        while more := await self._receive():
            seen = self._take(kept, more, seen)
        return seen

    async def _line(self, buffer: bytearray) -> bytes:
        """The next line of a chunked body (without its end), within HEAD_LIMIT."""
        while (end := buffer.find(b"\n")) < 0:
            if len(buffer) > HEAD_LIMIT:
                raise _ProtocolError("a chunked body's line is too long")
            await self._more(buffer, "a chunked answer")
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        return line.rstrip(b"\r")

    async def _read_chunked(self, buffer: bytearray, kept: bytearray) -> int:
        seen = 0
        while True:
            text = (await self._line(buffer)).split(b";", 1)[0].strip(b" \t")
            if not _CHUNK_SIZE.fullmatch(text):
                raise _ProtocolError("bad chunk size")
            size = int(text, 16)
            if not size:
                break
            while size:
                if not buffer:
                    await self._more(buffer, "a chunk")
                piece = buffer[:size]
                del buffer[:size]
                seen = self._take(kept, piece, seen)
                size -= len(piece)
            if await self._line(buffer):
                raise _ProtocolError("a chunk runs past its size")
        trailers = 0
        while line := await self._line(buffer):  # trailers, dropped
            trailers += len(line)
            if trailers > HEAD_LIMIT:
                raise _ProtocolError("too many trailers")
        return seen

    async def aclose(self) -> None:
        if self._stream is not None:
            await trio.aclose_forcefully(self._stream)
        self._sock.close()
        self._reusable = False


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], int]:
    """An answer's head: (status, header fields with lower-case names, minor version)."""
    lines = head.split(b"\n")
    status_line = _STATUS_LINE.fullmatch(lines[0].rstrip(b"\r"))
    if status_line is None:
        raise _ProtocolError("malformed status line")
    fields: list[tuple[bytes, bytes]] = []
    for raw_line in lines[1:]:
        line = raw_line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):  # an obsolete folded continuation
            if not fields:
                raise _ProtocolError("malformed header")
            name, value = fields[-1]
            fields[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise _ProtocolError("malformed header")
        fields.append((name.lower(), value.strip(b" \t")))
    return int(status_line[2]), fields, int(status_line[1])
