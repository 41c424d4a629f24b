"""Upgrades keep data: a database of an older release, upgraded by `wildebeest-trio migrate`,
serves the same rows, files and API answers.

The fixture (`tests/upgrade/v0016/`, made once by `tests/upgrade/build_fixture.py` from commit
`dec4308`, schema 0016) holds every row of every table of that release, its data folder (secret
key and media files) and what it answered to a fixed list of GETs. Here, on each backend:

1. a fresh database gets the migrations up to the fixture's version only (a migration never
   changes once landed, so this is that release's schema), and the rows are loaded into it;
2. `wildebeest-trio migrate` runs in a subprocess, as an admin upgrading runs it;
3. every row is still there with the same values, and the current server (its HTTP side, as
   `serve` runs it) serves every file and answers every GET as the old one did, with what
   `normalized` lists as the only differences, each for its reason.

The job workers and upkeep do not run: the answers compare the data as it was, not what the
queued work (a delivery to the fixture's long-gone remote server, an upload left queued) and
time-based upkeep would make of it since the fixture was built. A second test runs the
deliveries that release left queued (each with its whole activity in its payload, from before
activities were stored once per fan-out), pointed at a live fake server.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import trio

from tests.conftest import free_port, make_config, pg_database
from tests.fakes.instance import drain, settle
from tests.fakes.remote import start_remote, trust_local_key
from tests.oauth_flow import csrf_from
from tests.test_cli import wb
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.server import run_http_server
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.services.media import MEDIA_PROCESS
from wildebeest_trio.services.reply_crawl import FETCH_REPLIES
from wildebeest_trio.store import Connection, Store, open_store
from wildebeest_trio.store.migrate import discover, migrate

FIXTURE = Path(__file__).resolve().parent / "upgrade" / "v0016"


def _read(name: str) -> Any:
    path = FIXTURE / name
    if path.suffix == ".gz":
        return json.loads(gzip.decompress(path.read_bytes()))
    return json.loads(path.read_text())


MANIFEST: dict[str, Any] = _read("manifest.json")
TABLES: dict[str, Any] = _read("rows.json")
ANSWERS: list[dict[str, Any]] = _read("answers.json.gz")


# What this process tried to connect to at the fixture's remote server: nothing, since no job
# worker runs and the remote files it showed are cached.
_old_remote_reached: list[str] = []
_OLD_REMOTE_PORT = int(MANIFEST["remote_origin"].rpartition(":")[2])


def _watch_old_remote(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and isinstance(args[-1], tuple) and len(args[-1]) >= 2:
        if args[-1][1] == _OLD_REMOTE_PORT:
            _old_remote_reached.append(repr(args[-1]))


sys.addaudithook(_watch_old_remote)


# The old database ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'wildebeest.db'}"
        return
    yield from pg_database(request, migrated=False)


def load_order() -> list[str]:
    """The fixture's tables, each after the tables its foreign keys point to."""
    order: list[str] = []
    pending = dict(TABLES)
    while pending:
        ready = [n for n, t in pending.items() if all(r in order for r in t["references"])]
        assert ready, f"foreign keys in a cycle: {sorted(pending)}"
        for name in sorted(ready):
            order.append(name)
            del pending[name]
    return order


def from_fixture(value: Any) -> Any:
    """A value as the fixture keeps it, as a Python value either backend takes."""
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"])
    return value


async def load_rows(conn: Connection) -> None:
    """Insert every fixture row (but the migrations' own bookkeeping, which `migrate` wrote)."""
    for name in load_order():
        if name == "schema_migrations":
            continue
        table = TABLES[name]
        columns = table["columns"]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = f'INSERT INTO "{name}" ({names}) VALUES ({marks})'
        for row in table["rows"]:
            await conn.execute(sql, *(from_fixture(v) for v in row))
    if conn.dialect == "postgres":
        # As a database that had these rows all along: identity columns continue after them.
        for found in await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{found['table_name']}', "
                f"'{found['column_name']}'), (SELECT MAX({found['column_name']}) "
                f"FROM {found['table_name']}))"
            )


