"""What the benchmarks share: a PostgreSQL server, server subprocesses, wrk, RSS."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wildebeest_trio.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent
# Benchmark servers reach this machine only: seeded links to example.org are refused.
LOOPBACK_ONLY = "127.0.0.0/8,::1/128"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL URL: `WB_TEST_DATABASE_URL`, or a throwaway cluster as the tests use."""
    url = os.environ.get("WB_TEST_DATABASE_URL")
    if url:
        yield url
        return
    folder = tempfile.mkdtemp(prefix="wildebeest-bench-pg.")
    env = {**os.environ, "WB_PG_PORT": str(free_port())}
    script = REPO / "scripts" / "pg-throwaway"
    url = subprocess.run(
        [str(script), "start", folder], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([str(script), "stop", folder], env=env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def seeded_row(url: str, table: str) -> tuple[int, ...] | None:
    """The row a finished seed leaves in its marker `table` (what it was seeded with), None
    when the database has none (not seeded, or the seed did not finish)."""
    import asyncio
    import sqlite3

    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        if not Path(path).exists():
            return None
        raw = sqlite3.connect(path)
        try:
            if not raw.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                return None
            return tuple(int(v) for v in raw.execute(f"SELECT * FROM {table}").fetchone())
        finally:
            raw.close()

    async def pg() -> tuple[int, ...] | None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            if await conn.fetchval("SELECT to_regclass($1)", table) is None:
                return None
            return tuple(int(v) for v in await conn.fetchrow(f"SELECT * FROM {table}"))
        finally:
            await conn.close()

    return asyncio.run(pg())


@contextlib.contextmanager
def bench_database(base: str, name: str, *, keep: bool) -> Iterator[tuple[str, Any]]:
    """A database `name` on the PostgreSQL server of `base` (created if missing): its URL
    and a function that empties it (drop and create again). Dropped at the end unless
    `keep` (a seeded database later runs reuse)."""
    import asyncio
    from urllib.parse import urlsplit, urlunsplit

    async def admin(sql: str) -> Any:
        import asyncpg

        conn = await asyncpg.connect(base)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def reset() -> None:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        asyncio.run(admin(f"CREATE DATABASE {name}"))

    if not asyncio.run(admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")):
        asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}")), reset
    finally:
        if not keep:
            asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def seed_config(settings: dict[str, str]) -> Config:
    """The settings a benchmark seeds the database of `settings` (WB_DATA_DIR,
    WB_DATABASE_URL) with, before its server starts: cheap password hashing."""
    return load_config(
        env={},
        overrides={
            "data_dir": settings["WB_DATA_DIR"],
            "database_url": settings["WB_DATABASE_URL"],
            "argon2_time_cost": 1,
            "argon2_memory_kib": 64,
            "argon2_parallelism": 1,
            # Seeding makes no connections; and if it did, none would leave the machine.
            "outbound_allow": LOOPBACK_ONLY,
        },
    )


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _wildebeest(command: str, data_dir: Path, port: int, settings: dict[str, str]) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(
        WB_DATA_DIR=str(data_dir),
        WB_LISTEN=f"127.0.0.1:{port}",
        WB_LOG_LEVEL="warning",
        WB_OUTBOUND_ALLOW=LOOPBACK_ONLY,
        # One web process unless a bench asks for more (the default is one per core).
        WB_WEB_PROCESSES="1",
    )
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "wildebeest_trio", command],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@contextlib.contextmanager
def wildebeest_server(
    data_dir: Path, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`wildebeest-trio serve` on a free port (SQLite in `data_dir` unless told otherwise)."""
    port = free_port()
    proc = _wildebeest("serve", data_dir, port, settings)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health", proc)
        yield base, proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def wildebeest_workers(
    data_dir: Path, base: str, count: int, **settings: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `wildebeest-trio worker` processes beside the server at `base` (started,
    and migrated, by `wildebeest_server` with the same settings)."""
    port = int(base.rsplit(":", 1)[1])
    procs = [_wildebeest("worker", data_dir, port, settings) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            _stop(proc)


@contextlib.contextmanager
def hello_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The baseline: a bare QuartTrio hello route, served by Hypercorn's Trio worker."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "hello_app.py"), str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/", proc)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int = 0  # answered in the run, whatever their status
    socket_errors: int = 0  # connect, read, write and timeout errors together

    @property
    def ok_per_second(self) -> float:
        """Requests/s that got a 2xx or 3xx answer (error answers are not throughput)."""
        if not self.requests:
            return self.requests_per_second
        return self.requests_per_second * (self.requests - self.non_2xx) / self.requests


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    connections: int = 20,
    seconds: int = 8,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """Load a URL with wrk (Debian's package), sending `headers` (a session cookie, say),
    and parse its latency distribution."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    extra = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        rps,
        p50,
        p99,
        int(bad.group(1)) if bad else 0,
        int(total.group(1)) if total else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used."""
    return sum(cpu_split(pid))


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its live descendants (worker processes)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # exited meanwhile
    return total


def named_cpu_seconds(name: str) -> float:
    """CPU time used so far by every live process called `name` (`postgres`: the
    database servers on this machine, which share its cores with the server measured)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == name:
                total += cpu_seconds(int(proc.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
    return total


def callgrind_millions(script: str, job: list[object], code: Path, out: Path, n: int) -> float:
    """Millions of instructions per request: `script --inside JOB` run under callgrind
    with the code of the checkout `code`, counting only where it turns counting on
    (`callgrind_control -i on`, around `n` requests).

    Only the measuring process calls this: the one under callgrind imports the other
    checkout's `bench`, which may predate it."""
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            script,
            "--inside",
            json.dumps(job),
        ],
        env={**os.environ, "WB_BENCH_CODE": str(code), "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    assert found, run.stderr[-2000:]
    return int(found.group(1)) / n / 1e6


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def ratio(name: str, value: float) -> None:
    print(f"ratio {name} {value:.3f}")
