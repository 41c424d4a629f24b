"""A sending server for the crash test: `python -m tests.outboxproc DATABASE_URL DIR`.

It runs what `serve` runs for federation (the outbox consumer and the delivery
workers) against the test's database, until killed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import trio

from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.federation.outbox import run_outbox
from wildebeest_trio.jobs.worker import run_workers


async def main(database_url: str, folder: Path) -> None:
    config = load_config(
        env={},
        overrides={
            "database_url": database_url,
            "data_dir": str(folder / "data"),
            "allow_private_addresses": True,
            "outbound_allow": "127.0.0.0/8,::1/128",  # nothing leaves the machine
            "job_lease": 1.0,
            "job_poll_interval": 0.05,
            "workers": 4,
        },
    )
    async with open_server_runtime(config) as rt:
        (folder / f"ready-{os.getpid()}").touch()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_outbox, rt)
            nursery.start_soon(run_workers, rt)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], Path(sys.argv[2]))
