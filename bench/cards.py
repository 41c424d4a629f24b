"""Link preview cards: posting with a link against posting without one, and fetches per URL.

On a live server (`wildebeest-trio serve`, one process, SQLite unless `--backend postgres`)
and a small site on 127.0.0.1 whose pages take `--page-delay` seconds to answer:

1. `--posts` statuses with a link and as many without, in alternating rounds so machine
   noise hits both alike, each POST timed from the client; the card is fetched by a job
   afterwards, so the median POST with a link should take as long as one without:
   `ratio post_with_link_vs_without` (median without / median with; the target is 0.9 or
   more).
2. 1,000 posts sharing 50 URLs, posted 8 at a time; once every post shows its card, the
   number of page fetches the site counted (`fetches_for_1000_posts_50_urls`, one per URL
   is the target).

    .venv/bin/python bench/cards.py [--posts 150] [--page-delay 0.3] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres, ratio, seed_config, wildebeest_server
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.tokens import issue_cli_token

SHARED_POSTS = 1_000
SHARED_URLS = 50
CHEAP_HASHING = {
    "WB_ARGON2_TIME_COST": "1",
    "WB_ARGON2_MEMORY_KIB": "64",
    "WB_ARGON2_PARALLELISM": "1",
    "WB_RATE_LIMIT_EXEMPT_LOOPBACK": "true",
    "WB_ALLOW_PRIVATE_ADDRESSES": "true",
}


class Site:
    """Pages with OpenGraph tags on 127.0.0.1, answering after a delay, counting requests."""

    def __init__(self, delay: float) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site.lock:
                    site.hits[self.path] += 1
                time.sleep(delay)
                body = (
                    f'<html><head><meta property="og:title" content="Page {self.path}">'
                    '<meta property="og:description" content="A page for the benchmark">'
                    "</head><body>hello</body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def seed(settings: dict[str, str]) -> str:
    """An account and its token in the database of `settings`."""
    config = seed_config(settings)

    async def run() -> str:
        async with open_server_runtime(config) as rt:
            await create_local_account(rt, "poster", "poster@example.org", password="x" * 12)
            return (await issue_cli_token(rt, "poster", "read write")).token

    return trio.run(run)


def _post(client: httpx.Client, text: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.post("/api/v1/statuses", json={"status": text})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, str(response.json()["id"])


def latency(client: httpx.Client, site: Site, posts: int) -> tuple[list[float], list[float]]:
    """Alternating posts with and without a (fresh) link; their POST times."""
    with_link: list[float] = []
    without: list[float] = []
    for i in range(posts):
        with_link.append(_post(client, f"Post {i} with {site.base}/latency/{i}")[0])
        without.append(_post(client, f"Post {i} without any link at all")[0])
    return with_link, without


def shared(client: httpx.Client, site: Site) -> tuple[int, float]:
    """1,000 posts over 50 URLs, 8 at a time; page fetches once every post has its card,
    and the seconds that took."""
    urls = [f"{site.base}/shared/{i}" for i in range(SHARED_URLS)]
    texts = [f"Shared {n}: {urls[n % SHARED_URLS]}" for n in range(SHARED_POSTS)]
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        ids = [status_id for _, status_id in pool.map(lambda t: _post(client, t), texts)]
    pending = set(ids)
    deadline = time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        batch = sorted(pending)[:40]
        found = client.get("/api/v1/statuses", params=[("id[]", i) for i in batch]).json()
        pending -= {s["id"] for s in found if s["card"] is not None}
        if pending:
            time.sleep(0.5)
    if pending:
        raise SystemExit(f"{len(pending)} posts never got their card")
    fetched = sum(n for path, n in site.hits.items() if path.startswith("/shared/"))
    return fetched, time.monotonic() - started


def run(backend: str, posts: int, page_delay: float) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="wildebeest-bench-cards.") as folder,
        ExitStack() as stack,
    ):
        data = Path(folder)
        settings = {**CHEAP_HASHING, "WB_DATA_DIR": str(data)}
        if backend == "postgres":
            settings["WB_DATABASE_URL"] = stack.enter_context(postgres())
        else:
            settings["WB_DATABASE_URL"] = f"sqlite:///{data / 'wildebeest.db'}"
        site = Site(page_delay)
        stack.callback(site.close)
        token = seed(settings)
        base, _proc = stack.enter_context(wildebeest_server(data, **settings))
        headers = {"Authorization": f"Bearer {token}"}
        client = stack.enter_context(httpx.Client(base_url=base, headers=headers, timeout=30))
        _post(client, "warm-up")
        with_link, without = latency(client, site, posts)
        fetches, seconds = shared(client, site)
    median_with, median_without = statistics.median(with_link), statistics.median(without)
    print(f"backend {backend}; {posts} posts of each kind; pages answer after {page_delay}s")
    print(
        f"post_with_link median {median_with * 1000:.2f} ms p90 "
        f"{statistics.quantiles(with_link, n=10)[-1] * 1000:.2f} ms"
    )
    print(
        f"post_without_link median {median_without * 1000:.2f} ms p90 "
        f"{statistics.quantiles(without, n=10)[-1] * 1000:.2f} ms"
    )
    print(
        f"fetches_for_1000_posts_50_urls {fetches} (all 1000 posts had their cards "
        f"{seconds:.1f} s after the first was posted)"
    )
    ratio("post_with_link_vs_without", median_without / median_with)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=150)
    parser.add_argument("--page-delay", type=float, default=0.3)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    run(args.backend, args.posts, args.page_delay)


if __name__ == "__main__":
    main()
