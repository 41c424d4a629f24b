"""`serve --processes 2`: two web processes on one port, one database, streams across them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trio

from tests.test_cli import REPO, _env, _running, wb
from wildebeest_trio.config import ConfigError, load_config
from wildebeest_trio.streaming.peers import StreamPeers, folder_for

WAIT = 60.0
HEADER = "Wildebeest-Process"


def _web_children(pid: int) -> list[int]:
    """The extra web processes a `serve` process started (alive or not yet reaped)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"--web-child" in command and _running(int(child)):
                found.append(int(child))
    return found


@contextmanager
def _serving(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`serve --processes 2`, once both processes answer; SIGTERM at the end."""
    base = f"http://{env['WB_LISTEN']}"
    with open(log, "wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "wildebeest_trio", "serve", "--processes", "2"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_for_both(base, server, log)
        yield base, server
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for_both(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Connect afresh until each of the two processes has answered."""
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT
    while seen != {"0", "1"}:
        assert time.monotonic() < deadline, f"answered only by {seen}: {log.read_text()}"
        assert server.poll() is None, log.read_text()
        try:
            # A new connection each time: the kernel picks the process per connection.
            seen.add(httpx.get(f"{base}/health", timeout=5).headers[HEADER])
        except httpx.HTTPError:
            time.sleep(0.1)


def _post_everywhere(
    base: str, auth: dict[str, str], threads: int, each: int
) -> list[httpx.Response]:
    """`threads` clients posting `each` statuses at once, each post on a new connection."""
    answers: list[httpx.Response] = []

    def poster(n: int) -> None:
        for k in range(each):
            answers.append(
                httpx.post(
                    f"{base}/api/v1/statuses",
                    headers=auth,
                    data={"status": f"post {n}-{k}"},
                    timeout=60,
                )
            )

    workers = [threading.Thread(target=poster, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    return answers


def _statuses(base: str, auth: dict[str, str], account_id: str) -> list[dict[str, object]]:
    """Every status of an account, page by page, through the API."""
    found: list[dict[str, object]] = []
    url: str | None = f"{base}/api/v1/accounts/{account_id}/statuses?limit=40"
    while url:
        page = httpx.get(url, headers=auth, timeout=30)
        assert page.status_code == 200, page.text
        found += page.json()
        nexts = re.findall(r'<([^>]+)>; rel="next"', page.headers.get("link", ""))
        url = nexts[0] if page.json() and nexts else None
    return found


def _event_through_other_process(base: str, auth: dict[str, str]) -> tuple[str, str, int]:
    """Open a user stream, post through a connection the other process answers, and read
    the stream until that post arrives; the two processes' numbers and the posts made."""
    with (
        httpx.Client(timeout=30) as streamer,
        streamer.stream("GET", f"{base}/api/v1/streaming/user", headers=auth) as stream,
    ):
        assert stream.status_code == 200
        streaming_process = stream.headers[HEADER]
        deadline = time.monotonic() + WAIT
        made = 0
        while True:
            assert time.monotonic() < deadline, "no post was answered by the other process"
            posted = httpx.post(
                f"{base}/api/v1/statuses", headers=auth, data={"status": "across"}, timeout=30
            )
            assert posted.status_code == 200, posted.text
            made += 1
            if posted.headers[HEADER] != streaming_process:
                break
        wanted = posted.json()["id"]
        event = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "update":
                if json.loads(line.split(":", 1)[1])["id"] == wanted:
                    return streaming_process, posted.headers[HEADER], made
            assert time.monotonic() < deadline, "the event never reached the stream"
    raise AssertionError("the stream ended")


def test_two_web_processes_share_one_port_and_one_database(
    tmp_path: Path, database_url: str
) -> None:
    """Posts through many connections land once each with unique ids, a stream served by
    one process gets the post written through the other, `/metrics` counts both, and a
    child killed outright is started again. (About 30 s: two real processes each started
    twice, the point of the test.)"""
    env = _env(
        tmp_path,
        database_url,
        WB_DELIVERY_PROCESSES="0",
        WB_RATE_LIMIT_EXEMPT_LOOPBACK="true",
        WB_STREAMING_HEARTBEAT="0.5",
        WB_LOG_LEVEL="info",
    )
    created = wb(env, "accounts", "create", "alice", "--email", "alice@example.org")
    assert created.returncode == 0, created.stderr
    token = wb(env, "token", "create", "alice").stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "serve.log"

    with _serving(env, log) as (base, server):
        answers = _post_everywhere(base, auth, threads=6, each=8)
        assert [a.status_code for a in answers] == [200] * 48, [a.text for a in answers]
        assert {a.headers[HEADER] for a in answers} == {"0", "1"}
        ids = [a.json()["id"] for a in answers]
        assert len(set(ids)) == 48
        me = httpx.get(f"{base}/api/v1/accounts/verify_credentials", headers=auth).json()
        stored = _statuses(base, auth, me["id"])
        assert Counter(s["content"] for s in stored) == Counter(
            f"<p>post {n}-{k}</p>" for n in range(6) for k in range(8)
        )
        assert sorted(s["id"] for s in stored) == sorted(ids)

        streaming_process, posting_process, made = _event_through_other_process(base, auth)
        assert streaming_process != posting_process

        # Either process answers for both: the counts are summed over the processes.
        scraped = httpx.get(f"{base}/metrics", timeout=30).text
        posts = re.findall(
            r'wildebeest_http_requests_total\{method="POST",route="([^"]*statuses)",'
            r'status="200"\} ([\d.e+]+)',
            scraped,
        )
        assert [float(n) for _, n in posts] == [48.0 + made], posts

        (child,) = _web_children(server.pid)
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + WAIT
        while not (restarted := _web_children(server.pid)) or restarted == [child]:
            assert time.monotonic() < deadline, "the killed web process was not restarted"
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        _wait_for_both(base, server, log)
        again = httpx.post(
            f"{base}/api/v1/statuses", headers=auth, data={"status": "after"}, timeout=30
        )
        assert again.status_code == 200

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log.read_text()
    assert not any(map(_running, restarted))
    assert "web process 1 crashed; restarting" in log.read_text()


def test_web_processes_default_to_the_cores_and_leave_deliveries_the_rest(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    config = load_config(env={"WB_DATA_DIR": str(tmp_path)})
    assert (config.web_processes, config.delivery_processes) == (cores, 0)
    config = load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_WEB_PROCESSES": "1"})
    assert (config.web_processes, config.delivery_processes) == (1, cores - 1)
    # An in-memory database belongs to one process.
    memory = load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_DATABASE_URL": "sqlite://:memory:"})
    assert memory.web_processes == 1
    with pytest.raises(ConfigError, match="WB_WEB_PROCESSES"):
        load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_WEB_PROCESSES": "0"})
    refused = wb(_env(tmp_path, "sqlite://:memory:"), "serve", "--processes", "0")
    assert refused.returncode == 2 and "--processes" in refused.stderr


async def test_stream_datagrams_reach_live_sockets_and_clear_dead_ones(tmp_path: Path) -> None:
    """SQLite's stream fan-out: a live process's socket gets the message, the socket a
    killed process left behind is removed, and the sender skips its own."""
    folder = folder_for(str(tmp_path / "db.sqlite"))
    assert folder is not None
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "999999999"))
    dead.close()  # the file stays, as after kill -9
    live = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    live.bind(str(folder / "999999998"))
    receiver, sender = StreamPeers(folder), StreamPeers(folder)
    got: list[str] = []
    with live, trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(receiver.receive, got.append)
            assert receiver.own == str(folder / str(os.getpid()))
            assert sorted(sender.others()) == sorted(
                [receiver.own, str(folder / "999999998"), str(folder / "999999999")]
            )
            assert sender.send(b'{"c":["user:1"]}', sender.others()) == 2
            assert live.recv(100) == b'{"c":["user:1"]}'
            while not got:
                await trio.sleep(0.01)
            assert got == ['{"c":["user:1"]}']
            assert not (folder / "999999999").exists()
            # The receiving process does not send to itself.
            assert receiver.own not in receiver.others()
            nursery.cancel_scope.cancel()
    assert not Path(str(folder / str(os.getpid()))).exists()
