"""Signed `Create(Note)` deliveries to the shared inbox: accepted against the bare hello
route, and applied against accepted.

20 concurrent senders (keep-alive connections) POST 5,000 distinct activities, each with its
own fresh draft-cavage signature, from 100 remote actors (100 keys) whose documents a
small HTTP server in this process serves. The server verifies every signature (keys
fetched once, in a warm-up that is not timed) and stores each activity with its inbox
job before answering 202; the delivery process `serve` starts on the core its one web
process leaves free applies them meanwhile (the serving process's own CPU is printed
apart from its children's). The baseline is the
same load generator (raw HTTP/1.1 over 20 keep-alive connections, in this process)
sending as many GETs to a bare QuartTrio hello route, in the same run.

Two headline figures: `inbox_vs_hello` (POSTs accepted per second over hello's rate) and
`inbox_applied_vs_accepted` (activities applied per second, from the first POST of a
round to the moment no inbox job is left, over that round's accept rate). The server's
CPU time per activity (its process and any worker processes) is printed beside them.
With `--worker-processes N` the serving process only accepts (`WB_INBOX_CONSUMERS=0`)
and the N `wildebeest-trio worker` processes apply, as Sidekiq applies what Puma accepts.

    .venv/bin/python bench/inbox.py [--activities 5000] [--keys 100] [--rounds 2]
                                    [--worker-processes N] [--postgres]

SQLite by default; `--postgres` uses WB_TEST_DATABASE_URL
or a throwaway cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    cpu_seconds,
    free_port,
    hello_server,
    postgres,
    ratio,
    tree_cpu_seconds,
    wildebeest_server,
    wildebeest_workers,
)
from wildebeest_trio.config import load_config
from wildebeest_trio.signatures import PrivateKey, generate_rsa_keypair, sign_many, sign_request
from wildebeest_trio.store import open_store

AS = "https://www.w3.org/ns/activitystreams"


class Actors:
    """Remote actors with their keys, served as ActivityStreams documents."""

    def __init__(self, count: int, port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.keys: list[tuple[str, str]] = []  # (actor uri, private PEM)
        self.documents: dict[str, bytes] = {}
        for i in range(count):
            private_pem, public_pem = generate_rsa_keypair()
            uri = f"{self.origin}/users/u{i}"
            self.keys.append((uri, private_pem))
            self.documents[f"/users/u{i}"] = json.dumps(
                {
                    "@context": [AS, "https://w3id.org/security/v1"],
                    "id": uri,
                    "type": "Person",
                    "preferredUsername": f"u{i}",
                    "inbox": f"{uri}/inbox",
                    "followers": f"{uri}/followers",
                    "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
                    "publicKey": {
                        "id": f"{uri}#main-key",
                        "owner": uri,
                        "publicKeyPem": public_pem,
                    },
                }
            ).encode()


@contextlib.contextmanager
def actor_server(actors_count: int) -> Iterator[Actors]:
    port = free_port()
    actors = Actors(actors_count, port)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = actors.documents.get(self.path.split("#", 1)[0])
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/activity+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield actors
    finally:
        server.shutdown()


def create_note(actor: str, n: int, tag: str) -> dict[str, Any]:
    """A Mastodon-style Create(Note), about 1.5 KB."""
    note_id = f"{actor}/statuses/{tag}{n}"
    return {
        "@context": [AS, {"sensitive": "as:sensitive", "Hashtag": "as:Hashtag"}],
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": "2026-11-27T03:00:00Z",
        "to": [f"{AS}#Public"],
        "cc": [f"{actor}/followers"],
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": None,
            "inReplyTo": None,
            "published": "2026-11-27T03:00:00Z",
            "url": note_id,
            "attributedTo": actor,
            "to": [f"{AS}#Public"],
            "cc": [f"{actor}/followers"],
            "sensitive": False,
            "content": f"<p>Benchmark post number {n}, with a "
            '<a href="https://example.com/tags/bench" class="mention hashtag" rel="tag">'
            "#<span>bench</span></a> tag and some words to make it the size of a toot.</p>",
            "contentMap": {"en": f"<p>Benchmark post number {n}</p>"},
            "attachment": [],
            "tag": [
                {"type": "Hashtag", "href": "https://example.com/tags/bench", "name": "#bench"}
            ],
        },
    }


def _raw(headers: dict[str, str], body: bytes) -> bytes:
    head = "POST /inbox HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def signed_raw(base: str, actor: str, pem: Any, activity: dict[str, Any]) -> bytes:
    """One complete HTTP/1.1 request, freshly signed."""
    url = f"{base}/inbox"
    body = json.dumps(activity, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        sign_request("POST", url, headers, body, key_id=f"{actor}#main-key", private_key=pem)
    )
    return _raw(headers, body)


def signed_batch(base: str, keys: list[tuple[str, Any]], count: int, tag: str) -> list[bytes]:
    """`count` distinct Create(Note) requests, round-robin over the keys, each signed
    afresh (the batch is signed on all cores)."""
    url = f"{base}/inbox"
    jobs = []
    bodies = []
    for n in range(count):
        actor, key = keys[n % len(keys)]
        body = json.dumps(create_note(actor, n, tag), separators=(",", ":")).encode()
        bodies.append(body)
        jobs.append(
            {
                "method": "POST",
                "url": url,
                "headers": {"Content-Type": "application/activity+json"},
                "body": body,
                "key_id": f"{actor}#main-key",
                "private_key": key,
            }
        )
    signed = []
    for job, body, extra in zip(jobs, bodies, sign_many(jobs), strict=True):
        signed.append(_raw({**job["headers"], **extra}, body))
    return signed


@dataclass
class Load:
    """What one load run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    started: float  # perf_counter at the first request


