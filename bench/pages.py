"""Requests/s of the web pages (a profile, a status with its thread, and the signed-in
home page of the web app) on the real server against a bare QuartTrio hello, in the same
run; and the bytes of each page of the web app (HTML, and the stylesheet and script).

The server is seeded first (SQLite in a temporary folder): one account with 40 posts,
one of them a thread of 10 replies from a second account, and a browser session of the
first. wrk loads each page with 20 connections, alternating rounds with the hello route
so machine noise hits all alike.

    .venv/bin/python bench/pages.py [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import hello_server, ratio, wildebeest_server, wrk


async def seed(data_dir: Path) -> tuple[int, str]:
    """Two accounts, 40 posts and a thread; the id of the thread's root and the first
    account's browser session cookie."""
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.services import sessions, statuses
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
        token = await sessions.start_session(rt, alice.account_id, "bench", "127.0.0.1")
        return root, token


def page_bytes(url: str, cookie: str, root: int) -> None:
    """The size of each page of the web app as the signed-in person gets it, and of the
    stylesheet and script every page loads (cached after the first)."""
    html = ""
    for path in (
        "/home",
        "/notifications",
        "/public/local",
        f"/@alice/{root}",
        "/@alice",
        "/compose",
        "/search?q=meadows",
        "/bookmarks",
    ):
        request = urllib.request.Request(url + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request) as response:
            body = response.read()
        if path == "/home":
            html = body.decode()
        print(f"bytes {path} {len(body)} ({len(gzip.compress(body))} gzipped)")
    script = re.search(r'src="(/assets/app-[0-9a-f]+\.js)"', html)
    for path in ("/static/site.css", script.group(1) if script else ""):
        with urllib.request.urlopen(url + path) as response:
            body = response.read()
        print(f"bytes {path} {len(body)} ({len(gzip.compress(body))} gzipped)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"hello": [], "profile": [], "status": [], "home": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        root, token = trio.run(seed, data)
        cookie = f"wb_session={token}"
        with wildebeest_server(data) as (url, _), hello_server() as (hello_url, _):
            targets = {
                "hello": f"{hello_url}/",
                "profile": f"{url}/@alice",
                "status": f"{url}/@alice/{root}",
                "home": f"{url}/home",
            }
            page_bytes(url, cookie, root)
            for name, target in targets.items():
                sent = {"Cookie": cookie} if name == "home" else None
                wrk(target, seconds=2, connections=args.connections, headers=sent)  # warm up
            for _ in range(args.rounds):
                line = []
                for name, target in targets.items():
                    sent = {"Cookie": cookie} if name == "home" else None
                    result = wrk(
                        target, seconds=args.seconds, connections=args.connections, headers=sent
                    )
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
        f"req/s, home {medians['home']:.0f} req/s, hello {medians['hello']:.0f} req/s"
    )
    ratio("web_home_vs_hello", medians["home"] / medians["hello"])
    ratio("status_page_vs_hello", medians["status"] / medians["hello"])
    ratio("profile_page_vs_hello", medians["profile"] / medians["hello"])


if __name__ == "__main__":
    main()
