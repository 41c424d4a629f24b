"""CPU time per timeline request, in process: home and local public against a one-query route.

Seeds (as `bench/timelines.py`, smaller: 1,000 accounts, 20,000 statuses, 300 followed)
and drives the application through Quart's test client, one request at a time, timing the
process's CPU (`time.process_time`: the Trio thread, SQLite's threads and asyncpg's asyncio
thread; not PostgreSQL's server). The machine may be shared: CPU time, unlike a rate,
barely moves with the load.

    .venv/bin/python bench/timelines_cpu.py [--backend sqlite|postgres] [--requests 300]
        [--profile home|public]   # cProfile of that route, top 30 by cumulative time
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import postgres, seed_config
from bench.timelines import fresh_database, seed
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.services.instance import ensure_instance_keys

ROUTES = {
    "emojis": "/api/v1/custom_emojis",
    "home": "/api/v1/timelines/home?limit=40",
    "public": "/api/v1/timelines/public?local=true&limit=40",
}


async def measure(database_url: str, data_dir: str, args: argparse.Namespace) -> None:
    settings = {"WB_DATA_DIR": data_dir, "WB_DATABASE_URL": database_url}
    # As the live bench, where loopback callers are exempt: no rate limits.
    config = dataclasses.replace(seed_config(settings), rate_limits=False)
    async with open_server_runtime(config) as rt:
        token = await seed(rt, accounts=1_000, statuses_count=20_000, follows=300)
        await ensure_instance_keys(rt)
        app = create_app(rt)
        headers = {"Authorization": f"Bearer {token}"}
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for path in ROUTES.values():  # warm: the feed built, the entities kept
                for _ in range(5):
                    response = await client.get(path, headers=headers)
                    assert response.status_code == 200, (path, response.status_code)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.requests):
                    await client.get(ROUTES[args.profile], headers=headers)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                return
            per: dict[str, list[float]] = {name: [] for name in ROUTES}
            for _ in range(args.runs):
                for name, path in ROUTES.items():
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(args.requests):
                        response = await client.get(path, headers=headers)
                        assert response.status_code == 200, (path, response.status_code)
                    cpu = (time.process_time() - cpu) / args.requests * 1000
                    wall = (time.perf_counter() - wall) / args.requests * 1000
                    per[name].append(cpu)
                    print(f"{name:>7}: {cpu:6.2f} ms CPU, {wall:6.2f} ms wall per request")
            for name, values in per.items():
                print(f"median {name:>7}: {statistics.median(values):6.2f} ms CPU per request")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", choices=tuple(ROUTES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = str(Path(tmp) / "data")
        if args.backend == "sqlite":
            trio.run(measure, f"sqlite:///{tmp}/data/bench.db", data_dir, args)
        else:
            with postgres() as url:
                with fresh_database(url) as database:
                    trio.run(measure, database, data_dir, args)


if __name__ == "__main__":
    main()
