"""The delivery processes `serve` starts: the wake-up pipe between them, and their end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio

from tests.fakes.remote import RemoteServer, trust_local_key
from tests.test_cli import REPO, _delivery_children, _env, _running
from wildebeest_trio.delivery_processes import _relay_wakeups, follow_parent
from wildebeest_trio.federation.delivery import DELIVER, enqueue_deliveries
from wildebeest_trio.runtime import JobSignal, Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)


def _runtime() -> Any:
    signal = JobSignal()
    return SimpleNamespace(job_signal=signal, wake_jobs=signal.notify)


async def test_jobs_queued_by_the_parent_wake_the_child_at_once() -> None:
    parent, child = _runtime(), _runtime()
    read_end, write_end = os.pipe()
    gone = trio.Event()
    async with trio.open_nursery() as nursery:
        pipe = trio.lowlevel.FdStream(write_end)
        nursery.start_soon(_relay_wakeups, parent, {pipe: trio.Lock()})
        nursery.start_soon(follow_parent, child, gone, read_end)
        for woken in (1, 2, 3):
            await trio.sleep(0.05)  # both sides waiting
            seen = child.job_signal.generation
            parent.wake_jobs()
            with trio.fail_after(2):
                await child.job_signal.wait_at_most(10.0, seen)
            assert child.job_signal.generation >= woken
        assert not gone.is_set()
        # The parent's end closes (it exited, or was killed): the child learns it is gone.
        await pipe.aclose()
        with trio.fail_after(2):
            await gone.wait()
        nursery.cancel_scope.cancel()
    os.close(read_end)


def _serve(env: dict[str, str], log: Path, *, group: bool = False) -> subprocess.Popen[bytes]:
    """`wildebeest-trio serve`, its log in `log` (with `group`: in a process group of its
    own, as a terminal's job)."""
    with open(log, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "wildebeest_trio", "serve"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=group,
        )


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1 ORDER BY id", DELIVER.name)

    return await rt.store.read(unit)


async def test_serve_stops_its_delivery_processes_which_hand_back_their_jobs(
    rt: Runtime, remote: RemoteServer, tmp_path: Path
) -> None:
    """SIGTERM to `serve`: its delivery processes stop with it, handing back the deliveries
    they had under way (not left leased for minutes), and none outlives it."""
    await create_local_account(rt, "alice", "alice@example.org", password="pw-123456")
    await trust_local_key(rt, remote, "alice")
    remote.answer(remote.base, delay=3600)  # every POST hangs
    activity = {"id": f"{rt.config.base_url}/users/alice#notes/1", "type": "Create"}

    async def queue(conn: Connection) -> int:
        return await enqueue_deliveries(
            conn,
            rt.ids,
            key_id=f"{rt.config.base_url}/users/alice#main-key",
            activity=activity,
            inboxes=[f"{remote.base}/users/{n}/inbox" for n in range(6)],
        )

    env = _env(
        tmp_path / "serve",
        rt.config.database_url,
        WB_ALLOW_PRIVATE_ADDRESSES="1",
        WB_DELIVERY_PROCESSES="2",
        WB_DELIVERY_CONCURRENCY="2",  # two jobs each: all three processes hold some
        WB_JOB_POLL_INTERVAL="0.05",
    )
    log = tmp_path / "serve.log"  # the delivery processes' too
    server = _serve(env, log)
    try:
        with trio.fail_after(60):
            while log.read_text().count("worker started") < 2:
                assert server.poll() is None, log.read_text()
                await trio.sleep(0.05)
        assert await rt.store.write(queue) == 6
        with trio.fail_after(10):
            while len(remote.requests) < 6:
                await trio.sleep(0.05)
        holders = {job["locked_by"] for job in await _jobs(rt)}
        assert len(holders) == 3  # serve and both delivery processes
        children = _delivery_children(server.pid)
        assert len(children) == 2
        server.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            while server.poll() is None:
                await trio.sleep(0.1)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, log.read_text()
    assert not any(map(_running, children))
    jobs = await _jobs(rt)
    assert [(j["state"], j["attempts"], j["locked_by"]) for j in jobs] == [("pending", 0, None)] * 6


def test_ctrl_c_stops_serve_and_its_delivery_processes_without_restarts(tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals the whole process group: the delivery processes stop at
    once, and `serve`, still draining a request, does not start new ones meanwhile."""
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", WB_DELIVERY_PROCESSES="2")
    log = tmp_path / "serve.log"
    server = _serve(env, log, group=True)
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("worker started") < 2:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        children = _delivery_children(server.pid)
        host, port = env["WB_LISTEN"].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as unfinished:
            # A request whose body is still coming: the server drains it for its grace period.
            unfinished.sendall(
                b"POST /api/v1/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
            time.sleep(0.5)
            os.killpg(server.pid, signal.SIGINT)
            assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert len(children) == 2 and not any(map(_running, children))
    text = log.read_text()
    assert "crashed" not in text
    assert len(re.findall(r"delivery process \d+ started", text)) == 2