async def _read_response(stream: trio.SocketStream, buffer: bytearray) -> int:
    """Read one HTTP/1.1 response (headers and a Content-Length body); its status."""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:head_end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(buffer) < head_end + length:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    del buffer[: head_end + length]
    return status


async def _load(port: int, requests: list[bytes], connections: int) -> Load:
    latencies: list[float] = []
    non_2xx = 0
    next_index = 0

    async def sender() -> None:
        nonlocal next_index, non_2xx
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        buffer = bytearray()
        async with stream:
            while next_index < len(requests):
                raw = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                await stream.send_all(raw)
                status = await _read_response(stream, buffer)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    non_2xx += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(sender)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Load(
        len(requests) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        non_2xx,
        started,
    )


def load(base: str, requests: list[bytes], connections: int) -> Load:
    """Send every request once over `connections` keep-alive connections (one sender
    each, in this process), as fast as the server answers."""
    port = int(base.rsplit(":", 1)[1])
    return trio.run(_load, port, requests, connections)


async def _inbox_rows(conn: Any) -> tuple[int, int, int]:
    seen = await conn.fetchval("SELECT COUNT(*) FROM inbox_activities")
    left = await conn.fetchval(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'federation.inbox' AND state <> 'parked'"
    )
    parked = await conn.fetchval(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'federation.inbox' AND state = 'parked'"
    )
    return int(seen), int(left), int(parked)


