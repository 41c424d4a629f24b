"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests need `WB_TEST_DATABASE_URL` (a server where we may create
databases; `scripts/test` starts a throwaway cluster and sets it). Without it
they skip with that reason. Each test gets a fresh database.

No test reaches past this machine: servers run with `WB_OUTBOUND_ALLOW` set to
loopback, and an audit hook refuses (and fails the test for) any socket this
process opens towards another address, DNS queries included.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import trio
from werkzeug.routing.rules import Rule

from tests.ports import free_port
from tests.seaweed import seaweed  # noqa: F401 - the session fixture of the S3 tests
from wildebeest_trio import signatures
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config, load_config
from wildebeest_trio.federation import instance_actor
from wildebeest_trio.inbox.consumer import run_inbox
from wildebeest_trio.net import Outbound, OutboundPolicy
from wildebeest_trio.resolver import Resolver
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import accounts

PG_ENV = "WB_TEST_DATABASE_URL"
LOOPBACK = "127.0.0.0/8,::1/128"
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

# Cheap password hashing: tests only, never production.
TEST_SETTINGS: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 64,
    "argon2_parallelism": 1,
    "job_poll_interval": 0.05,
    "streaming_heartbeat": 0.5,
    # Rate limits are tested on their own (test_oauth.py turns them on).
    "rate_limits": False,
    # Most tests sign people up and use them at once; the default (`approval`) is tested
    # in test_accounts_api.py by passing `registrations=None`.
    "registrations": "open",
    # Nothing leaves the machine: links to example.org in test content are refused, never
    # fetched, and the system's DNS servers (not on loopback) are never asked.
    "outbound_allow": LOOPBACK,
    # A remote status's card is fetched at once (servers spread them over a minute).
    "preview_card_spread": 0,
}

# What this process tried to reach beyond loopback (see `_refuse_far_sockets`).
_far_attempts: list[str] = []


def _is_near(address: object) -> bool:
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return True  # Unix sockets, netlink and the like stay on this machine
    host = address[0].split("%", 1)[0]
    if host in ("", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _refuse_far_sockets(event: str, args: tuple[object, ...]) -> None:
    """Audit hook: a connect or datagram to anything but loopback is refused and recorded."""
    if event in ("socket.connect", "socket.sendto") and not _is_near(args[-1]):
        _far_attempts.append(f"{event} {args[-1]!r}")
        raise PermissionError(f"tests may not reach {args[-1]!r}")


sys.addaudithook(_refuse_far_sockets)


# How long each test took on a whole run (tests/durations.json, refreshed by
# scripts/test-durations): the workers are handed the longest tests first (pytest-xdist's
# `load` keeps the collected order), so no long test starts last and keeps one worker busy
# after the others have finished. A test the file does not name counts as its file's
# median, or as DEFAULT_DURATION in a new file; a stale file costs balance, never a test.
DURATIONS_FILE = Path(__file__).with_name("durations.json")
DEFAULT_DURATION = 1.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        metavar="PATH",
        default=None,
        help="write each test's duration (setup, call and teardown) to PATH as JSON "
        "(scripts/test-durations makes tests/durations.json so)",
    )


