"""A worker process for the crash test: `python -m tests.jobproc DATABASE_URL DIR`.

Its one job kind, `test.crashable`, writes `DIR/started-<pid>` and then hangs while
`DIR/hang` exists (so the test can kill it mid-job), or writes `DIR/done` otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import trio

from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.jobs import JobKind, JobRegistry
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime

CRASHABLE = JobKind("test.crashable", max_attempts=5)


def registry(folder: Path) -> JobRegistry:
    reg = JobRegistry()

    async def handle(rt: Runtime, payload: dict[str, Any]) -> None:
        (folder / f"started-{os.getpid()}").write_text(payload["note"])
        if (folder / "hang").exists():
            await trio.sleep_forever()
        with open(folder / "done", "a") as out:
            out.write(payload["note"] + "\n")

    reg.register(CRASHABLE, handle)
    return reg


async def main(database_url: str, folder: Path) -> None:
    config = load_config(
        env={},
        overrides={
            "database_url": database_url,
            "data_dir": str(folder / "data"),
            "job_lease": 1.0,
            "job_poll_interval": 0.05,
            "workers": 2,
            "outbound_allow": "127.0.0.0/8,::1/128",  # nothing leaves the machine
        },
    )
    async with open_server_runtime(config, registry=registry(folder)) as rt:
        await run_workers(rt)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], Path(sys.argv[2]))
