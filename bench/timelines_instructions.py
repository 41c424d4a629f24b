"""Instructions per timeline request, in process, under callgrind: a count load does not move.

Seeds once (as `bench/timelines_cpu.py`: 1,000 accounts, 20,000 statuses, 300 followed),
then for each route starts a fresh process under `valgrind --tool=callgrind
--instr-atstart=no`, which warms every route through Quart's test client and counts only
the measured requests (`callgrind_control -i on/off` around them), in every thread: the
Trio thread, SQLite's readers, asyncpg's loop (not PostgreSQL's server).

    .venv/bin/python bench/timelines_instructions.py [--backend sqlite|postgres] [--requests 60]
    .venv/bin/python bench/timelines_instructions.py --code OTHER_CHECKOUT  # its code, this seed
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import trio

sys.path.insert(0, os.environ.get("WB_BENCH_CODE") or str(Path(__file__).resolve().parent.parent))

from bench.support import postgres, seed_config
from bench.timelines import fresh_database, seed
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config
from wildebeest_trio.http import create_app
from wildebeest_trio.services.instance import ensure_instance_keys

HERE = Path(__file__).resolve().parent.parent
ROUTES = {
    "emojis": "/api/v1/custom_emojis",
    "home": "/api/v1/timelines/home?limit=40",
    "public": "/api/v1/timelines/public?local=true&limit=40",
}


def _config(data_dir: str, url: str) -> Config:
    settings = {"WB_DATA_DIR": data_dir, "WB_DATABASE_URL": url}
    # As the live bench, where loopback callers are exempt: no rate limits.
    return dataclasses.replace(seed_config(settings), rate_limits=False)


async def seed_into(data_dir: str, url: str) -> str:
    """Seed the database; the viewer's token."""
    async with open_server_runtime(_config(data_dir, url)) as rt:
        token = await seed(rt, accounts=1_000, statuses_count=20_000, follows=300)
        await ensure_instance_keys(rt)
    return token


async def requests(data_dir: str, url: str, token: str, route: str, count: int) -> None:
    """Warm every route, then run `count` requests of one with callgrind counting."""
    async with open_server_runtime(_config(data_dir, url)) as rt:
        app = create_app(rt)
        headers = {"Authorization": f"Bearer {token}"}
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for path in [*ROUTES.values(), ROUTES[route]]:
                for _ in range(3):
                    response = await client.get(path, headers=headers)
                    assert response.status_code == 200, (path, response.status_code)
            pid = str(os.getpid())
            await trio.run_process(["callgrind_control", "-i", "on", pid], capture_stdout=True)
            for _ in range(count):
                await client.get(ROUTES[route], headers=headers)
            await trio.run_process(["callgrind_control", "-i", "off", pid], capture_stdout=True)


def measure(url: str, tmp: str, args: argparse.Namespace) -> None:
    # Here, not above: the process under callgrind imports another checkout's `bench`,
    # which may predate this helper.
    from bench.support import callgrind_millions

    data_dir = str(Path(tmp) / "data")
    token = trio.run(seed_into, data_dir, url)
    for route in ROUTES:
        job: list[object] = [data_dir, url, token, route, args.requests]
        out = Path(tmp) / f"callgrind.{route}.out"
        millions = callgrind_millions(__file__, job, args.code, out, args.requests)
        print(f"{route:>7}: {millions:6.2f} M instructions per request")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--code", type=Path, default=HERE, help="the checkout to measure")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        data_dir, url, token, route, n = json.loads(args.inside)
        trio.run(requests, data_dir, url, token, route, n)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "sqlite":
            measure(f"sqlite:///{tmp}/data/bench.db", tmp, args)
        else:
            with postgres() as url:
                with fresh_database(url) as database:
                    measure(database, tmp, args)


if __name__ == "__main__":
    main()
