"""A follows import against many hosts, against the same look-ups done by a plain loop.

In one process: a server's runtime (SQLite unless `--backend postgres`, its job workers)
and `--hosts` fake servers on 127.0.0.1 (tests/fakes/remote.py: WebFinger and actor
documents). Two sets of `--rows` accounts spread over the hosts:

1. a plain loop resolves the first set one account after another (WebFinger, then the
   actor fetched and stored: `lookup.resolve_account`), timed;
2. a follows import of the second set (the CSV through `imports.start`, its durable rows
   worked through by the `import.run` jobs, paced per host, each row a look-up and a
   follow) is timed until the import shows finished, and every row must be done.

`ratio follows_import_vs_plain_loop` is the plain loop's time over the import's (the
target is 0.5 or more: the durable, paced import costs at most twice a bare loop).

    .venv/bin/python bench/imports.py [--rows 5000] [--hosts 50] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import LOOPBACK_ONLY, free_port, postgres, ratio
from tests.fakes.remote import AP, CONTEXT, RemoteServer, start_remote
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import load_config
from wildebeest_trio.federation import lookup
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.services import imports
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.signatures import generate_rsa_keypair


def publish(server: RemoteServer, index: int, name: str, public_pem: str) -> str:
    """An actor on host `index` with its WebFinger answer (one key shared by all: making
    10,000 keys would take longer than the run); its address."""
    origin = server.origin(index)
    uri = f"{origin}/users/{name}"
    server.put(
        {
            "@context": CONTEXT,
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name,
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "following": f"{uri}/following",
            "endpoints": {"sharedInbox": f"{origin}/inbox"},
            "manuallyApprovesFollowers": False,
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
        }
    )
    acct = f"{name}@{origin.partition('://')[2]}"
    server.webfinger[f"acct:{acct}"] = {
        "subject": f"acct:{acct}",
        "links": [{"rel": "self", "type": AP, "href": uri}],
    }
    return acct


@contextlib.contextmanager
def database(backend: str, folder: str) -> Iterator[str]:
    if backend == "postgres":
        with postgres() as url:
            yield url
    else:
        yield f"sqlite:///{folder}/bench.db"


async def run(rows: int, hosts: int, database_url: str, folder: str) -> None:
    config = load_config(
        env={},
        overrides={
            "data_dir": f"{folder}/data",
            "database_url": database_url,
            "listen": f"127.0.0.1:{free_port()}",
            "argon2_time_cost": 1,
            "argon2_memory_kib": 64,
            "argon2_parallelism": 1,
            "allow_private_addresses": True,
            "outbound_allow": LOOPBACK_ONLY,
            "job_poll_interval": 0.05,
            "registrations": "open",
        },
    )
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        await ensure_instance_keys(rt)
        await ensure_instance_actor(rt)
        server = await start_remote(nursery, hosts)
        _, public_pem = generate_rsa_keypair()
        plain = [publish(server, i % hosts, f"plain{i}", public_pem) for i in range(rows)]
        wanted = [publish(server, i % hosts, f"wanted{i}", public_pem) for i in range(rows)]

        started = time.monotonic()
        for acct in plain:
            username, _, host = acct.partition("@")
            assert await lookup.resolve_account(rt, username, host) is not None
        plain_seconds = time.monotonic() - started
        print(f"plain_loop {rows} accounts on {hosts} hosts in {plain_seconds:.1f} s")

        mover = await create_local_account(rt, "mover", "mover@example.org", password="x" * 12)
        header = "Account address,Show boosts,Notify on new posts,Languages\n"
        data = (header + "".join(f"{acct},true,false,\n" for acct in wanted)).encode()
        nursery.start_soon(run_workers, rt)
        started = time.monotonic()
        import_id = await imports.start(rt, mover.account_id, "following", "merge", "f.csv", data)
        while True:
            shown = await imports.progress(rt, mover.account_id, import_id)
            assert shown is not None
            if shown.state == "finished":
                break
            await trio.sleep(0.1)
        import_seconds = time.monotonic() - started
        print(
            f"follows_import {rows} rows in {import_seconds:.1f} s: done {shown.done}, "
            f"failed {shown.failed}, left {shown.left} "
            f"(at most {imports.HOST_RATE:g} rows a second per host)"
        )
        assert shown.done == rows and shown.failed == 0, shown.failures[:5]
        ratio("follows_import_vs_plain_loop", plain_seconds / import_seconds)
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(f"backend {args.backend}; {args.rows} rows over {args.hosts} hosts")
    with tempfile.TemporaryDirectory() as folder, database(args.backend, folder) as url:
        trio.run(run, args.rows, args.hosts, url, folder)


if __name__ == "__main__":
    main()
