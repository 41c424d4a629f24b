"""A timeline reader beside a sustained attack, on SQLite and PostgreSQL.

Seeds 10,000 statuses (bench/timelines.py's seed, smaller), serves them with
`wildebeest-trio serve` whose only DNS server is a black hole on 127.0.0.1
(`WB_DNS_SERVERS`: it receives every query and answers none), and loads
`GET /api/v1/timelines/home?limit=40` with wrk (4 connections), first quiet, then
while this process attacks without pause:

- inbox POSTs signed with a key on a fresh host under the black-hole resolver
  (`h123.blackhole.invalid`), so each makes the server look a name up that never
  answers (the stall of issue 14: it made timelines take 6, 12, then 30 s);
- deep JSON (100,000 nested arrays) to `/inbox` and `/api/v1/apps`;
- malformed ids (too long, negative, not numbers) on status, account and paging routes.

Quiet and attacked rounds alternate so machine noise hits both alike. The attack's
answers are counted by status code (a 5xx there is a defect to see, not fixed here).

    .venv/bin/python bench/hostile.py [--seconds 8] [--rounds 2] [--backend both]
                                      [--attacks keys,deep,ids]   # a part, to find a cause

Ends with `ratio timeline_p99_attack_vs_quiet_sqlite` and `..._postgres`: the p99
latency under attack over the quiet p99 (medians of the rounds); 2.0 or less is the
target. Nothing leaves 127.0.0.1 (`WB_OUTBOUND_ALLOW`, set by bench/support.py).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import WrkResult, postgres, ratio, wildebeest_server, wrk
from bench.timelines import CHEAP_HASHING, fresh_database, seed_database
from wildebeest_trio.signatures import PrivateKey, generate_rsa_keypair, sign_request

SIZES = {"accounts": 200, "statuses_count": 10_000, "follows": 100}
KEY_POSTS_PER_SECOND = 20  # the stall needed about 8
DEEP_POSTS_PER_SECOND = 5
BAD_IDS_PER_SECOND = 20
DEPTH = 100_000
BAD_IDS = (
    "/api/v1/statuses/99999999999999999999999999999999",
    "/api/v1/statuses/-1",
    "/api/v1/statuses/1e400",
    "/api/v1/statuses/%00",
    "/api/v1/accounts/abc",
    "/api/v1/accounts/18446744073709551616/statuses",
    "/api/v1/accounts/1/statuses?max_id=abc",
    "/api/v1/timelines/public?max_id=99999999999999999999999999&since_id=-5",
    "/api/v1/timelines/tag/x?min_id=0x10",
    "/api/v1/statuses/1/context",
)


@contextmanager
def black_hole() -> Iterator[tuple[tuple[str, int], Counter[str]]]:
    """A DNS server on 127.0.0.1 that counts the queries it receives and answers none."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    seen: Counter[str] = Counter()
    stop = threading.Event()

    def swallow() -> None:
        while not stop.is_set():
            try:
                sock.recv(4096)
            except TimeoutError:
                continue
            seen["queries"] += 1

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    try:
        yield sock.getsockname(), seen
    finally:
        stop.set()
        thread.join()
        sock.close()


async def _attack(base: str, seconds: float, kinds: set[str], answers: Counter[str]) -> None:
    """Send the hostile requests of `kinds` (keys, deep, ids) at their rates for `seconds`."""
    # Parsed once: a PEM parse per POST cost this process 3.5 ms of the CPU the server shares.
    key = PrivateKey.from_pem(generate_rsa_keypair()[0])
    deep = b"[" * DEPTH + b"]" * DEPTH
    until = trio.current_time() + seconds
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=50)

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def send(kind: str, method: str, path: str, **kw: object) -> None:
            try:
                response = await client.request(method, path, **kw)  # type: ignore[arg-type]
                answers[f"{kind} {response.status_code}"] += 1
            except httpx.HTTPError as exc:
                answers[f"{kind} {type(exc).__name__}"] += 1

        async def unknown_keys(nursery: trio.Nursery) -> None:
            n = 0
            while trio.current_time() < until:
                actor = f"http://h{n}.{time.monotonic_ns()}.blackhole.invalid/actor"
                body = json.dumps(
                    {"id": f"{actor}#f", "type": "Follow", "actor": actor, "object": base}
                ).encode()
                headers = {"Content-Type": "application/activity+json"}
                headers.update(
                    sign_request(
                        "POST",
                        f"{base}/inbox",
                        headers,
                        body,
                        key_id=f"{actor}#main-key",
                        private_key=key,
                    )
                )
                nursery.start_soon(
                    partial(send, "unknown key", "POST", "/inbox", content=body, headers=headers)
                )
                n += 1
                await trio.sleep(1 / KEY_POSTS_PER_SECOND)

        async def deep_json(nursery: trio.Nursery) -> None:
            n = 0
            while trio.current_time() < until:
                path = "/inbox" if n % 2 else "/api/v1/apps"
                nursery.start_soon(
                    partial(
                        send,
                        "deep json",
                        "POST",
                        path,
                        content=deep,
                        headers={"Content-Type": "application/json"},
                    )
                )
                n += 1
                await trio.sleep(1 / DEEP_POSTS_PER_SECOND)

        async def bad_ids(nursery: trio.Nursery) -> None:
            n = 0
            while trio.current_time() < until:
                path = BAD_IDS[n % len(BAD_IDS)]
                nursery.start_soon(send, "malformed id", "GET", path)
                n += 1
                await trio.sleep(1 / BAD_IDS_PER_SECOND)

        async with trio.open_nursery() as nursery:
            for kind, attack in (("keys", unknown_keys), ("deep", deep_json), ("ids", bad_ids)):
                if kind in kinds:
                    nursery.start_soon(attack, nursery)