async def build_old_database(url: str) -> None:
    store = await open_store(url, pg_pool_size=2)
    try:
        applied = await migrate(store, up_to=MANIFEST["schema_version"])
        assert [m.version for m in applied] == sorted(
            int(r[0]) for r in TABLES["schema_migrations"]["rows"]
        )
        await store.write(load_rows)
    finally:
        await store.aclose()


# Rows --------------------------------------------------------------------------------------------


def primary_key(table: dict[str, Any]) -> list[int]:
    """Positions of the columns that identify a fixture row."""
    return [table["columns"].index(c) for c in table["primary_key"]]


def comparable(value: Any) -> Any:
    value = from_fixture(value)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, bool):
        return int(value)  # SQLite reads booleans back as 0 and 1
    return value


async def rows_now(store: Store, name: str, columns: list[str]) -> list[list[Any]]:
    names = ", ".join(f'"{c}"' for c in columns)

    async def unit(conn: Connection) -> list[list[Any]]:
        found = await conn.fetch(f'SELECT {names} FROM "{name}"')
        return [[comparable(r[c]) for c in columns] for r in found]

    return await store.read(unit)


async def check_rows(url: str) -> None:
    """Every table holds exactly the fixture's rows, each column as it was."""
    store = await open_store(url, pg_pool_size=2)
    try:
        for name, table in TABLES.items():
            if name == "schema_migrations":
                continue
            key = primary_key(table)
            expected = {
                tuple(comparable(row[i]) for i in key): [comparable(v) for v in row]
                for row in table["rows"]
            }
            found = {
                tuple(row[i] for i in key): row
                for row in await rows_now(store, name, table["columns"])
            }
            assert found.keys() == expected.keys(), name
            for ident, row in expected.items():
                assert found[ident] == row, (name, ident)
    finally:
        await store.aclose()


# Answers ----------------------------------------------------------------------------------------

# What legitimately differs between the fixture's release and this one, each for its reason.
# A field an entity gains in a later release goes in NEW_FIELDS, with why.
NEW_FIELDS: dict[str, str] = {
    "attribution_domains": "Mastodon 4.3's attribution domains (`source`), with the preview cards",
    "attributionDomains": "the actor's attribution domains, defined in its @context",
    **dict.fromkeys(
        ("quote", "quote_approval", "quotes_count"),
        "quote posts (Mastodon 4.5): on Status, and a push alert",
    ),
    **dict.fromkeys(
        ("quote_policy", "posting:default:quote_policy"), "the default quote policy (4.5)"
    ),
    "quoted_update": "4.5's notification type (a push alert)",
    "timelines_access": "Mastodon 4.5's instance configuration",
    "featuredCollections": "the actor's collections (Mastodon 4.6, FEP-7aa9), with its term",
    **dict.fromkeys(("quoted_status_id", "quote_approval_policy"), "4.5's ScheduledStatus params"),
    **dict.fromkeys(
        (
            "interactionPolicy",
            "gts",
            "canQuote",
            "automaticApproval",
            "manualApproval",
            "quoteUri",
            "_misskey_quote",
            "quoteAuthorization",
        ),
        "who may quote a Note, and what it quotes (FEP-044f), with their context terms",
    ),
    "replies": "a Note's replies collection (Mastodon 4.4's fetch-all-replies crawls it)",
}
OLD_INSTANCE_ACTOR = MANIFEST["domain"]
BASE = f"http://{MANIFEST['domain']}"


