"""CPU time per request of the web pages, in process (the Quart test client, no sockets):
the figure a loaded, shared machine disturbs least (`time.process_time` counts this
process's threads, the store's among them, and nothing of the neighbours').

Same seed as bench/pages.py: 40 posts on `/@alice`, a thread of 10 replies, a browser
session of alice. Each page is asked `--requests` times after a warm-up; the median of
`--rounds` rounds is printed per page, in milliseconds of CPU per request.

    .venv/bin/python bench/pages_cpu.py [--requests 200] [--rounds 3] [--profile PAGE]

`--profile home` (or profile, status, local, anon_local) prints the cProfile of that page's
requests instead, sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import seed


async def measure(data: Path, args: argparse.Namespace) -> None:
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    root, token = await seed(data)
    config = load_config(env={"WB_DATA_DIR": str(data)})
    cookie = {"Cookie": f"wb_session={token}"}
    pages: dict[str, tuple[str, dict[str, str]]] = {
        # The floor: the framework, the middlewares and one store crossing (SELECT 1).
        "health": ("/health", {}),
        "profile": ("/@alice", {}),
        "status": (f"/@alice/{root}", {}),
        "anon_local": ("/public/local", {}),
        "home": ("/home", cookie),
        "signed_profile": ("/@alice", cookie),
        "local": ("/public/local", cookie),
    }
    if args.pages:
        pages = {k: v for k, v in pages.items() if k in args.pages.split(",")}
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()

            async def get(path: str, headers: dict[str, str]) -> int:
                response = await client.get(path, headers=headers)
                body = await response.get_data()
                assert response.status_code == 200, (path, response.status_code)
                return len(body)

            for name, (path, headers) in pages.items():
                size = 0
                for _ in range(10):
                    size = await get(path, headers)
                if args.profile == name:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(args.requests):
                        await get(path, headers)
                    profiler.disable()
                    stats = pstats.Stats(profiler)
                    stats.sort_stats(args.sort).print_stats(args.lines)
                    continue
                per: list[float] = []
                for _ in range(args.rounds):
                    start = time.process_time()
                    for _ in range(args.requests):
                        await get(path, headers)
                    per.append((time.process_time() - start) / args.requests * 1000)
                rounds = " ".join(f"{v:.2f}" for v in per)
                print(
                    f"cpu {name:15s} {path:24s} {statistics.median(per):6.2f} ms/request "
                    f"(least {min(per):.2f}; rounds {rounds}; {size} bytes)"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(measure, Path(tmp), args)


if __name__ == "__main__":
    main()
