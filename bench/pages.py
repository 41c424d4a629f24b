"""Requests/s of the public web pages (a profile, a status with its thread) on the real
server against a bare QuartTrio hello, in the same run.

The server is seeded first (SQLite in a temporary folder): one account with 40 posts,
one of them a thread of 10 replies from a second account. wrk loads each page with 20
connections, alternating rounds with the hello route so machine noise hits all alike.

    .venv/bin/python bench/pages.py [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import hello_server, ratio, wildebeest_server, wrk


async def seed(data_dir: Path) -> int:
    """Two accounts, 40 posts and a thread; the id of the thread's root."""
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.services import statuses
    from wildebeest_trio.services.accounts import create_local_account

    config = load_config(env={"WB_DATA_DIR": str(data_dir)})
    async with open_server_runtime(config) as rt:
        alice = await create_local_account(rt, "alice", "alice@example.org", password="x" * 12)
        bob = await create_local_account(rt, "bob", "bob@example.org", password="x" * 12)
        root = 0
        for i in range(40):
            text = f"Post {i} about #meadows and https://example.org/{i}"
            bundle = await statuses.post(rt, alice.account_id, statuses.Draft(text=text))
            root = bundle.order[0]
        parent = root
        for i in range(10):
            author = bob if i % 2 == 0 else alice
            draft = statuses.Draft(text=f"Reply {i}", in_reply_to_id=parent)
            parent = (await statuses.post(rt, author.account_id, draft)).order[0]
        return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"hello": [], "profile": [], "status": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        root = trio.run(seed, data)
        with wildebeest_server(data) as (url, _), hello_server() as (hello_url, _):
            targets = {
                "hello": f"{hello_url}/",
                "profile": f"{url}/@alice",
                "status": f"{url}/@alice/{root}",
            }
            for target in targets.values():
                wrk(target, seconds=2, connections=args.connections)  # warm up
            for _ in range(args.rounds):
                line = []
                for name, target in targets.items():
                    result = wrk(target, seconds=args.seconds, connections=args.connections)
                    assert result.non_2xx == 0, (name, result)
                    runs[name].append(result.requests_per_second)
                    line.append(
                        f"{name}: {result.requests_per_second:7.0f} req/s "
                        f"p50 {result.p50_ms:6.2f} ms p99 {result.p99_ms:7.2f} ms"
                    )
                print(" | ".join(line))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(
        f"median: profile {medians['profile']:.0f} req/s, status {medians['status']:.0f} "
        f"req/s, hello {medians['hello']:.0f} req/s"
    )
    ratio("status_page_vs_hello", medians["status"] / medians["hello"])
    ratio("profile_page_vs_hello", medians["profile"] / medians["hello"])


if __name__ == "__main__":
    main()
