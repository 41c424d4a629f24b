"""Instructions per web page request, in process, under callgrind: a count load does not move.

Seeds once (`bench.pages.seed`: 40 posts on `/@alice`, a thread of 10 replies, alice's
browser session), then for each page starts a fresh process under `valgrind
--tool=callgrind --instr-atstart=no` that warms the page through Quart's test client and
counts only the measured requests, in every thread (the Trio thread, SQLite's readers).

    .venv/bin/python bench/pages_instructions.py [--requests 100] [--pages status,profile]
    .venv/bin/python bench/pages_instructions.py --code OTHER_CHECKOUT  # its code, this seed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, os.environ.get("WB_BENCH_CODE") or str(Path(__file__).resolve().parent.parent))

from bench.pages import seed
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.http import create_app
from wildebeest_trio.services.instance import ensure_instance_keys

HERE = Path(__file__).resolve().parent.parent
PAGES = {"health": "/health", "profile": "/@alice", "status": "/@alice/ROOT", "home": "/home"}


async def seed_into(data_dir: str) -> tuple[int, str]:
    """Seed the pages' data and the instance keys; the thread's root and the session."""
    root, token = await seed(Path(data_dir))
    async with open_server_runtime(load_config(env={"WB_DATA_DIR": data_dir})) as rt:
        await ensure_instance_keys(rt)
    return root, token


async def inside(data_dir: str, path: str, cookie: str, n: int) -> None:
    """Warm one page, then ask it `n` times with callgrind counting."""
    async with open_server_runtime(load_config(env={"WB_DATA_DIR": data_dir})) as rt:
        app = create_app(rt)
        headers = {"Cookie": cookie} if cookie else {}
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for _ in range(20):
                response = await client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)
            pid = str(os.getpid())
            await trio.run_process(["callgrind_control", "-i", "on", pid], capture_stdout=True)
            for _ in range(n):
                await (await client.get(path, headers=headers)).get_data()
            await trio.run_process(["callgrind_control", "-i", "off", pid], capture_stdout=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pages", default="health,profile,status,home")
    parser.add_argument("--code", type=Path, default=HERE, help="the checkout to measure")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        data_dir, path, cookie, n = json.loads(args.inside)
        trio.run(inside, data_dir, path, cookie, n)
        return
    # Here, not above: the process under callgrind imports another checkout's `bench`,
    # which may predate this helper.
    from bench.support import callgrind_millions

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = str(Path(tmp) / "data")
        root, token = trio.run(seed_into, data_dir)
        for name in args.pages.split(","):
            path = PAGES[name].replace("ROOT", str(root))
            cookie = f"wb_session={token}" if name == "home" else ""
            job: list[object] = [data_dir, path, cookie, args.requests]
            out = Path(tmp) / "callgrind.page.out"
            counted = callgrind_millions(__file__, job, args.code, out, args.requests)
            print(f"{name:>8}: {counted:6.2f} M instructions per request", flush=True)


if __name__ == "__main__":
    main()
