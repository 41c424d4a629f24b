"""An inbox consumer for the crash test: `python -m tests.inboxproc DATABASE_URL DIR LISTEN`.

It runs what every server process runs for the inbox (the consumer, nothing else)
against the test's database, as the instance listening on LISTEN, until killed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import trio

from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.inbox.consumer import run_inbox


async def main(database_url: str, folder: Path, listen: str) -> None:
    config = load_config(
        env={},
        overrides={
            "database_url": database_url,
            "data_dir": str(folder / "data"),
            "listen": listen,  # the same instance: the same domain as the test's
            "allow_private_addresses": True,
            "outbound_allow": "127.0.0.0/8,::1/128",  # nothing leaves the machine
            "job_lease": 1.0,
            "job_poll_interval": 0.05,
        },
    )
    async with open_server_runtime(config, migrate=False) as rt:
        (folder / f"ready-{os.getpid()}").touch()
        await run_inbox(rt)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], Path(sys.argv[2]), sys.argv[3])
