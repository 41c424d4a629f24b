"""Live fan-out: time from the POST that creates a status to the `update` event at each
follower's stream, with 1,000 WebSocket streams (and some SSE streams) on one process.

One author, N local followers, each follower with its own token and its own stream
(`user`). Two phases on the same connections:

- latency: the author posts one status at a time and waits until every stream has its
  event; each (stream, status) pair is one sample of POST-start to event-received time;
- throughput: the author posts back to back; statuses posted per second (first POST
  sent to last POST answered) against events delivered per second (first POST sent to
  the last stream's last event). `ratio stream_fanout_vs_post` is the second over the
  first: N when fan-out keeps pace with posting, less when streams fall behind.

With `--postgres` the same runs against PostgreSQL with two server processes: streams
on the first, POSTs to the second (events cross through LISTEN/NOTIFY).

    .venv/bin/python bench/streaming.py [--streams 1000] [--sse 200] [--posts 10]
                                        [--burst 20] [--postgres]

The streams are read by this one Python process, which shares the machine's cores with
the server: the figures include the client's own cost of reading 1,000 sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import os
import secrets
import select
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson
import trio

from bench.support import cpu_split, free_port, postgres, ratio, wildebeest_server
from wildebeest_trio import urls
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.ids import now_ms
from wildebeest_trio.services.tokens import hash_token
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import follows as follow_rows
from wildebeest_trio.store import oauth as oauth_rows
from wildebeest_trio.store import users as user_rows

SCOPES = "read write follow"


async def seed(database_url: str, data_dir: Path, followers: int) -> tuple[str, list[str]]:
    """An author and `followers` local accounts following it, each with a token; the
    tokens (author's first). Written straight to the database: key pairs are skipped
    (nothing here federates) so that seeding takes seconds, not minutes."""
    config = load_config(
        env={},
        overrides={
            "data_dir": str(data_dir),
            "database_url": database_url,
            "listen": f"127.0.0.1:{free_port()}",
        },
    )
    tokens = [secrets.token_urlsafe(32) for _ in range(followers + 1)]
    async with open_server_runtime(config) as rt:

        async def unit(conn: Connection) -> None:
            now = now_ms()
            app_id = rt.ids.next_id()
            await oauth_rows.insert_application(
                conn,
                app_id=app_id,
                name="bench",
                website=None,
                redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                scopes=SCOPES,
                client_id=secrets.token_urlsafe(16),
                client_secret=secrets.token_urlsafe(16),
                owner_account_id=None,
                now=now,
            )
            ids = []
            for i, token in enumerate(tokens):
                name = "author" if i == 0 else f"reader{i}"
                account_id = rt.ids.next_id()
                ids.append(account_id)
                await account_rows.insert_account(
                    conn,
                    {
                        "id": account_id,
                        "username": name,
                        "domain": None,
                        **urls.local_actor_urls(config, name),
                        "actor_type": "Person",
                        "display_name": name,
                        "note": "",
                        "locked": False,
                        "bot": False,
                        "discoverable": True,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
                await user_rows.insert_user(
                    conn,
                    {
                        "id": rt.ids.next_id(),
                        "account_id": account_id,
                        "email": f"{name}@bench.example",
                        "password_hash": None,
                        "role": "user",
                        "confirmed_at": now,
                        "approved": True,
                        "sign_up_reason": "",
                        "locale": "en",
                        "created_at": now,
                    },
                )
                await oauth_rows.insert_token(
                    conn,
                    token_id=rt.ids.next_id(),
                    application_id=app_id,
                    account_id=account_id,
                    token_hash=hash_token(token),
                    scopes=SCOPES,
                    now=now,
                )
            for follower in ids[1:]:
                await follow_rows.insert_follow(
                    conn,
                    {
                        "id": rt.ids.next_id(),
                        "account_id": follower,
                        "target_account_id": ids[0],
                        "show_reblogs": True,
                        "notify": False,
                        "created_at": now,
                    },
                )

        await rt.store.write(unit)
    return tokens[0], tokens[1:]


class Streams:
    """Arrival times of `update` events, per status id, over all open streams."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.ready = 0
        self.errors = 0

    def record(self, status_id: str) -> None:
        self.arrivals.setdefault(status_id, []).append(time.perf_counter())


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frames(buffer: bytearray) -> Iterator[tuple[int, bytes]]:
    """Take the whole frames (opcode, payload) off the front of `buffer`; a server's
    frames are never masked."""
    while len(buffer) >= 2:
        length, start = buffer[1] & 0x7F, 2
        if buffer[1] & 0x80:
            raise RuntimeError("the server masked a frame")
        if length == 126:
            length, start = int.from_bytes(buffer[2:4]), 4
        elif length == 127:
            length, start = int.from_bytes(buffer[2:10]), 10
        if len(buffer) < start + length:
            return
        opcode = buffer[0] & 0x0F
        if not buffer[0] & 0x80:
            raise RuntimeError("fragmented message")  # never sent by this server
        payload = bytes(buffer[start : start + length])
        del buffer[: start + length]
        yield opcode, payload


class FrameReader:
    """Reads every WebSocket stream's frames in one thread, off epoll.

    A thousand streams share this process and its two cores with the server: with
    trio-websocket (two tasks, a channel and wsproto's parsing per message) the reader
    cost three times the server's CPU per event and set the pace, and one Trio task per
    bare socket still cost about 50 us per event. Here one thread waits on all the sockets
    at once, takes whatever has arrived on each, and parses unmasked server frames: what
    the benchmark needs and no more.
    """

    def __init__(self, streams: Streams) -> None:
        self.streams = streams
        self.poll = select.epoll()
        self.sockets: dict[int, tuple[socket.socket, bytearray]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, sock: socket.socket, buffer: bytearray) -> None:
        """Take over a connected stream (and what was read past its handshake)."""
        sock.setblocking(False)
        self.sockets[sock.fileno()] = (sock, buffer)
        self.poll.register(sock.fileno(), select.EPOLLIN)
        self._frames(sock, buffer)

    def _run(self) -> None:
        while not self.stopping.is_set():
            for fd, _ in self.poll.poll(0.1):
                sock, buffer = self.sockets[fd]
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.poll.unregister(fd)
                    self.streams.errors += 1
                    continue
                buffer += data
                self._frames(sock, buffer)

    def _frames(self, sock: socket.socket, buffer: bytearray) -> None:
        for opcode, payload in ws_frames(buffer):
            if opcode == 1:
                message = orjson.loads(payload)
                if message.get("event") == "update":
                    self.streams.record(orjson.loads(message["payload"])["id"])
            elif opcode == 9:  # ping: a pong, masked (all zero mask) as clients must
                sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + bytes(4) + payload)
            elif opcode == 8:
                self.streams.errors += 1

    async def __aenter__(self) -> FrameReader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stopping.set()
        await trio.to_thread.run_sync(self.thread.join)
        for sock, _ in self.sockets.values():
            sock.close()
        self.poll.close()


