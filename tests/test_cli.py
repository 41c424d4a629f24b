"""The command line with WB_* settings: the commands through `main` in this process (as
`python -m wildebeest_trio` calls it, with the environment and the standard streams it
would have), and `serve` and `worker` as a user runs them, in subprocesses.

`test_cli_runs_as_a_subprocess` runs a few commands through `python -m wildebeest_trio`
itself, so the in-process runs stand for what a subprocess prints and exits with."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import trio

from tests.conftest import LOOPBACK, free_port
from wildebeest_trio.cli import main

REPO = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(
        WB_DATA_DIR=str(tmp_path / "data"),
        WB_DATABASE_URL=database_url,
        WB_ARGON2_TIME_COST="1",
        WB_ARGON2_MEMORY_KIB="64",
        WB_ARGON2_PARALLELISM="1",
        WB_LISTEN=f"127.0.0.1:{free_port()}",
        WB_OUTBOUND_ALLOW=LOOPBACK,
        # One web process unless a test asks for more (the default is one per core).
        WB_WEB_PROCESSES="1",
    )
    env.update(extra)
    return env


def wb_process(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m wildebeest_trio ARGS` in a subprocess with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "wildebeest_trio", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`wildebeest-trio ARGS` through `main` in this process, with `env` as its whole
    environment: what it printed and its exit status, as a subprocess's (a subprocess
    costs a second of imports; this file runs dozens of commands)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            returncode = main(list(args))
        except SystemExit as exc:  # argparse: --help, or a usage error
            returncode = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(args), returncode, out.getvalue(), err.getvalue())


def test_cli_runs_as_a_subprocess(tmp_path: Path) -> None:
    """`python -m wildebeest_trio` is `main` with the process's arguments and environment,
    its return value the exit status: help, a configuration error, and a command that
    works, on stdout and stderr as the in-process runs capture them."""
    helped = wb_process(_env(tmp_path, "sqlite:///x"), "accounts", "create", "--help")
    assert helped.returncode == 0
    assert "usage: wildebeest-trio accounts create" in helped.stdout
    bad = wb_process(_env(tmp_path, "sqlite:///x", WB_REGISTRATIONS="maybe"), "migrate")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "WB_REGISTRATIONS" in bad.stderr
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrated = wb_process(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_" in migrated.stderr
    rule = wb_process(env, "instance", "rules", "add", "Be excellent")
    assert rule.returncode == 0, rule.stderr
    assert rule.stdout.strip().isdigit()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["accounts", "create"],
        ["token", "create"],
        ["instance", "rules", "add"],
        ["emoji", "add"],
        ["announcements", "add"],
        ["config"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = wb(_env(tmp_path, "sqlite:///x"), *command, "--help")
    assert result.returncode == 0
    assert "usage: wildebeest-trio" in result.stdout


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    result = wb(_env(tmp_path, "sqlite:///x", WB_REGISTRATIONS="maybe"), "migrate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "WB_REGISTRATIONS" in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    result = wb(_env(tmp_path, url), "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


def test_migrate_accounts_and_token(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    migrated = wb(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    again = wb(env, "migrate")
    assert "up to date" in again.stderr

    created = wb(env, "accounts", "create", "alice", "--email", "alice@example.org", "--admin")
    assert created.returncode == 0, created.stderr
    password = created.stdout.strip()
    assert len(password) >= 16 and "\n" not in password
    assert "created account alice" in created.stderr

    given = wb(
        env,
        "accounts",
        "create",
        "bob",
        "--email",
        "bob@example.org",
        "--password",
        "hunter2hunter2",
    )
    assert given.returncode == 0 and given.stdout == ""

    for args, message in [
        (["alice", "--email", "other@example.org"], "username is already taken"),
        (["ALICE", "--email", "other@example.org"], "username is already taken"),
        (["carol", "--email", "alice@example.org"], "email is already taken"),
        (["bad name", "--email", "x@example.org"], "letters, numbers"),
        (["dave", "--email", "not-an-email"], "email is invalid"),
        (["erin", "--email", "e@example.org", "--password", "short"], "too short"),
    ]:
        bad = wb(env, "accounts", "create", *args)
        assert bad.returncode == 1, args
        assert message in bad.stderr
        assert bad.stderr.strip().count("\n") == 0

    assert wb(env, "accounts", "modify", "bob", "--disable").returncode == 0
    assert wb(env, "accounts", "modify", "bob", "--enable", "--role", "moderator").returncode == 0
    missing = wb(env, "accounts", "approve", "nobody")
    assert missing.returncode == 1 and "no local account" in missing.stderr
    assert wb(env, "accounts", "modify", "bob", "--disable", "--enable").returncode == 1

    token = wb(env, "token", "create", "alice", "--scopes", "read write")
    assert token.returncode == 0, token.stderr
    bare = token.stdout.strip()
    assert token.stdout == bare + "\n" and len(bare) >= 32
    assert wb(env, "token", "create", "nobody").returncode == 1
    bad_scope = wb(env, "token", "create", "alice", "--scopes", "read sudo")
    assert bad_scope.returncode == 1 and "sudo" in bad_scope.stderr

    rule = wb(env, "instance", "rules", "add", "Be excellent")
    assert rule.returncode == 0
    listed = wb(env, "instance", "rules", "list")
    assert listed.stdout.strip() == f"{rule.stdout.strip()}\tBe excellent"

    # A server on the same database sees all of it, and the token is stored hashed.
    instance = trio.run(_instance_document, env)
    assert instance["stats"]["user_count"] == 2
    assert instance["contact_account"]["username"] == "alice"
    assert [r["text"] for r in instance["rules"]] == ["Be excellent"]
    digest = hashlib.sha256(bare.encode()).hexdigest()
    assert bare not in _dump(database_url)
    assert digest in _dump(database_url)


async def _instance_document(env: dict[str, str]) -> Any:
    """GET /api/v1/instance from the application `serve` runs with `env`'s settings."""
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.config import load_config
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    with mock.patch.dict(os.environ, env, clear=True):
        config = load_config()
    async with open_server_runtime(config, migrate=False) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            response = await app.test_client().get("/api/v1/instance")
            assert response.status_code == 200
            return await response.get_json()


