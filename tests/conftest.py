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
import ipaddress
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import trio

from tests.ports import free_port
from tests.seaweed import seaweed  # noqa: F401 - the session fixture of the S3 tests
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config, load_config
from wildebeest_trio.inbox.consumer import run_inbox
from wildebeest_trio.net import Outbound, OutboundPolicy
from wildebeest_trio.resolver import Resolver
from wildebeest_trio.runtime import Runtime

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


# The files that take longest, longest first (measured on a full run): they are handed to
# the workers before the rest (pytest-xdist's loadfile keeps the collected order), so no
# long file starts last and keeps one worker busy after the others have finished.
LONGEST_FIRST = [
    "test_route_walk.py",
    "test_cli.py",
    "test_filters_api.py",
    "test_media_av.py",
    "test_polls_api.py",
    "test_discovery.py",
    "test_oauth.py",
    "test_media_api.py",
    "test_imports.py",
    "test_media_store.py",
    "test_backup.py",
    "test_inbox_domain_blocks.py",
    "test_web_processes.py",
    "test_delivery.py",
    "test_browser_flows.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest files first (a stable sort: each file's tests keep their order)."""
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated template database on the test server, made once per run."""
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
    yield name
    asyncio.run(_pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def pg_database(request: pytest.FixtureRequest, *, migrated: bool = True) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, migrated (a copy of the template) or
    empty, dropped afterwards; the test skips without a server."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (scripts/test starts a throwaway server)")
    name = f"wbt_{uuid.uuid4().hex[:12]}"
    if migrated:
        template = request.getfixturevalue("pg_template")
        asyncio.run(_pg_admin(base, f"CREATE DATABASE {name} TEMPLATE {template}"))
    else:
        asyncio.run(_pg_admin(base, f"CREATE DATABASE {name}"))
    yield _with_database(base, name)
    asyncio.run(_pg_admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wildebeest.db'}"
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
