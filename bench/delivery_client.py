"""Benchmark: the deliveries' HTTP/1.1 client (keepalive.py) against h11 on a Trio stream.

Run: `python bench/delivery_client.py [--exchanges 20000] [--connections 16]`.

A receiver in its own process answers every POST on kept-alive connections with a small
202; each client sends the same signed-sized POST (4 KB body, the six headers a delivery
carries) over `--connections` connections at once. Only the client's CPU time is
counted (the receiver runs elsewhere), best of three rounds each, alternating. The last
line: `ratio delivery_client_vs_h11` (h11's CPU per exchange over ours: above 1 is
cheaper).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h11
import trio

from bench.support import REPO, free_port, ratio
from wildebeest_trio.keepalive import Connection

RECEIVER = r"""
import functools, sys, trio
ANSWER = (b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\n"
          b"Date: Mon, 07 Dec 2026 18:00:00 GMT\r\nContent-Length: 0\r\n\r\n")
async def handle(stream):
    buffer = b""
    try:
        while True:
            while b"\r\n\r\n" not in buffer:
                more = await stream.receive_some(65536)
                if not more:
                    return
                buffer += more
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(buffer) < length:
                buffer += await stream.receive_some(65536)
            buffer = buffer[length:]
            await stream.send_all(ANSWER)
    except trio.BrokenResourceError:
        pass
trio.run(functools.partial(trio.serve_tcp, handle, int(sys.argv[1]), host="127.0.0.1"))
"""

BODY = b"x" * 4000
HEADERS = [
    (b"Content-Type", b"application/activity+json"),
    (b"User-Agent", b"wildebeest-trio/bench"),
    (b"Host", b"peer.example"),
    (b"Date", b"Mon, 07 Dec 2026 18:00:00 GMT"),
    (b"Digest", b"SHA-256=" + b"a" * 44),
    (b"Signature", b"s" * 420),
]


class H11Connection:
    """The exchange as it was before keepalive.py wrote HTTP/1.1 itself: h11 on a stream."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)

    async def exchange(self, target: bytes, body: bytes) -> int:
        conn = self.h11
        request = h11.Request(
            method=b"POST",
            target=target,
            headers=[*HEADERS, (b"Content-Length", b"%d" % len(body))],
        )
        data = (conn.send(request) or b"") + (conn.send(h11.Data(data=body)) or b"")
        conn.send(h11.EndOfMessage())
        await self.stream.send_all(data)
        status = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
        conn.start_next_cycle()
        return status


async def _round(port: int, kind: str, exchanges: int, connections: int) -> float:
    """CPU seconds per exchange of one round."""
    each = exchanges // connections
    clients: list[Any] = []
    for _ in range(connections):
        if kind == "ours":
            clients.append(
                await Connection.open("127.0.0.1", port, ssl_context=None, server_hostname="x")
            )
        else:
            clients.append(H11Connection(await trio.open_tcp_stream("127.0.0.1", port)))

    async def send(client: Any) -> None:
        for _ in range(each):
            if kind == "ours":
                answer = await client.exchange(b"POST", b"/inbox", HEADERS, BODY)
                assert answer.status == 202
            else:
                assert await client.exchange(b"/inbox", BODY) == 202

    started = time.process_time()
    async with trio.open_nursery() as nursery:
        for client in clients:
            nursery.start_soon(send, client)
    spent = time.process_time() - started
    for client in clients:
        await (client.aclose() if kind == "ours" else client.stream.aclose())
    return spent / (each * connections)


def _wait_for(port: int, timeout: float = 60) -> None:
    """Until the receiver accepts connections (its start-up takes seconds when loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)], cwd=REPO)
    try:
        _wait_for(port)
        best = {"h11": float("inf"), "ours": float("inf")}
        for _ in range(3):
            for kind in best:
                cpu = trio.run(_round, port, kind, args.exchanges, args.connections)
                best[kind] = min(best[kind], cpu)
                print(f"{kind}: {cpu * 1e6:.0f} us of client CPU per exchange", flush=True)
        print(f"best: h11 {best['h11'] * 1e6:.0f} us, ours {best['ours'] * 1e6:.0f} us")
        ratio("delivery_client_vs_h11", best["h11"] / best["ours"])
    finally:
        receiver.kill()
        receiver.wait()


if __name__ == "__main__":
    main()