async def websocket_handshake(
    base: str,
    token: str,
    streams: Streams,
    reader: FrameReader,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open one `user` stream over a WebSocket and hand its socket to `reader`."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    key = base64.b64encode(secrets.token_bytes(16))
    request = (
        f"GET /api/v1/streaming?access_token={token}&stream=user HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    sock = trio.socket.socket()
    try:
        await sock.connect((host, int(port)))
        await sock.send(request.encode())
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:
            data = await sock.recv(65536)
            if not data:
                raise RuntimeError("closed during the handshake")
            buffer += data
    except BaseException:
        sock.close()
        streams.errors += 1
        raise
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101 ") or accept not in head:
        sock.close()
        streams.errors += 1
        raise RuntimeError(f"handshake refused: {head[:200]!r}")
    reader.add(socket.socket(fileno=sock.detach()), bytearray(rest))
    streams.ready += 1
    task_status.started()


async def sse_reader(
    client: httpx.AsyncClient,
    token: str,
    streams: Streams,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", "/api/v1/streaming/user", headers=headers) as response:
        assert response.status_code == 200
        event = None
        started = False
        async for line in response.aiter_lines():
            if not started:
                started = True
                streams.ready += 1
                task_status.started()
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "update":
                streams.record(orjson.loads(line[6:])["id"])


def cpu_used(pids: list[int]) -> tuple[float, float]:
    """User and system CPU time of several processes together."""
    times = [cpu_split(pid) for pid in pids]
    return sum(t[0] for t in times), sum(t[1] for t in times)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def post(client: httpx.AsyncClient, token: str, text: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/statuses",
        headers={"Authorization": f"Bearer {token}"},
        json={"status": text},
    )
    assert response.status_code == 200, response.text
    return response.json()["id"], started


async def wait_for(streams: Streams, status_ids: list[str], count: int, limit: float) -> bool:
    with trio.move_on_after(limit):
        while any(len(streams.arrivals.get(s, ())) < count for s in status_ids):
            await trio.sleep(0.005)
        return True
    return False


async def run_phase(
    label: str,
    stream_base: str,
    post_base: str,
    author: str,
    tokens: list[str],
    *,
    kind: str,
    posts: int,
    burst: int,
    server_pids: list[int],
) -> dict[str, float]:
    """Open the streams, measure latency (one post at a time) and throughput (a burst)."""
    streams = Streams()
    limits = httpx.Limits(
        max_connections=len(tokens) + 10, max_keepalive_connections=len(tokens) + 10
    )
    async with (
        httpx.AsyncClient(base_url=post_base, timeout=60) as poster,
        httpx.AsyncClient(base_url=stream_base, timeout=None, limits=limits) as sse_client,
        FrameReader(streams) as reader,
        trio.open_nursery() as nursery,
    ):
        opened = time.perf_counter()
        for token in tokens:
            if kind == "websocket":
                await nursery.start(websocket_handshake, stream_base, token, streams, reader)
            else:
                await nursery.start(sse_reader, sse_client, token, streams)
        print(f"{label}: {len(tokens)} {kind} streams open in {time.perf_counter() - opened:.1f} s")
        await trio.sleep(1.0)  # the last subscriptions are registered after the handshake
        await post(poster, author, "warm-up")
        await trio.sleep(0.5)

        latencies: list[float] = []
        slowest: list[float] = []  # each status's last event, to tell a slow status from a tail
        lost = 0
        server_before, client_before = cpu_used(server_pids), cpu_used([os.getpid()])
        for i in range(posts):
            status_id, started = await post(poster, author, f"latency {i} {uuid.uuid4()}")
            await wait_for(streams, [status_id], len(tokens), 30)
            arrived = streams.arrivals.get(status_id, [])
            lost += len(tokens) - len(arrived)
            latencies += [t - started for t in arrived]
            slowest.append(max(arrived, default=started) - started)
            await trio.sleep(0.2)
        server_after, client_after = cpu_used(server_pids), cpu_used([os.getpid()])
        server_user, server_sys = (b - a for a, b in zip(server_before, server_after, strict=True))
        client_user, client_sys = (b - a for a, b in zip(client_before, client_after, strict=True))
        server_cpu = server_user + server_sys
        p50 = percentile(latencies, 0.50) * 1000
        p99 = percentile(latencies, 0.99) * 1000
        print(
            f"{label}: POST to event over {len(latencies)} events ({lost} lost): "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        print(
            f"{label}: last event of each status (ms): "
            + " ".join(f"{t * 1000:.0f}" for t in slowest)
        )
        print(
            f"{label}: CPU per status: server {server_cpu / posts * 1000:.0f} ms "
            f"({server_cpu / posts / len(tokens) * 1e6:.0f} us per event; user "
            f"{server_user / posts * 1000:.0f} ms, system {server_sys / posts * 1000:.0f} ms), "
            f"client {(client_user + client_sys) / posts * 1000:.0f} ms (user "
            f"{client_user / posts * 1000:.0f} ms, system {client_sys / posts * 1000:.0f} ms)"
        )

        burst_start = time.perf_counter()
        posted: list[str] = []
        for i in range(burst):
            status_id, _ = await post(poster, author, f"burst {i}")
            posted.append(status_id)
        posts_done = time.perf_counter()
        await wait_for(streams, posted, len(tokens), 60)
        arrivals = [t for s in posted for t in streams.arrivals.get(s, [])]
        last_event = max(arrivals, default=posts_done)
        nursery.cancel_scope.cancel()

    burst_lost = burst * len(tokens) - len(arrivals)
    post_rate = burst / (posts_done - burst_start)
    event_rate = len(arrivals) / (last_event - burst_start)
    print(
        f"{label}: burst of {burst}: {post_rate:.1f} statuses/s posted, "
        f"{event_rate:.0f} events/s delivered ({burst_lost} of {burst * len(tokens)} lost)"
    )
    return {"p50": p50, "p99": p99, "post_rate": post_rate, "event_rate": event_rate}


@contextlib.contextmanager
def servers(data_dir: Path, database_url: str, count: int) -> Iterator[list[tuple[str, int]]]:
    settings = {"WB_DATABASE_URL": database_url, "WB_RATE_LIMITS": "false"}
    with contextlib.ExitStack() as stack:
        bases = []
        for i in range(count):
            folder = data_dir / f"server{i}"
            folder.mkdir(exist_ok=True)
            base, proc = stack.enter_context(wildebeest_server(folder, **settings))
            bases.append((base, proc.pid))
        yield bases


async def main_async(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        url = f"sqlite:///{data / 'bench.db'}"
        author, tokens = await seed(url, data / "seed", args.streams)
        with servers(data, url, 1) as [(base, pid)]:
            results["ws_sqlite"] = await run_phase(
                "sqlite ws",
                base,
                base,
                author,
                tokens,
                kind="websocket",
                posts=args.posts,
                burst=args.burst,
                server_pids=[pid],
            )
            if args.sse:
                results["sse_sqlite"] = await run_phase(
                    "sqlite sse",
                    base,
                    base,
                    author,
                    tokens[: args.sse],
                    kind="sse",
                    posts=args.posts,
                    burst=args.burst,
                    server_pids=[pid],
                )
    if args.postgres:
        with postgres() as pg_base, tempfile.TemporaryDirectory() as tmp:
            import asyncpg

            name = f"bench_stream_{uuid.uuid4().hex[:8]}"

            async def admin(sql: str) -> None:
                conn = await asyncpg.connect(pg_base)
                try:
                    await conn.execute(sql)
                finally:
                    await conn.close()

            await trio.to_thread.run_sync(lambda: asyncio.run(admin(f"CREATE DATABASE {name}")))
            url = pg_base.rsplit("/", 1)[0] + f"/{name}"
            try:
                author, tokens = await seed(url, Path(tmp) / "seed", args.streams)
                with servers(Path(tmp), url, 2) as [(first, pid1), (second, pid2)]:
                    results["ws_postgres"] = await run_phase(
                        "postgres ws, posted through a second process",
                        first,
                        second,
                        author,
                        tokens,
                        kind="websocket",
                        posts=args.posts,
                        burst=args.burst,
                        server_pids=[pid1, pid2],
                    )
            finally:
                await trio.to_thread.run_sync(
                    lambda: asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                )
    ws = results["ws_sqlite"]
    print(f"target: p99 under 100 ms; sqlite websocket p99 {ws['p99']:.1f} ms")
    if "ws_postgres" in results:
        pg = results["ws_postgres"]
        ratio("stream_fanout_vs_post_postgres", pg["event_rate"] / pg["post_rate"])
    ratio("stream_fanout_vs_post", ws["event_rate"] / ws["post_rate"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--sse", type=int, default=200, help="SSE streams (0: none)")
    parser.add_argument("--posts", type=int, default=10, help="statuses timed one by one")
    parser.add_argument("--burst", type=int, default=20, help="statuses posted back to back")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    trio.run(main_async, args)


if __name__ == "__main__":
    main()