def inbox_rows(database_url: str, data_dir: Path, *, until_applied: bool = False) -> Any:
    """(remembered activity ids, inbox jobs left to run, inbox jobs parked), and the
    perf_counter time they were read; with `until_applied`, once no job is left to run
    (polled every 20 ms)."""

    async def count() -> tuple[tuple[int, int, int], float]:
        config = load_config(
            env={}, overrides={"data_dir": str(data_dir), "database_url": database_url}
        )
        store = await open_store(config.database_url, pg_pool_size=1)
        try:
            while True:
                found = await store.read(_inbox_rows)
                seen_at = time.perf_counter()
                if not until_applied or found[1] == 0:
                    return found, seen_at
                await trio.sleep(0.02)
        finally:
            await store.aclose()

    return trio.run(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="`wildebeest-trio worker` processes beside the server, applying the inbox jobs "
        "(the server then only accepts: WB_INBOX_CONSUMERS=0)",
    )
    args = parser.parse_args()
    ours: list[Load] = []
    base: list[Load] = []
    applied: list[float] = []
    pg = postgres() if args.postgres else contextlib.nullcontext(None)
    with (
        tempfile.TemporaryDirectory() as tmp,
        pg as pg_url,
        actor_server(args.keys) as actors,
    ):
        settings = {"WB_ALLOW_PRIVATE_ADDRESSES": "1"}
        if pg_url:
            settings["WB_DATABASE_URL"] = pg_url
        database_url = pg_url or f"sqlite:///{Path(tmp) / 'wildebeest.db'}"
        # Beside worker processes the serving process only accepts; they apply.
        serving = {"WB_INBOX_CONSUMERS": "0"} if args.worker_processes else {}
        with (
            wildebeest_server(Path(tmp), **settings, **serving) as (url, server),
            wildebeest_workers(Path(tmp), url, args.worker_processes, **settings) as workers,
            hello_server() as (hello_url, hello_proc),
        ):
            pids = [server.pid, *(worker.pid for worker in workers)]

            def server_cpu() -> float:
                return sum(tree_cpu_seconds(pid) for pid in pids)

            # Warm-up (not timed): one delivery per key, so every key is fetched and cached.
            with httpx.Client(timeout=30) as client:
                for i, (actor, pem) in enumerate(actors.keys):
                    raw = signed_raw(url, actor, pem, create_note(actor, i, "warm"))
                    head, _, body = raw.partition(b"\r\n\r\n")
                    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
                    response = client.post(f"{url}/inbox", content=body, headers=headers)
                    assert response.status_code == 202, (response.status_code, response.text)
            hello_host = hello_url.split("://", 1)[1]
            hello = [f"GET / HTTP/1.1\r\nHost: {hello_host}\r\n\r\n".encode()]
            load(hello_url, hello * 500, args.connections)  # warm up
            keys = [(actor, PrivateKey.from_pem(pem)) for actor, pem in actors.keys]
            inbox_rows(database_url, Path(tmp), until_applied=True)  # the warm-up applied
            for r in range(args.rounds):
                started = time.perf_counter()
                signed = signed_batch(url, keys, args.activities, f"r{r}-")
                signing = time.perf_counter() - started
                hello_cpu = tree_cpu_seconds(hello_proc.pid)
                h = load(hello_url, hello * args.activities, args.connections)
                hello_cpu = tree_cpu_seconds(hello_proc.pid) - hello_cpu
                cpu, serving_cpu = server_cpu(), tree_cpu_seconds(server.pid)
                own_cpu = cpu_seconds(server.pid)
                o = load(url, signed, args.connections)
                accept_cpu = server_cpu() - cpu
                accept_own_cpu = cpu_seconds(server.pid) - own_cpu
                (_, backlog, _), _ = inbox_rows(database_url, Path(tmp))
                _, applied_at = inbox_rows(database_url, Path(tmp), until_applied=True)
                total_cpu = server_cpu() - cpu
                serving_cpu = tree_cpu_seconds(server.pid) - serving_cpu
                own_cpu = cpu_seconds(server.pid) - own_cpu
                assert o.non_2xx == 0 and h.non_2xx == 0, (o, h)
                base.append(h)
                ours.append(o)
                applied_rps = args.activities / (applied_at - o.started)
                applied.append(applied_rps / o.requests_per_second)
                print(
                    f"signed {args.activities} requests in {signing:.1f} s | "
                    f"hello: {h.requests_per_second:7.0f} req/s  p50 {h.p50_ms:6.2f} ms  "
                    f"p99 {h.p99_ms:6.2f} ms | inbox: {o.requests_per_second:7.0f} req/s  "
                    f"p50 {o.p50_ms:6.2f} ms  p99 {o.p99_ms:6.2f} ms"
                )
                print(
                    f"  applied: {applied_rps:7.0f} /s (all {args.activities} within "
                    f"{applied_at - o.started:.1f} s of the first POST; {backlog} still "
                    f"queued when the last was accepted) | server CPU per activity: "
                    f"{total_cpu / args.activities * 1000:.2f} ms end to end, "
                    f"{accept_cpu / args.activities * 1000:.2f} ms while accepting "
                    f"(hello: {hello_cpu / args.activities * 1000:.2f} ms a request)"
                )
                print(
                    f"  of which the serving process: {own_cpu / args.activities * 1000:.2f} ms "
                    f"({accept_own_cpu / args.activities * 1000:.2f} ms while accepting), "
                    f"the processes it started: "
                    f"{(serving_cpu - own_cpu) / args.activities * 1000:.2f} ms, the worker "
                    f"processes: {(total_cpu - serving_cpu) / args.activities * 1000:.2f} ms"
                )
        (seen, _, parked), _ = inbox_rows(database_url, Path(tmp))
        expected = args.keys + args.rounds * args.activities
        print(f"activities stored: {seen} of {expected} (inbox jobs parked: {parked})")
        assert seen == expected
    ours_rps = statistics.median(r.requests_per_second for r in ours)
    base_rps = statistics.median(r.requests_per_second for r in base)
    print(f"median: inbox {ours_rps:.0f} req/s, hello {base_rps:.0f} req/s")
    ratio("inbox_vs_hello", ours_rps / base_rps)
    ratio("inbox_applied_vs_accepted", statistics.median(applied))


if __name__ == "__main__":
    main()
