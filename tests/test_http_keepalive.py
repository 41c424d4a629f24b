"""Keep-alive connections after a POST refused before its body was read (live server).

Each refusal is sent on a raw socket with its body either in the same write as the head or
a moment after it (the case that hung: the answer left before the body arrived), then the
same connection must answer the next request at once, or have said `Connection: close` and
closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.oauth_flow import app_only_token
from tests.social import make_user, token_with
from wildebeest_trio.config import Config
from wildebeest_trio.runtime import Runtime

IMAGE_LIMIT = 1024 * 1024
VIDEO_LIMIT = 3 * 1024 * 1024
BODY_LIMIT = IMAGE_LIMIT + 1024 * 1024  # the application's MAX_CONTENT_LENGTH
MEDIA_BODY_LIMIT = VIDEO_LIMIT + 1024 * 1024  # an upload's: the largest video and the form
WAIT = 2.0  # an answer on a local connection takes milliseconds; a hang takes forever


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # Rate limits on and loopback not exempt, for the 429; small uploads, for the 413.
    return make_config(
        tmp_path,
        database_url,
        rate_limits=True,
        media_max_image_bytes=IMAGE_LIMIT,
        media_max_video_bytes=VIDEO_LIMIT,
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One HTTP/1.1 connection, written and read by hand."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        token: str | None = None,
        content_type: str = "application/json",
        length: int | None = None,
        pause: bool = False,
    ) -> None:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body or length is not None:
            head.append(f"Content-Type: {content_type}")
            head.append(f"Content-Length: {len(body) if length is None else length}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode()
        if pause:
            await self.stream.send_all(raw)
            await trio.sleep(0.05)
            await self.stream.send_all(body)
        else:
            await self.stream.send_all(raw + body)

    async def _fill(self) -> bool:
        data = await self.stream.receive_some(65536)
        self.buffer += data
        return bool(data)

    async def answer(self, wait: float = WAIT) -> Answer:
        """The next response, within `wait` seconds."""
        with trio.fail_after(wait):
            while b"\r\n\r\n" not in self.buffer:
                assert await self._fill(), "connection closed before an answer"
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                assert await self._fill(), "connection closed inside an answer"
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(lines[0].split()[1]), headers, body)

    async def closed(self) -> bool:
        """Whether the server closes the connection within `WAIT` seconds."""
        with trio.move_on_after(WAIT):
            try:
                while await self._fill():
                    pass
            except trio.BrokenResourceError:  # reset: closed too
                pass
            return True
        return False

    async def still_serves(self) -> None:
        """The same connection answers another request."""
        await self.send("GET", "/api/v1/instance")
        answer = await self.answer()
        assert answer.status == 200


async def _connect(rt: Runtime) -> Connection:
    host, port = rt.config.listen.rsplit(":", 1)
    return Connection(await trio.open_tcp_stream(host, int(port)))


def _json_body(size: int) -> bytes:
    return b'{"status": "' + b"x" * size + b'"}'


async def test_refused_posts_leave_the_connection_usable(
    rt: Runtime, client: Any, live_server: str
) -> None:
    alice = await make_user(rt, client, "alice")
    read_only = await token_with(client, alice, "read")
    app_token = await app_only_token(client)
    refusals = [
        # (path, token, expected status)
        ("/api/v1/statuses", "not-a-token", 401),
        ("/api/v1/accounts", alice.token, 403),  # a user token cannot sign up
        ("/api/v1/statuses", read_only, 403),
        ("/api/v1/no-such-endpoint", alice.token, 404),
        ("/api/v1/statuses", app_token, 422),  # an app token where a user is needed
    ]
    connection = await _connect(rt)
    for size in (100, 200_000, IMAGE_LIMIT + 512 * 1024):
        for path, token, expected in refusals:
            for pause in (False, True):
                await connection.send("POST", path, _json_body(size), token=token, pause=pause)
                answer = await connection.answer()
                assert answer.status == expected, (path, size, pause, answer)
                assert answer.headers.get("connection") != "close"
                await connection.still_serves()
    # A JSON body larger than the API reads (1 MB) is a 413 once read.
    await connection.send("POST", "/api/v1/statuses", _json_body(1_100_000), token=alice.token)
    assert (await connection.answer()).status == 413
    await connection.still_serves()
    await connection.stream.aclose()


async def test_rate_limited_sign_up_leaves_the_connection_usable(
    rt: Runtime, client: Any, live_server: str
) -> None:
    app_token = await app_only_token(client)
    connection = await _connect(rt)
    statuses = []
    for _ in range(7):
        body = b'{"username": "x", "email": "bad", "password": "p", "agreement": true}'
        await connection.send("POST", "/api/v1/accounts", body, token=app_token, pause=True)
        answer = await connection.answer()
        statuses.append(answer.status)
        await connection.still_serves()
    # Five sign-ups per address per half hour (Mastodon's limit); then 429 before the body.
    assert statuses[5:] == [429, 429], statuses
    await connection.stream.aclose()


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/api/v2/media", "multipart/form-data; boundary=b", MEDIA_BODY_LIMIT),
        ("/api/v1/statuses", "application/json", BODY_LIMIT),
    ],
)
async def test_body_beyond_the_limit_closes_the_connection(
    rt: Runtime, client: Any, live_server: str, path: str, content_type: str, limit: int
) -> None:
    """A declared body larger than the server accepts is not read: the answer says
    `Connection: close` and the connection is closed (the next request goes elsewhere)."""
    alice = await make_user(rt, client, "alice")
    for token, expected in ((alice.token, 413), ("not-a-token", 401)):
        connection = await _connect(rt)
        await connection.send(
            "POST",
            path,
            b"x" * 65536,
            token=token,
            length=limit + 1,
            content_type=content_type,
        )
        answer = await connection.answer()
        assert answer.status == expected, answer
        assert answer.headers.get("connection") == "close"
        assert await connection.closed()
        await connection.stream.aclose()
    fresh = await _connect(rt)
    await fresh.still_serves()
    await fresh.stream.aclose()


async def test_gets_with_and_without_a_body_leave_the_connection_usable(
    rt: Runtime, live_server: str
) -> None:
    """A request that declares no body has nothing left to read; one that declares a body
    (a length, or chunks) and is refused before it was read is drained as a POST is."""
    connection = await _connect(rt)
    for _ in range(3):
        await connection.still_serves()
    for pause in (False, True):
        await connection.send(
            "GET", "/api/v1/accounts/verify_credentials", b"x" * 5000, token="nope", pause=pause
        )
        answer = await connection.answer()
        assert answer.status == 401 and answer.headers.get("connection") != "close"
        await connection.still_serves()
    chunked = (
        b"GET /api/v1/accounts/verify_credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer nope\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    await connection.stream.send_all(chunked)
    await trio.sleep(0.05)
    await connection.stream.send_all(b"5\r\nhello\r\n0\r\n\r\n")
    answer = await connection.answer()
    assert answer.status == 401 and answer.headers.get("connection") != "close"
    await connection.still_serves()
    await connection.stream.aclose()


@pytest.mark.parametrize("path", ["/api/v1/media", "/api/v2/media"])
async def test_an_upload_may_be_as_large_as_a_video(
    rt: Runtime, client: Any, live_server: str, path: str
) -> None:
    """An upload past the image limit but within the video limit reaches the route, which
    judges the file (here: not a video), instead of a 413 for the whole request."""
    alice = await make_user(rt, client, "alice")
    part = b"\0" * (IMAGE_LIMIT + 1024 * 1024 + 4096)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n" + part + b"\r\n--b--\r\n"
    )
    connection = await _connect(rt)
    await connection.send(
        "POST", path, body, token=alice.token, content_type="multipart/form-data; boundary=b"
    )
    # Seventeen megabytes spooled and parsed: seconds on a loaded machine, not milliseconds.
    answer = await connection.answer(wait=30.0)
    assert answer.status == 422, answer
    assert b"error" in answer.body
    await connection.still_serves()
    await connection.stream.aclose()