def _dump(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        import sqlite3

        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as db:
            return "\n".join(db.iterdump())
    import asyncio

    import asyncpg

    async def dump() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT token_hash FROM oauth_access_tokens")
            return "\n".join(r[0] for r in rows)
        finally:
            await conn.close()

    return asyncio.run(dump())


class _server:
    """`wildebeest-trio serve` in a subprocess, stopped with SIGTERM on exit."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env = env
        self.args = args
        self.base = f"http://{env['WB_LISTEN']}"

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wildebeest_trio", "serve", *self.args],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stderr.read() if self.proc.stderr else "exited")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).text == "OK":
                    return self.base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_shuts_down_cleanly_on_signal(tmp_path: Path, signum: int) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    server = _server(env)
    with server as base:
        assert httpx.get(f"{base}/api/v2/instance").status_code == 200
        started = time.monotonic()
        server.proc.send_signal(signum)
        returncode = server.proc.wait(timeout=15)
        assert time.monotonic() - started < 8
    assert returncode == 0
    stderr = server.proc.stderr.read() if server.proc.stderr else ""
    assert "Traceback" not in stderr


def _wait_for_line(process: subprocess.Popen[str], text: str, timeout: float) -> bool:
    """Read the process's stderr until a line contains `text`; whether one did in time."""
    assert process.stderr is not None
    stream = process.stderr
    found = threading.Event()

    def read() -> None:
        for line in stream:
            if text in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    return found.wait(timeout)


def test_serve_no_migrate_and_worker(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert wb_process(env, "migrate").returncode == 0
    with _server(env, "--no-migrate") as base:
        assert httpx.get(f"{base}/health").text == "OK"
    assert (tmp_path / "data" / "secret_key").exists()
    worker = subprocess.Popen(
        [sys.executable, "-m", "wildebeest_trio", "worker"],
        env=env,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Signal only once it says it is running: under load, start-up takes seconds.
    assert _wait_for_line(worker, "worker started", timeout=60), "the worker never started"
    assert worker.poll() is None
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0


def _delivery_children(pid: int) -> list[int]:
    """The delivery processes a `serve` process started."""
    found = []
    # Any thread may be the parent (Trio starts processes from a worker thread).
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"--deliveries" in command:
                found.append(int(child))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited: only its parent has yet to reap it


def test_serve_starts_delivery_processes_that_end_with_it(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", WB_DELIVERY_PROCESSES="2")
    server = _server(env)
    with server:
        deadline = time.monotonic() + 30
        while len(children := _delivery_children(server.proc.pid)) < 2:
            assert time.monotonic() < deadline, "no delivery processes"
            time.sleep(0.1)
        # Killed outright, the server cannot stop them: each sees its pipe end and stops.
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        deadline = time.monotonic() + 30
        while any(map(_running, children)):
            assert time.monotonic() < deadline, "delivery processes outlived the server"
            time.sleep(0.1)
