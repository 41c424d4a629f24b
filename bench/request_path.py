"""CPU time per request of the application's request path, in process, against a bare
QuartTrio hello: no Hypercorn, no sockets, so what differs is what the app adds.

Each application is driven as an ASGI callable (the scope Hypercorn builds, a `receive`
that hands over an empty body, a `send` that drops the response), many requests in a row
in one Trio run; the figure is `time.process_time()` per request, best of the rounds
(the machine is shared: CPU time is what the neighbours disturb least). The server's data
is seeded first (SQLite in a temporary folder): 40 public posts of one account and a
browser session.

    .venv/bin/python bench/request_path.py [--requests 2000] [--rounds 5] [--profile PATH]

`--profile PATH` adds a cProfile (CPU clock) of that path's rounds, sorted by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hello_app import app as hello_app
from bench.pages import seed

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def scope_for(target: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope Hypercorn's HTTP/1.1 path builds for a GET from a loopback client."""
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "http_version": "1.1",
        "asgi": {"spec_version": "2.1", "version": "3.0"},
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"user-agent", b"wrk"),
            (b"accept", b"*/*"),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "extensions": {},
    }


async def one(app: Asgi, template: dict[str, Any]) -> int:
    """One request through `app`; its status."""
    done = trio.Event()
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(dict(template), receive, send)
    return status


async def rounds(app: Asgi, target: str, cookie: str, requests: int, count: int) -> list[float]:
    """CPU µs per request of each round of `requests` requests."""
    headers = [(b"cookie", cookie.encode())] if cookie else []
    template = scope_for(target, headers)
    status = await one(app, template)
    if status >= 500:
        raise SystemExit(f"{target} answered {status}")
    figures = []
    for _ in range(count):
        start = time.process_time()
        for _ in range(requests):
            await one(app, template)
        figures.append((time.process_time() - start) / requests * 1e6)
    return figures


async def measure(data: Path, args: argparse.Namespace, root: int, token: str) -> None:
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.http.app import create_app

    config = load_config(env={"WB_DATA_DIR": str(data), "WB_RATE_LIMIT_EXEMPT_LOOPBACK": "true"})
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        await app.startup()
        ours: Asgi = app.asgi_app
        await hello_app.startup()
        hello: Asgi = hello_app.asgi_app
        cookie = f"wb_session={token}"
        paths: dict[str, tuple[Asgi, str, str]] = {
            "hello": (hello, "/", ""),
            "health": (ours, "/health", ""),
            "instance": (ours, "/api/v1/instance", ""),
            "404": (ours, "/api/v1/nothing_here", ""),
            "public": (ours, "/api/v1/timelines/public?limit=20", ""),
            "profile_page": (ours, "/@alice", ""),
            "status_page": (ours, f"/@alice/{root}", ""),
            "web_home": (ours, "/home", cookie),
        }
        for name, (asgi, target, sent) in paths.items():
            if name not in args.only.split(","):
                continue
            many = args.requests if name in ("hello", "health", "instance", "404") else 200
            profiler = cProfile.Profile(time.process_time) if args.profile == name else None
            if profiler:
                profiler.enable()
            figures = await rounds(asgi, target, sent, many, args.rounds)
            if profiler:
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(45)
                if args.callers:
                    stats.print_callers(args.callers)
                stats.sort_stats("cumulative").print_stats(60)
            shown = " ".join(f"{f:.0f}" for f in figures)
            print(f"{name:13s} {target:38s} best {min(figures):7.0f} µs CPU/request ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", default="")
    parser.add_argument("--callers", default="")
    parser.add_argument(
        "--only", default="hello,health,instance,404,public,profile_page,status_page,web_home"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        root, token = trio.run(seed, data)
        trio.run(measure, data, args, root, token)


if __name__ == "__main__":
    main()
