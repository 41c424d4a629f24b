"""Benchmark: fan-out of one post to 10,000 followers on 200 hosts, against its limits.

Run: `python bench/delivery.py [--rounds 2] [--workers 64] [--processes N] [--postgres]`.

- One receiver process serves 200 ports on 127.0.0.1 (one remote host each) and
  verifies every request's signature (Mastodon's rules) with the sender's key,
  counting deliveries per inbox and the time of the last one.
- Ours: `wildebeest-trio serve` with 10,000 remote followers, a fifth of them without
  a shared inbox: a post through the API becomes one durable, signed job per inbox
  (200 shared + 2,000 personal = 2,200 POSTs). Timed from the POST of the status to
  the last verified delivery. The first post after start is the cold one.
- The signing limit, in the same run: `sign_many` alone signing the same 2,200
  requests (same key, body and inboxes) on all cores, best of three.
- Baseline, in the same run: the same POSTs with the same body, signed by a plain
  Python loop with `cryptography` (key parsed once, one httpx client per host, the
  same concurrency), with no queue and no bookkeeping.

Rounds alternate; the best round of each counts (the machine is shared). CPU time per
delivery is reported for the server (with its worker processes) and the receiver: on
a loaded machine it is steadier than the rates. The last lines:
`ratio delivery_vs_sign_limit` (best warm post over the signing limit),
`ratio cold_vs_warm_post` (first post over the second) and
`ratio delivery_vs_plain_loop`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import trio

from bench.support import REPO, postgres, ratio, wildebeest_server
from wildebeest_trio.signatures import (
    PrivateKey,
    PublicKey,
    SignatureError,
    sign_many,
    verify_request,
)

HOSTS = 200
FOLLOWERS = 10_000
NO_SHARED_EVERY = 5  # a fifth of the followers publish no shared inbox
DOMAIN = "bench.local"  # our public name; nothing fetches it


# The receiver process ----------------------------------------------------------------------------


def run_receiver(ports_file: str, key_file: str) -> None:
    """Serve every port named in `ports_file` (the last one is the control port).

    A small HTTP/1.1 server on Trio sockets (keep-alive, Content-Length bodies): the
    receiver must cost far less per request than either sender, or it alone would be
    measured; Hypercorn's per-request cost is several times a signature check.
    """
    ports = [int(p) for p in Path(ports_file).read_text().split()]
    control = ports[-1]
    key = PublicKey.from_pem(Path(key_file).read_text())
    state: dict[str, Any] = {
        "counts": {},
        "last": 0.0,
        "refused": 0,
        "body": None,
        "connections": 0,
    }

    def stats_body() -> bytes:
        counts = state["counts"]
        return json.dumps(
            {
                "inboxes": len(counts),
                "deliveries": sum(counts.values()),
                "duplicates": sum(1 for c in counts.values() if c > 1),
                "last": state["last"],
                "refused": state["refused"],
                "connections": state["connections"],
                "body": state["body"].decode() if state["body"] else None,
            }
        ).encode()

    def handle(
        port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        if port == control:
            if path == "/reset":
                state.update(counts={}, last=0.0, refused=0, body=None, connections=0)
                return 204, b""
            return 200, stats_body()
        try:
            verify_request(method, path, headers, body, public_key=key)
        except SignatureError:
            state["refused"] += 1
            return 401, b""
        inbox = (port, path)
        state["counts"][inbox] = state["counts"].get(inbox, 0) + 1
        state["last"] = time.time()
        if state["body"] is None:
            state["body"] = body
        return 202, b""

    async def connection(stream: trio.SocketStream, port: int) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                while len(buffer) < length:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                status, answer = handle(port, method, path, headers, body)  # type: ignore[arg-type]
                await stream.send_all(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    async def serve_all() -> None:
        async with trio.open_nursery() as nursery:
            for port in ports:
                listeners = await trio.open_tcp_listeners(port, host="127.0.0.1", backlog=1024)

                async def on_connection(stream: trio.SocketStream, port: int = port) -> None:
                    if port != control:
                        state["connections"] += 1
                    await connection(stream, port)

                nursery.start_soon(trio.serve_listeners, on_connection, listeners)

    trio.run(serve_all)


# Setting up ---------------------------------------------------------------------------------------


def distinct_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def follower_inboxes(ports: list[int], followers: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The remote followers (account rows) and the distinct inboxes a post goes to."""
    accounts, inboxes = [], {}
    hosts = len(ports)
    for n in range(followers):
        port = ports[n % hosts]
        base = f"http://127.0.0.1:{port}"
        uri = f"{base}/users/f{n}"
        # Every host has both kinds: each "round" of followers over the hosts is one kind.
        shared = None if (n // hosts) % NO_SHARED_EVERY == 0 else f"{base}/inbox"
        accounts.append(
            {
                "username": f"f{n}",
                "domain": f"h{n % hosts}.bench",
                "uri": uri,
                "inbox_url": f"{uri}/inbox",
                "shared_inbox_url": shared,
            }
        )
        inboxes[shared or f"{uri}/inbox"] = None
    return accounts, list(inboxes)


async def seed(database_url: str, data_dir: Path, accounts: list[dict[str, Any]]) -> str:
    """Alice, her 10,000 remote followers, and a token for her; the token."""
    from tests.conftest import TEST_SETTINGS
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.ids import now_ms
    from wildebeest_trio.services.accounts import create_local_account
    from wildebeest_trio.services.tokens import issue_cli_token
    from wildebeest_trio.store import Connection

    config = load_config(
        env={},
        overrides={
            "data_dir": str(data_dir),
            "database_url": database_url,
            "domain": DOMAIN,
            "scheme": "http",
            **{k: v for k, v in TEST_SETTINGS.items() if k.startswith("argon2")},
        },
    )
    async with open_server_runtime(config) as rt:
        alice = await create_local_account(rt, "alice", "alice@bench.test", password="bench-pw-1")
        now = now_ms()
        rows = [(rt.ids.next_id(), a) for a in accounts]

        async def unit(conn: Connection) -> None:
            # Bulk rows straight into the tables: the service path recounts per follow.
            await conn.executemany(
                "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, "
                "shared_inbox_url, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $5, $6, "
                "$7, $7)",
                [
                    (
                        i,
                        a["username"],
                        a["domain"],
                        a["uri"],
                        a["inbox_url"],
                        a["shared_inbox_url"],
                        now,
                    )
                    for i, a in rows
                ],
            )
            await conn.executemany(
                "INSERT INTO follows (id, account_id, target_account_id, created_at) "
                "VALUES ($1, $2, $3, $4)",
                [(rt.ids.next_id(), i, alice.account_id, now) for i, _ in rows],
            )
            await conn.execute(
                "UPDATE accounts SET followers_count = $1 WHERE id = $2",
                len(rows),
                alice.account_id,
            )

        await rt.store.write(unit)
        token = await issue_cli_token(rt, "alice", "read write")
        key = await rt.store.read(_public_key, alice.account_id)
        (data_dir.parent / "alice.pem").write_text(key)
        return token.token


async def _public_key(conn: Any, account_id: int) -> str:
    return str(
        await conn.fetchval("SELECT public_key_pem FROM keypairs WHERE account_id = $1", account_id)
    )


async def _private_key(conn: Any, account_id: int) -> str:
    return str(
        await conn.fetchval(
            "SELECT private_key_pem FROM keypairs WHERE account_id = $1", account_id
        )
    )


# Measuring --------------------------------------------------------------------------------


def stats(control: str) -> dict[str, Any]:
    return httpx.get(f"{control}/stats", timeout=30).json()


def wait_all(control: str, expected: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = stats(control)
        if current["inboxes"] >= expected:
            return current
        time.sleep(0.05)
    raise RuntimeError(f"only {stats(control)['inboxes']} of {expected} inboxes reached")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and of its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            # Any thread may have started a child (Trio starts processes from a worker thread).
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def wait_idle(pid: int, timeout: float = 60) -> None:
    """Wait until a process tree has finished starting (its delivery processes too):
    half a second in which it used almost no CPU."""
    deadline = time.monotonic() + timeout
    before = process_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = process_cpu(pid)
        if now - before < 0.03:
            return
        before = now


@dataclass
class Round:
    """One post's fan-out: deliveries per second, and CPU ms per delivery on each side."""

    rate: float
    ours_cpu_ms: float
    receiver_cpu_ms: float
    connections: int

    def __str__(self) -> str:
        return (
            f"{self.rate:,.0f} deliveries/s, CPU per delivery {self.ours_cpu_ms:.2f} ms ours "
            f"+ {self.receiver_cpu_ms:.2f} ms receiver, {self.connections} connections"
        )


def ours(
    base: str, token: str, control: str, expected: int, n: int, server: int, receiver: int
) -> Round:
    httpx.post(f"{control}/reset", timeout=30)
    server_cpu, receiver_cpu = process_cpu(server), process_cpu(receiver)
    start = time.time()
    response = httpx.post(
        f"{base}/api/v1/statuses",
        headers={"Authorization": f"Bearer {token}"},
        json={"status": f"Round {n}: hello to ten thousand followers #bench"},
        timeout=30,
    )
    response.raise_for_status()
    done = wait_all(control, expected)
    if done["refused"] or done["duplicates"]:
        print(f"  warning: {done['refused']} refused, {done['duplicates']} inboxes twice")
    return Round(
        expected / (done["last"] - start),
        (process_cpu(server) - server_cpu) * 1000 / expected,
        (process_cpu(receiver) - receiver_cpu) * 1000 / expected,
        done["connections"],
    )


def sign_limit(inboxes: list[str], body: bytes, key_id: str, pem: str) -> float:
    """Requests per second `sign_many` alone signs, on all cores (best of three)."""
    key = PrivateKey.from_pem(pem)
    requests = [
        {
            "method": "POST",
            "url": inbox,
            "headers": {"Content-Type": "application/activity+json", "User-Agent": "bench"},
            "body": body,
            "key_id": key_id,
            "private_key": key,
        }
        for inbox in inboxes
    ]
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        sign_many(requests)
        best = max(best, len(requests) / (time.perf_counter() - start))
    return best


async def plain_loop(
    inboxes: list[str], body: bytes, key_id: str, private_pem: str, concurrency: int
) -> None:
    """The baseline: sign each POST with `cryptography` and send it, nothing else."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    clients: dict[str, httpx.AsyncClient] = {}
    queue = list(reversed(inboxes))

    async def worker() -> None:
        while queue:
            inbox = queue.pop()
            parts = urlsplit(inbox)
            client = clients.get(parts.netloc)
            if client is None:
                client = clients[parts.netloc] = httpx.AsyncClient(
                    timeout=30, limits=httpx.Limits(max_connections=8)
                )
            date = formatdate(usegmt=True)
            signed = (
                f"(request-target): post {parts.path}\nhost: {parts.netloc}\ndate: {date}\n"
                f"digest: {digest}\ncontent-type: application/activity+json"
            )
            signature = base64.b64encode(
                key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
            ).decode()
            headers = {
                "Host": parts.netloc,
                "Date": date,
                "Digest": digest,
                "Content-Type": "application/activity+json",
                "Signature": f'keyId="{key_id}",algorithm="rsa-sha256",'
                f'headers="(request-target) host date digest content-type",'
                f'signature="{signature}"',
            }
            response = await client.post(inbox, content=body, headers=headers)
            response.raise_for_status()

    try:
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
    finally:
        for client in clients.values():
            await client.aclose()


def baseline(
    inboxes: list[str], body: bytes, key_id: str, pem: str, control: str, concurrency: int
) -> float:
    httpx.post(f"{control}/reset", timeout=30)
    start = time.time()
    trio.run(plain_loop, inboxes, body, key_id, pem, concurrency)
    done = wait_all(control, len(inboxes))
    return len(inboxes) / (done["last"] - start)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on a PostgreSQL server, dropped afterwards."""
    import asyncio
    import uuid

    import asyncpg

    name = f"wb_delivery_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    parts = urlsplit(server_url)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextlib.contextmanager
def receiver(folder: Path, ports: list[int]) -> Iterator[tuple[str, int]]:
    (folder / "ports").write_text(" ".join(map(str, ports)))
    proc = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(folder / "ports"), str(folder / "alice.pem")],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    control = f"http://127.0.0.1:{ports[-1]}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                stats(control)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the receiver did not start") from None
                time.sleep(0.1)
        yield control, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=64, help="deliveries in flight, on both sides"
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--processes", type=int, help="delivery processes beside `serve` (default: the server's)"
    )
    parser.add_argument("--followers", type=int, default=FOLLOWERS, help="for quick trials")
    parser.add_argument("--hosts", type=int, default=HOSTS, help="for quick trials")
    parser.add_argument("--receiver", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(*args.receiver)
        return
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wb-delivery.")))
        data_dir = folder / "data"
        data_dir.mkdir()
        database_url = (
            stack.enter_context(fresh_database(stack.enter_context(postgres())))
            if args.postgres
            else f"sqlite:///{data_dir / 'wildebeest.db'}"
        )
        ports = distinct_ports(args.hosts + 1)
        accounts, inboxes = follower_inboxes(ports[: args.hosts], args.followers)
        print(f"{args.followers} followers on {args.hosts} hosts: {len(inboxes)} deliveries/post")
        token = trio.run(seed, database_url, data_dir, accounts)
        control, receiver_pid = stack.enter_context(receiver(folder, ports))
        settings = {
            "WB_DATABASE_URL": database_url,
            "WB_ALLOW_PRIVATE_ADDRESSES": "1",
            "WB_DELIVERY_CONCURRENCY": str(args.workers),
            "WB_RATE_LIMITS": "0",
            **(
                {"WB_DELIVERY_PROCESSES": str(args.processes)} if args.processes is not None else {}
            ),
            "WB_DOMAIN": DOMAIN,
            "WB_SCHEME": "http",
        }
        base, server = stack.enter_context(wildebeest_server(data_dir, **settings))
        print(f"server pid {server.pid}, receiver pid {receiver_pid} (to profile)", flush=True)
        from wildebeest_trio.store import open_store

        async def alice_key() -> str:
            store = await open_store(database_url, pg_pool_size=1)
            try:
                alice = await store.read(_alice_id)
                return await store.read(_private_key, alice)
            finally:
                await store.aclose()

        pem = trio.run(alice_key)
        key_id = f"http://{DOMAIN}/users/alice#main-key"
        expected = len(inboxes)
        # The first post after start, then the same for the plain loop (its warm-up).
        wait_idle(server.pid)
        cold = ours(base, token, control, expected, 0, server.pid, receiver_pid)
        print(f"post 1 (cold): {cold}", flush=True)
        body = stats(control)["body"].encode()
        baseline(inboxes, body, key_id, pem, control, args.workers)
        limit = sign_limit(inboxes, body, key_id, pem)
        print(f"sign_many alone, all cores: {limit:,.0f} requests/s", flush=True)
        warm: list[Round] = []
        best_base = 0.0
        for n in range(1, args.rounds + 1):
            warm.append(ours(base, token, control, expected, n, server.pid, receiver_pid))
            theirs = baseline(inboxes, body, key_id, pem, control, args.workers)
            print(f"post {n + 1}: {warm[-1]}; plain loop {theirs:,.0f}/s", flush=True)
            best_base = max(best_base, theirs)
        best = max(r.rate for r in warm)
        print(f"best: ours {best:,.0f} deliveries/s, plain loop {best_base:,.0f}/s")
        ratio("delivery_vs_sign_limit", best / limit)
        ratio("cold_vs_warm_post", cold.rate / warm[0].rate)
        ratio("delivery_vs_plain_loop", best / best_base)


async def _alice_id(conn: Any) -> int:
    return int(
        await conn.fetchval("SELECT id FROM accounts WHERE domain IS NULL AND username = 'alice'")
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    main()