def normalized(path: str, body: Any) -> Any:
    """An answer without what differs for reasons other than the upgrade losing data:

    - `history` (of a tag): its uses on each of the 7 days before *now*;
    - the active users of `/api/v2/instance` and NodeInfo: those of the last month (half year)
      before *now*;
    - the software version, in the instance and NodeInfo answers, and the Mastodon API level
      (`api_versions`), which rises as the API gains what Mastodon's later levels have;
    - the instance actor's name: since 2b5fada it is Mastodon's `mastodon.internal` (GoToSocial
      refused a domain's `:`), renamed on start-up; WebFinger still finds it by the old name,
      which the fixture asks for;
    - in home timelines, boosts Mastodon keeps out: since 0019 home is read from a feed which,
      as Mastodon's, does not take a boost of a status that it (or another boost of it)
      shows among the 40 entries before (`without_repeated_boosts`);
    - a tag's `featuring` (since 0024 the Tag entity says, as Mastodon 4.4's, whether the
      viewer features it) and the instance's privacy policy URL (the page exists since 0024);
    - the name of an admin's Role: since 0026 the roles are Mastodon's, and the admins of
      before are its Owner (the same id 3 and `administrator` permission, named `Owner`).
    """
    if isinstance(body, dict):
        body.pop("history", None)
        for value in body.values():
            normalized("", value)
    elif isinstance(body, list):
        for value in body:
            normalized("", value)
    if path == "/api/v2/instance":
        body["usage"]["users"].pop("active_month")
        body["configuration"]["urls"].pop("privacy_policy")
    if path.startswith("/api/v1/tags/") and isinstance(body, dict):
        body.pop("featuring", None)
    if path.startswith(("/api/v1/instance", "/api/v2/instance")) and path.count("/") == 3:
        body.pop("version")
        body.pop("api_versions")
    if path.startswith("/nodeinfo/"):
        body["usage"]["users"].pop("activeMonth")
        body["usage"]["users"].pop("activeHalfyear")
        body["software"].pop("version")
    if path == "/actor":
        body.pop("preferredUsername")
    if path == f"/.well-known/webfinger?resource=acct:{OLD_INSTANCE_ACTOR}@{MANIFEST['domain']}":
        body.pop("subject")
    if path.startswith("/api/v1/timelines/home"):
        body = without_repeated_boosts(body)
    if path == "/api/v1/accounts/verify_credentials" and body.get("role", {}).get("id") == "3":
        body["role"].pop("name")
    return body