def _under_attack(
    base: str, target: str, args: argparse.Namespace
) -> tuple[WrkResult, Counter[str]]:
    """wrk on the timeline while this process attacks; the attack starts 2 s earlier."""
    answers: Counter[str] = Counter()
    result: list[WrkResult] = []

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_attack, base, args.seconds + 2.0, args.attacks, answers)
            await trio.sleep(2.0)  # let look-ups pile up first
            result.append(
                await trio.to_thread.run_sync(
                    lambda: wrk(target, seconds=args.seconds, connections=args.connections)
                )
            )

    trio.run(run)
    return result[0], answers


def _line(name: str, r: WrkResult) -> str:
    return (
        f"{name:>8}: {r.requests_per_second:7.0f} req/s  "
        f"p50 {r.p50_ms:8.2f} ms  p99 {r.p99_ms:8.2f} ms"
    )


def run_backend(label: str, database_url: str | None, args: argparse.Namespace) -> float:
    """Seed, serve and load one backend; p99 under attack over p99 quiet."""
    with tempfile.TemporaryDirectory() as tmp, black_hole() as (resolver, seen):
        settings = {"WB_DATA_DIR": str(Path(tmp) / "data"), **CHEAP_HASHING}
        settings["WB_DATABASE_URL"] = database_url or f"sqlite:///{tmp}/data/bench.db"
        settings["WB_DNS_SERVERS"] = f"{resolver[0]}:{resolver[1]}"
        token = seed_database(settings, **SIZES)
        quiet: list[WrkResult] = []
        loud: list[WrkResult] = []
        with wildebeest_server(Path(settings["WB_DATA_DIR"]), **settings) as (url, _):
            target = f"{url}/api/v1/timelines/home?limit=40&access_token={token}"
            wrk(target, seconds=2, connections=args.connections)  # warm up
            for _ in range(args.rounds):
                result = wrk(target, seconds=args.seconds, connections=args.connections)
                quiet.append(result)
                print(f"[{label}] {_line('quiet', result)}  errors {result.non_2xx}")
                result, answers = _under_attack(url, target, args)
                loud.append(result)
                print(f"[{label}] {_line('attacked', result)}  errors {result.non_2xx}")
                print(f"[{label}]   attack answers: {dict(sorted(answers.items()))}")
                print(f"[{label}]   DNS queries the black hole received: {seen['queries']}")
        quiet_p99 = statistics.median(r.p99_ms for r in quiet)
        loud_p99 = statistics.median(r.p99_ms for r in loud)
        print(f"[{label}] median p99: quiet {quiet_p99:.2f} ms, attacked {loud_p99:.2f} ms")
        return loud_p99 / quiet_p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument(
        "--attacks", type=lambda text: set(text.split(",")), default={"keys", "deep", "ids"}
    )
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    if args.backend in ("both", "sqlite"):
        ratios["timeline_p99_attack_vs_quiet_sqlite"] = run_backend("sqlite", None, args)
    if args.backend in ("both", "postgres"):
        with postgres() as url:
            with fresh_database(url) as database:
                ratios["timeline_p99_attack_vs_quiet_postgres"] = run_backend(
                    "postgres", database, args
                )
    for name, value in ratios.items():
        ratio(name, value)


if __name__ == "__main__":
    main()