def _known_durations() -> dict[str, float]:
    try:
        loaded = json.loads(DURATIONS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first, by tests/durations.json (a stable sort: ties keep the collected
    order)."""
    known = _known_durations()
    by_file: dict[str, list[float]] = {}
    for nodeid, seconds in known.items():
        by_file.setdefault(nodeid.split("::", 1)[0], []).append(seconds)
    file_median = {name: statistics.median(times) for name, times in by_file.items()}

    def expected(item: pytest.Item) -> float:
        if item.nodeid in known:
            return known[item.nodeid]
        return file_median.get(item.nodeid.split("::", 1)[0], DEFAULT_DURATION)

    items.sort(key=expected, reverse=True)


_recorded: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum each test's phases for --record-durations (on the controller, reports from the
    workers arrive here too)."""
    _recorded[report.nodeid] = _recorded.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--record-durations")
    if not target or hasattr(session.config, "workerinput"):
        return  # only the controller (or a run without workers) writes the file
    rounded = {nodeid: round(seconds, 2) for nodeid, seconds in sorted(_recorded.items())}
    Path(target).write_text(json.dumps(rounded, indent=0, ensure_ascii=False) + "\n")


class _KeyPool:
    """RSA keys for the accounts and instance actors the tests make, generated once per process
    and handed out again in each test: a 2048-bit key costs a third of a second, and most tests
    make several. Within one test every key handed out is a different one (a test of a wrong
    key stays able to fail); a test needing more than the pool holds grows it."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []
        self.handed_out = 0
        self.lock = threading.Lock()

    def new_test(self) -> None:
        with self.lock:
            self.handed_out = 0

    def take(self, bits: int = 2048) -> tuple[str, str]:
        if bits != 2048:
            return signatures.generate_rsa_keypair(bits)
        with self.lock:
            index, self.handed_out = self.handed_out, self.handed_out + 1
            if index < len(self.keys):
                return self.keys[index]
        # Called from worker threads: generated outside the lock, appended once made (each
        # caller gets the key it made; two made at once both join the pool).
        made = signatures.generate_rsa_keypair(bits)
        with self.lock:
            self.keys.append(made)
        return made


_KEYS = _KeyPool()
# The only places the server makes RSA keys (test_signatures* call the real function).
accounts.generate_rsa_keypair = _KEYS.take
instance_actor.generate_rsa_keypair = _KEYS.take


_compile_builder = Rule._compile_builder
_builders: dict[tuple[Any, ...], Any] = {}


def _remembered_builder(self: Rule, append_unknown: bool = True) -> Any:
    """Werkzeug's URL builder for a rule, compiled once per process: the tests make an
    application (about 400 rules) per test, and compiling each rule's builder from an AST
    was nine tenths of that. The code depends only on what the key holds (the function is
    bound to each rule afterwards, and reads its converters through it)."""
    key = (
        self.rule,
        self.host,
        self.subdomain,
        tuple(self._trace),
        repr(sorted((self.defaults or {}).items())),
        append_unknown,
    )
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


Rule._compile_builder = _remembered_builder  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_keys_per_test() -> None:
    """The key pool starts over for each test (its keys are distinct within a test)."""
    _KEYS.new_test()


@pytest.fixture(autouse=True)
def _stays_on_this_machine() -> Iterator[None]:
    """Fails a test during which this process tried to reach past loopback."""
    del _far_attempts[:]
    yield
    attempts, _far_attempts[:] = list(_far_attempts), []
    assert not attempts, f"the test tried to reach past this machine: {attempts}"


def loopback_outbound(
    *,
    allow_private: bool = True,
    dns_servers: list[tuple[str, int]] | None = None,
    dns_timeout: float = 5.0,
    **options: Any,
) -> Outbound:
    """An Outbound as the tests' servers have: loopback only, asking only `dns_servers`."""
    policy = OutboundPolicy(allow=LOOPBACK_NETWORKS, allow_private=allow_private)
    resolver = Resolver(
        servers=dns_servers or [],
        timeout=dns_timeout,
        permitted=lambda address: policy.refusal(address, configured=True) is None,
    )
    return Outbound(policy, resolver, **options)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class _PgCopies:
    """Copies of the migrated template, one made ahead in a thread while a test runs, and
    dropped in that thread after their test (creating and dropping a database cost a few
    tenths of a second each, at every PostgreSQL test's start and end)."""

    def __init__(self, base: str, template: str) -> None:
        self.base = base
        self.template = template
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies")
        self.spare: Future[str] | None = None

    def _create(self) -> str:
        name = f"wbt_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(self.base, f"CREATE DATABASE {name} TEMPLATE {self.template}"))
        return name

    def take(self) -> str:
        """A fresh copy's name (the spare made ahead, and another started)."""
        spare, self.spare = self.spare, self.thread.submit(self._create)
        return spare.result() if spare is not None else self._create()

    def drop(self, name: str) -> None:
        self.thread.submit(
            asyncio.run, _pg_admin(self.base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        )

    def close(self) -> None:
        """Drop the spare, after the drops still queued."""
        if self.spare is not None:
            self.drop(self.spare.result())
        self.thread.shutdown(wait=True)


@pytest.fixture(scope="session")
def pg_copies() -> Iterator[_PgCopies | None]:
    """Copies of a migrated template database on the test server, migrated once per run."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    name = f"wbt_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(base, f"CREATE DATABASE {name}"))

    async def migrate_template() -> None:
        from wildebeest_trio.store import open_store
        from wildebeest_trio.store.migrate import migrate

        store = await open_store(_with_database(base, name), pg_pool_size=2)
        try:
            await migrate(store)
        finally:
            await store.aclose()

    trio.run(migrate_template)
    copies = _PgCopies(base, name)
    try:
        yield copies
    finally:
        copies.close()
        asyncio.run(_pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def pg_database(request: pytest.FixtureRequest, *, migrated: bool = True) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, migrated (a copy of the template) or
    empty, dropped afterwards; the test skips without a server."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (scripts/test starts a throwaway server)")
    if migrated:
        copies: _PgCopies = request.getfixturevalue("pg_copies")
        name = copies.take()
        yield _with_database(base, name)
        copies.drop(name)
        return
    name = f"wbt_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(base, f"CREATE DATABASE {name}"))
    yield _with_database(base, name)
    asyncio.run(_pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


_sqlite_template: list[Path] = []
_sqlite_template_lock = threading.Lock()


def _migrated_sqlite_template() -> Path:
    """A migrated SQLite database file, made once per process (migrating costs about half a
    second; copying the file, milliseconds). Callable inside a running Trio loop too: the
    migration runs in a thread of its own."""
    with _sqlite_template_lock:
        if _sqlite_template:
            return _sqlite_template[0]
        folder = Path(tempfile.mkdtemp(prefix="wbt-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        migrated = folder / "migrated.db"

        async def make() -> None:
            from wildebeest_trio.store import open_store
            from wildebeest_trio.store.backups import copy_sqlite
            from wildebeest_trio.store.migrate import migrate

            store = await open_store(f"sqlite:///{folder / 'work.db'}")
            try:
                await migrate(store)
            finally:
                await store.aclose()
            # One self-contained file (no WAL beside it), as a copy must be.
            copy_sqlite(folder / "work.db", migrated)

        failed: list[BaseException] = []

        def run() -> None:
            try:
                trio.run(make)
            except BaseException as exc:  # re-raised in the caller's thread
                failed.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
        _sqlite_template.append(migrated)
        return migrated


def migrated_sqlite_url(path: Path) -> str:
    """The URL of a new SQLite database at `path`, already migrated (a copy of the template)."""
    shutil.copyfile(_migrated_sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path / "wildebeest.db")
        return
    yield from pg_database(request)


def make_config(tmp_path: Path, database_url: str, **overrides: Any) -> Config:
    """Settings for a test server: its own data folder and port, cheap hashing.

    An override of None leaves that setting at the server's default.
    """
    values: dict[str, Any] = {
        **TEST_SETTINGS,
        "data_dir": str(tmp_path / "data"),
        "database_url": database_url,
        "listen": f"127.0.0.1:{free_port()}",
    }
    values.update(overrides)
    return load_config(env={}, overrides={k: v for k, v in values.items() if v is not None})


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url)


@pytest.fixture
async def rt(config: Config) -> AsyncIterator[Runtime]:
    """An open runtime (store migrated, id node leased) on each backend."""
    async with open_server_runtime(config) as runtime:
        yield runtime


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[Any]:
    """A Quart test client for the application on `rt`."""
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    await ensure_instance_keys(rt)
    app = create_app(rt)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def serve_instance(rt: Runtime, nursery: trio.Nursery) -> str:
    """Run a whole server for `rt` in `nursery`, as `serve` does; its base URL.

    Hypercorn on Trio, the stream relay, job workers and the outbox and inbox consumers.
    """
    from wildebeest_trio.federation.instance_actor import ensure_instance_actor
    from wildebeest_trio.federation.outbox import run_outbox
    from wildebeest_trio.jobs.worker import run_workers
    from wildebeest_trio.server import run_http_server
    from wildebeest_trio.services.instance import ensure_instance_keys
    from wildebeest_trio.streaming.relay import run_relay

    await ensure_instance_keys(rt)
    await ensure_instance_actor(rt)
    await nursery.start(run_relay, rt)
    nursery.start_soon(run_workers, rt)
    nursery.start_soon(run_outbox, rt)
    nursery.start_soon(run_inbox, rt)
    await nursery.start(run_http_server, rt)
    return rt.config.base_url


@pytest.fixture
async def live_server(rt: Runtime, nursery: trio.Nursery) -> AsyncIterator[str]:
    """The real HTTP server (Hypercorn on Trio) for `rt`; its base URL."""
    yield await serve_instance(rt, nursery)