def without_repeated_boosts(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A home page (the fixture's are whole timelines, under 40 statuses) less each boost of
    a status that it, or a boost of it, shows among the 40 kept entries before it, and each
    status a boost of which is among them (Mastodon's FeedManager add_to_feed and its
    REBLOG_FALLOFF), taken oldest first as a feed is filled."""
    kept: list[dict[str, Any]] = []
    for status in reversed(page):
        boosted = (status.get("reblog") or {}).get("id")
        shown = boosted or status["id"]
        if any(
            (s.get("reblog") or {}).get("id") == shown or (boosted and s["id"] == boosted)
            for s in kept[-40:]
        ):
            continue
        kept.append(status)
    return kept[::-1]


def changes(was: Any, now: Any, at: str = "") -> Iterator[str]:
    """Where two JSON values differ: `at` paths with the value then and now."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in sorted(set(was) | set(now)):
            if key not in now:
                yield f"{at}.{key}: gone"
            elif key not in was:
                if key not in NEW_FIELDS:
                    yield f"{at}.{key}: new ({json.dumps(now[key])[:80]})"
            else:
                yield from changes(was[key], now[key], f"{at}.{key}")
    elif isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        for i, (a, b) in enumerate(zip(was, now, strict=True)):
            yield from changes(a, b, f"{at}[{i}]")
    elif was != now:
        yield f"{at}: {json.dumps(was)[:100]} then, {json.dumps(now)[:100]} now"


async def fetch(client: httpx.AsyncClient, answer: dict[str, Any]) -> httpx.Response:
    headers: dict[str, str] = {}
    if answer["as"]:
        headers["Authorization"] = f"Bearer {MANIFEST['users'][answer['as']]['token']}"
    if answer.get("accept"):
        headers["Accept"] = answer["accept"]
    return await client.get(answer["path"], headers=headers)


def local_files() -> dict[str, bytes]:
    """The fixture's media files by key (their path under the media folder)."""
    media = FIXTURE / "data" / "media"
    return {
        path.relative_to(media).as_posix(): path.read_bytes()
        for path in sorted(media.rglob("*"))
        if path.is_file()
    }


def urls_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from urls_in(item)
    elif isinstance(value, str) and value.startswith((f"{BASE}/system/", f"{BASE}/media_proxy/")):
        yield value


async def check_answers(client: httpx.AsyncClient) -> None:
    """Every GET answers as the old release did, but for what `normalized` takes out."""
    differences: list[str] = []
    for answer in ANSWERS:
        response = await fetch(client, answer)
        where = f"{answer['as']} GET {answer['path']}"
        if response.status_code != answer["status"]:
            differences.append(f"{where}: {answer['status']} then, {response.status_code} now")
        was = normalized(answer["path"], copy.deepcopy(answer["body"]))
        now = normalized(answer["path"], response.json() if response.content else None)
        differences += [f"{where} {d}" for d in changes(was, now)]
    assert not differences, "\n".join(differences)


async def check_files(client: httpx.AsyncClient) -> None:
    """Every file the old release stored is served at its URL with its bytes, and every media
    URL its answers gave still leads to a file."""
    for key, data in local_files().items():
        served = await client.get(f"/system/{key}")
        assert served.status_code == 200 and served.content == data, key
    for url in sorted({u for a in ANSWERS for u in urls_in(a["body"])}):
        served = await client.get(url.removeprefix(BASE))
        if served.status_code in (301, 302, 303, 307):  # a cached remote file
            location = served.headers["Location"]
            assert location.startswith(f"{BASE}/system/"), (url, location)
            served = await client.get(location.removeprefix(BASE))
        assert served.status_code == 200 and served.content, url


async def check_counts(store: Store) -> None:
    """After start-up and all those requests, the tables still hold as many rows (start-up
    renamed the instance actor in place, it made no second one), but where they
    legitimately grew: `id_nodes` (this process leased an id node), `web_sessions` (the
    sign-in above) and the reply crawls queued by opening remote threads."""

    async def unit(conn: Connection) -> dict[str, int]:
        counts = {n: await conn.fetchval(f'SELECT COUNT(*) FROM "{n}"') for n in TABLES}
        # Opening a remote thread (the context requests above) queues the crawl of its
        # replies: work this release adds, not rows the upgrade made.
        counts["jobs"] -= await conn.fetchval(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1", FETCH_REPLIES.name
        )
        return counts

    counts = await store.read(unit)
    grew = {"id_nodes", "web_sessions", "schema_migrations"}
    assert {n: c for n, c in counts.items() if n not in grew} == {
        n: len(t["rows"]) for n, t in TABLES.items() if n not in grew
    }


async def check_queued_work(rt: Runtime, client: httpx.AsyncClient) -> None:
    """The work the old release left queued is work this one knows: every pending job's kind
    has a handler, and the upload it left half-done is processed now (its raw bytes, kept in
    `media_uploads`, become files) and served."""
    jobs = TABLES["jobs"]
    kinds = {row[jobs["columns"].index("kind")] for row in jobs["rows"]}
    assert kinds <= set(rt.registry.names())
    assert await drain(rt, [MEDIA_PROCESS.name]) == 1
    erin = MANIFEST["users"]["erin"]["token"]
    shown = await client.get(
        f"/api/v1/media/{MANIFEST['media']['queued']}",
        headers={"Authorization": f"Bearer {erin}"},
    )
    assert shown.status_code == 200 and shown.json()["url"].startswith(f"{BASE}/system/")
    served = await client.get(shown.json()["url"].removeprefix(BASE))
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/")


async def check_sign_in(client: httpx.AsyncClient) -> None:
    """The admin's password and two-factor secret (sealed with the secret key) still work."""
    boss = MANIFEST["users"]["boss"]
    page = await client.get("/auth/sign_in")
    response = await client.post(
        "/auth/sign_in",
        data={
            "email": boss["email"],
            "password": MANIFEST["password"],
            "csrf_token": csrf_from(page.text),
            "next": "/settings/account",
        },
    )
    assert response.status_code == 302 and "/auth/two_factor" in response.headers["Location"]
    page = await client.get("/auth/two_factor")
    response = await client.post(
        "/auth/two_factor",
        data={
            "csrf_token": csrf_from(page.text),
            "code": pyotp.TOTP(MANIFEST["totp_secret"]).now(),
            "next": "/settings/account",
        },
    )
    assert response.status_code == 302, response.text
    assert (await client.get("/settings/account")).status_code == 200


# The test ----------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The old release's data folder: its secret key and media files, as it left them."""
    target = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", target, dirs_exist_ok=True)
    # The modes it gave them: folders made under the usual umask, media files 0644.
    for path in (target, *target.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (target / "secret_key").chmod(0o600)
    return target


async def test_upgrade_keeps_rows_files_and_answers(
    empty_database: str, data_dir: Path, tmp_path: Path
) -> None:
    await build_old_database(empty_database)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WB_")}
    env.update(WB_DATA_DIR=str(data_dir), WB_DATABASE_URL=empty_database)
    upgraded = await trio.to_thread.run_sync(wb, env, "migrate")
    assert upgraded.returncode == 0, upgraded.stderr
    newer = [m for m in discover("sqlite") if m.version > MANIFEST["schema_version"]]
    assert [f"applied {m.version:04d}_{m.name}" for m in newer] == upgraded.stderr.splitlines()
    await check_rows(empty_database)

    port = free_port()
    while port == _OLD_REMOTE_PORT:  # never mistaken for the remote server
        port = free_port()
    config = make_config(
        tmp_path,
        empty_database,
        domain=MANIFEST["domain"],
        scheme="http",
        listen=f"127.0.0.1:{port}",
    )
    del _old_remote_reached[:]
    async with open_server_runtime(config, migrate=False) as rt, trio.open_nursery() as nursery:
        await ensure_instance_keys(rt)
        await ensure_instance_actor(rt)
        await nursery.start(run_http_server, rt)
        async with httpx.AsyncClient(base_url=f"http://{config.listen}") as client:
            await check_answers(client)
            await check_files(client)
            await check_sign_in(client)
            await check_counts(rt.store)
            await check_queued_work(rt, client)
        nursery.cancel_scope.cancel()
    assert not _old_remote_reached, "the server reached for the fixture's remote server"
    # The data folder an older release left readable by everyone (0755) is private now.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def old_deliveries() -> dict[int, dict[str, Any]]:
    """The delivery jobs the old release left queued, by id: their payloads."""
    jobs = TABLES["jobs"]
    rows = [dict(zip(jobs["columns"], row, strict=True)) for row in jobs["rows"]]
    return {r["id"]: json.loads(r["payload"]) for r in rows if r["kind"] == DELIVER.name}


async def test_deliveries_queued_by_the_old_release_still_go(
    empty_database: str, data_dir: Path, tmp_path: Path, nursery: trio.Nursery
) -> None:
    queued = old_deliveries()
    assert queued and all(set(p) == {"inbox", "key_id", "body"} for p in queued.values())
    await build_old_database(empty_database)
    receiver = await start_remote(nursery, verify=True)
    config = make_config(
        tmp_path,
        empty_database,
        domain=MANIFEST["domain"],
        scheme="http",
        allow_private_addresses=True,
    )
    del _old_remote_reached[:]
    async with open_server_runtime(config) as rt:
        for username in ("alice", "bob"):
            await trust_local_key(rt, receiver, username)

        async def redirect(conn: Connection) -> None:
            # The same jobs, due now, their inbox on a server that is up (same path).
            for job_id, payload in queued.items():
                path = payload["inbox"].split("/", 3)[3]
                moved = {**payload, "inbox": f"{receiver.base}/{path}"}
                await conn.execute(
                    "UPDATE jobs SET payload = $1, run_at = $2 WHERE id = $3",
                    json.dumps(moved),
                    now_ms(),
                    job_id,
                )

        await rt.store.write(redirect)

        async def delivery_jobs(conn: Connection) -> int:
            return int(
                await conn.fetchval("SELECT COUNT(*) FROM jobs WHERE kind = $1", DELIVER.name)
            )

        async def delivered() -> bool:
            return await rt.store.read(delivery_jobs) == 0

        await settle(rt, delivered)
    # Each went once, as queued, signed with its account's key (the receiver verified it).
    assert receiver.refused == []
    assert sorted((r.key_id, r.body) for r in receiver.received) == sorted(
        (p["key_id"], p["body"].encode()) for p in queued.values()
    )
    assert not _old_remote_reached
