"""CPU time per accepted inbox delivery in-process, against a bare hello route's.

Both applications are called straight through ASGI in this one process (no sockets, no
Hypercorn: what is left is the application's own work, the SQLite threads included), with
20 concurrent callers, rounds alternating: the server's application (its middlewares, the
inbox route, signature checks and the durable store of each activity with its job; no
job workers or inbox consumers run) takes signed `Create(Note)` deliveries from 100 keys
fetched in an untimed warm-up, and the baseline is `bench/hello_app.py`'s QuartTrio hello
route. The process's CPU time (every thread) per request is measured, which a loaded
machine disturbs far less than a rate.

    .venv/bin/python bench/inbox_cpu.py [--activities 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hello_app import app as hello_app
from bench.inbox import actor_server, signed_batch
from bench.support import LOOPBACK_ONLY, ratio
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.http import create_app
from wildebeest_trio.signatures import PrivateKey

App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
BASE = "http://127.0.0.1:3000"  # the instance's public origin, as the senders sign it


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 3000),
        "extensions": {},
    }


def _request(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """A raw HTTP/1.1 request (as `bench/inbox.py` signs them) as an ASGI scope and body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].decode().split(" ")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b": ")
        headers.append((name.lower(), value))
    return _scope(method, path, headers), body


async def call(app: App, scope: dict[str, Any], body: bytes) -> int:
    """One request through the application; its status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await trio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif status >= 400 and message.get("body"):
            print(status, message["body"][:300], file=sys.stderr)

    await app(scope, receive, send)
    return status


async def run(app: App, requests: list[tuple[dict[str, Any], bytes]], concurrency: int) -> float:
    """Every request once over `concurrency` callers; the process CPU seconds spent."""
    next_index = 0
    failed: list[int] = []

    async def caller() -> None:
        nonlocal next_index
        while next_index < len(requests):
            scope, body = requests[next_index]
            next_index += 1
            status = await call(app, dict(scope), body)
            if not 200 <= status < 300:
                failed.append(status)

    started = time.process_time()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(caller)
    spent = time.process_time() - started
    assert not failed, failed[:10]
    return spent


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, actor_server(args.keys) as actors:
        config = load_config(
            env={
                "WB_ALLOW_PRIVATE_ADDRESSES": "1",
                "WB_OUTBOUND_ALLOW": LOOPBACK_ONLY,
                "WB_LISTEN": "127.0.0.1:3000",
                "WB_LOG_LEVEL": "warning",
                "WB_INBOX_CONSUMERS": "0",
            },
            overrides={
                "data_dir": tmp,
                "database_url": f"sqlite:///{Path(tmp) / 'wildebeest.db'}",
            },
        )
        async with open_server_runtime(config) as rt:
            await ensure_instance_actor(rt)  # it signs the key fetches
            app = create_app(rt)
            keys = [(actor, PrivateKey.from_pem(pem)) for actor, pem in actors.keys]
            warm = signed_batch(BASE, keys, len(keys), "warm")
            for raw in warm:  # every key fetched once, not timed
                status = await call(app, *_request(raw))
                assert status == 202, status
            hello = [(_scope("GET", "/", [(b"host", b"127.0.0.1")]), b"")] * args.activities
            ours, base = [], []
            for r in range(args.rounds):
                batch = signed_batch(BASE, keys, args.activities, f"r{r}")
                signed = [_request(raw) for raw in batch]
                base.append(await run(hello_app, hello, args.connections) / args.activities)
                ours.append(await run(app, signed, args.connections) / args.activities)
                print(
                    f"round {r + 1}: inbox {ours[-1] * 1e6:7.0f} µs CPU a delivery, "
                    f"hello {base[-1] * 1e6:6.0f} µs a request"
                )
            inbox_cpu, hello_cpu = statistics.median(ours), statistics.median(base)
            print(f"median: inbox {inbox_cpu * 1e6:.0f} µs, hello {hello_cpu * 1e6:.0f} µs")
            ratio("inbox_cpu_vs_hello_in_process", hello_cpu / inbox_cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=3000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    trio.run(main_async, parser.parse_args())


if __name__ == "__main__":
    main()
