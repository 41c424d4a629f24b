"""Issue 21's "Done when", end to end: two `serve` processes on different ports (one web
process each) and one `worker` on one PostgreSQL database, media on a real SeaweedFS.

A status with an image posted through A is served with its media by B; a remote status
taken in by the worker has its image cached through B (on first view, as remote
attachments are) and served by A, and another's link card image is cached by the worker
and served by A; deleting the statuses removes their objects; `kill -9` of A in the
middle of an upload (between storing the first file and writing the row: its S3 traffic
goes through a proxy that holds the second PUT) leaves no row, and `media remove-orphans`
then removes the object it left."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from PIL import Image

from tests.conftest import LOOPBACK, free_port
from tests.fakes.remote import PUBLIC, RemoteActor, RemoteServer, signed_post
from tests.seaweed import Seaweed
from tests.test_cli import REPO, _env, wb
from tests.test_images import encoded, two_halves
from wildebeest_trio.media.s3 import S3MediaStore
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store import media as media_rows

pytest_plugins = ("tests.fakes.fixtures",)

WAIT = 60.0


def jpeg(width: int, height: int) -> bytes:
    return encoded(two_halves(width, height), "JPEG", quality=90)


class PutHolder:
    """A TCP proxy to the S3 server that, once armed, lets one PUT through and holds every
    later one unanswered: a process storing an upload's files is stopped between them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.armed = False
        self.puts = 0
        self.held = trio.Event()

    async def serve(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._connection, listeners)

    async def _connection(self, client: trio.SocketStream) -> None:
        try:
            upstream = await trio.open_tcp_stream(*self.target)
        except OSError:
            await client.aclose()
            return
        async with client, upstream, trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, client, upstream, True)
            nursery.start_soon(self._pump, upstream, client, False)

    async def _pump(
        self, source: trio.SocketStream, sink: trio.SocketStream, requests: bool
    ) -> None:
        try:
            while data := await source.receive_some(65536):
                if requests and self.armed and data.startswith(b"PUT /"):
                    self.puts += 1
                    if self.puts > 1:
                        # Held until the process is killed (its connection then closes).
                        self.held.set()
                        await trio.sleep_forever()
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            with trio.CancelScope(shield=True):
                await sink.aclose()


@asynccontextmanager
async def started(args: list[str], env: dict[str, str], log: Path) -> AsyncIterator[trio.Process]:
    """A `wildebeest-trio` subprocess, stopped (SIGTERM, then SIGKILL) at the end."""
    with open(log, "wb") as out:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "wildebeest_trio", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with trio.move_on_after(30):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def eventually(
    what: str, check: Callable[[], Any], logs: list[Path], timeout: float = WAIT
) -> Any:
    """Poll the async `check` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = await check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "\n".join(f"{p.name}: {p.read_text()[-2000:]}" for p in logs if p.exists())
            raise AssertionError(f"{what}: not within {timeout} s\n{tails}")
        await trio.sleep(0.1)


async def deliver(
    http: httpx.AsyncClient,
    inbox: str,
    remote: RemoteServer,
    actor: RemoteActor,
    kind: str,
    obj: dict[str, Any],
    *,
    note: dict[str, Any],
) -> None:
    """POST a signed activity about `note` to `inbox`; it must be accepted."""
    body = json.dumps(remote.activity(actor, kind, obj, to=note["to"])).encode()
    headers = signed_post(inbox, body, actor.key_id, actor.private_pem)
    delivered = await http.post(inbox, content=body, headers=headers)
    assert delivered.status_code in (200, 202), delivered.text


async def keys_named_by_rows(conn: Connection) -> set[str]:
    """Every media key a row names (what `media remove-orphans` keeps)."""
    found: set[str] = set()
    for table, column in media_rows.KEY_REFERENCES:
        rows = await conn.fetch(f"SELECT {column} AS k FROM {table} WHERE {column} IS NOT NULL")
        found.update(r["k"] for r in rows)
    return found


async def attachment_rows(conn: Connection) -> list[tuple[int, str]]:
    """Every attachment row: its id and processing state."""
    rows = await conn.fetch("SELECT id, processing FROM media_attachments ORDER BY id")
    return [(int(r["id"]), str(r["processing"])) for r in rows]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_servers_and_a_worker_share_media_on_s3(
    tmp_path: Path, database_url: str, seaweed: Seaweed, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    """(About 40 s with SeaweedFS started: three real processes, the point of the test.)"""
    bucket = await trio.to_thread.run_sync(seaweed.new_bucket)
    s3 = seaweed.settings(bucket)
    bucket_url = f"{seaweed.endpoint}/{bucket}/"
    host, _, port = seaweed.endpoint.removeprefix("http://").rpartition(":")
    holder = PutHolder((host, int(port)))
    await nursery.start(holder.serve)
    port_a, port_b = free_port(), free_port()
    common = _env(
        tmp_path,
        database_url,
        WB_DOMAIN=f"127.0.0.1:{port_a}",
        WB_SCHEME="http",
        WB_DELIVERY_PROCESSES="0",
        WB_RATE_LIMIT_EXEMPT_LOOPBACK="true",
        WB_ALLOW_PRIVATE_ADDRESSES="true",
        WB_OUTBOUND_ALLOW=LOOPBACK,
        WB_PREVIEW_CARD_SPREAD="0",
        **{f"WB_{name.upper()}": value for name, value in s3.items()},
    )
    env_a = {**common, "WB_LISTEN": f"127.0.0.1:{port_a}"}
    # A stores through the proxy; B and the worker reach SeaweedFS directly.
    env_a["WB_S3_ENDPOINT"] = f"http://127.0.0.1:{holder.port}"
    env_b = {**common, "WB_LISTEN": f"127.0.0.1:{port_b}"}
    created = await trio.to_thread.run_sync(
        lambda: wb(common, "accounts", "create", "alice", "--email", "alice@example.org")
    )
    assert created.returncode == 0, created.stderr
    token = (await trio.to_thread.run_sync(lambda: wb(common, "token", "create", "alice"))).stdout
    auth = {"Authorization": f"Bearer {token.strip()}"}
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    logs = [tmp_path / "a.log", tmp_path / "b.log", tmp_path / "worker.log"]
    store = S3MediaStore(
        bucket=bucket,
        endpoint=seaweed.endpoint,
        region="us-east-1",
        access_key_id=s3["s3_access_key_id"],
        secret_access_key=s3["s3_secret_access_key"],
        path_style=True,
        base_url=bucket_url,
    )

    async def objects() -> set[str]:
        return {item.key for item in await store.listing("", 1000)}

    serve = ["serve", "--processes", "1"]
    async with (
        aclosing(await open_store(database_url, pg_pool_size=2)) as database,
        httpx.AsyncClient(timeout=30) as http,
        started(serve, env_a, logs[0]) as server_a,
        started(serve, env_b, logs[1]),
        started(["worker"], common, logs[2]),
    ):
        for base in (a, b):

            async def up(base: str = base) -> bool:
                return (await http.get(f"{base}/health")).status_code == 200

            await eventually(f"{base} answering", up, logs)

        # Posted through A, served with its media by B.
        uploaded = await http.post(
            f"{a}/api/v1/media",
            headers=auth,
            files={"file": ("photo.jpg", jpeg(800, 600), "image/jpeg")},
        )
        assert uploaded.status_code == 200, uploaded.text
        media = uploaded.json()
        posted = await http.post(
            f"{a}/api/v1/statuses",
            headers=auth,
            data={"status": "a photo", "media_ids[]": media["id"]},
        )
        assert posted.status_code == 200, posted.text
        shown = (await http.get(f"{b}/api/v1/statuses/{posted.json()['id']}")).json()
        (attachment,) = shown["media_attachments"]
        assert attachment["url"] == media["url"] and attachment["url"].startswith(bucket_url)
        photo = await http.get(attachment["url"])
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(photo.content)).size == (800, 600)
        key = attachment["url"].removeprefix(bucket_url)
        moved = await http.get(f"{b}/system/{key}")
        assert moved.status_code == 301 and moved.headers["location"] == attachment["url"]
        local_keys = {key, attachment["preview_url"].removeprefix(bucket_url)}
        assert local_keys <= await objects()

        # A remote status with an image, delivered to B's inbox and taken in by the worker;
        # its image is cached through B on first view and then served by A.
        remote.put_file(f"{remote.base}/files/remote.jpg", jpeg(640, 480), "image/jpeg")
        bob = remote.actor("bob")
        alice_uri = f"{a}/users/alice"
        note = remote.note(
            bob,
            f'<p><a href="{a}/@alice">@alice</a> look</p>',
            to=[PUBLIC, alice_uri],
            tag=[{"type": "Mention", "href": alice_uri, "name": f"@alice@127.0.0.1:{port_a}"}],
            attachment=[
                {
                    "type": "Document",
                    "mediaType": "image/jpeg",
                    "url": f"{remote.base}/files/remote.jpg",
                    "name": "a remote photo",
                }
            ],
        )
        await deliver(http, f"{b}/inbox", remote, bob, "Create", note, note=note)

        async def mentioned() -> dict[str, Any] | None:
            found = (await http.get(f"{a}/api/v1/notifications", headers=auth)).json()
            return next((n["status"] for n in found if n["type"] == "mention"), None)

        remote_status = await eventually("the worker took in the remote status", mentioned, logs)
        (remote_media,) = remote_status["media_attachments"]
        proxied = remote_media["url"]
        assert proxied.startswith(f"{a}/media_proxy/")
        cached = await http.get(proxied.replace(a, b, 1))
        assert cached.status_code in (301, 302, 303, 307, 308), cached.text
        copy_url = cached.headers["location"]
        assert copy_url.startswith(f"{bucket_url}cache/media_attachments/original/")
        from_a = await http.get(proxied)
        assert from_a.headers["location"] == copy_url
        shown = (await http.get(f"{a}/api/v1/statuses/{remote_status['id']}")).json()
        assert shown["media_attachments"][0]["url"] == copy_url
        copy = await http.get(copy_url)
        assert copy.status_code == 200 and Image.open(io.BytesIO(copy.content)).size == (640, 480)
        assert remote.gets(f"{remote.base}/files/remote.jpg") == 1

        # A remote status with a link: the worker fetches its preview card and caches the
        # card's image in the bucket; A serves the card with it.
        article = f"{remote.base}/news/1"
        remote.put_file(
            article,
            '<!doctype html><html><head><meta property="og:title" content="News">'
            '<meta property="og:image" content="/images/news.jpg"></head><body></body></html>',
            "text/html; charset=utf-8",
        )
        remote.put_file(f"{remote.base}/images/news.jpg", jpeg(1200, 630), "image/jpeg")
        linked = remote.note(
            bob,
            f'<p>read <a href="{article}">{article}</a></p>',
            to=[PUBLIC, alice_uri],
            tag=[{"type": "Mention", "href": alice_uri, "name": f"@alice@127.0.0.1:{port_a}"}],
        )
        await deliver(http, f"{b}/inbox", remote, bob, "Create", linked, note=linked)

        async def card() -> dict[str, Any] | None:
            found = (await http.get(f"{a}/api/v1/notifications", headers=auth)).json()
            status = next((n["status"] for n in found if n["status"]["uri"] == linked["id"]), None)
            return status["card"] if status else None

        shown_card = await eventually("the worker cached the card's image", card, logs)
        assert shown_card["image"].startswith(f"{bucket_url}cache/preview_cards/")
        image = await http.get(shown_card["image"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

        # Deleting the status (with its media) through B: the worker removes the objects.
        deleted = await http.delete(
            f"{b}/api/v1/statuses/{posted.json()['id']}?delete_media=true", headers=auth
        )
        assert deleted.status_code == 200, deleted.text

        async def objects_gone() -> bool:
            return not (local_keys & await objects())

        await eventually("the deleted status's objects removed", objects_gone, logs)
        assert (await http.get(media["url"])).status_code == 404

        # kill -9 of A while it stores an upload's files: one object is in, no row.
        before = await objects()
        rows_before = await database.read(attachment_rows)
        holder.armed = True

        async def upload() -> None:
            try:
                await http.post(
                    f"{a}/api/v1/media",
                    headers=auth,
                    files={"file": ("photo.jpg", jpeg(900, 700), "image/jpeg")},
                )
            except httpx.HTTPError:
                pass  # the server died under it

        nursery.start_soon(upload)
        with trio.fail_after(WAIT):
            await holder.held.wait()
        os.kill(server_a.pid, signal.SIGKILL)
        await server_a.wait()
        left = await objects() - before
        assert len(left) == 1, left
        (orphan,) = left
        assert orphan.startswith("media_attachments/original/")
        assert orphan not in await database.read(keys_named_by_rows)
        assert await database.read(attachment_rows) == rows_before

        # The cleanup (here the command; the worker's scheduled job after its grace period).
        done = await trio.to_thread.run_sync(
            lambda: wb(common, "media", "remove-orphans", "--grace", "0")
        )
        assert done.returncode == 0, done.stderr
        assert f"removed {orphan}" in done.stderr
        remaining = await objects()
        assert orphan not in remaining
        assert remaining == await database.read(keys_named_by_rows)
        cache_keys = {
            u.removeprefix(bucket_url)
            for u in (copy_url, shown["media_attachments"][0]["preview_url"])
        }
        assert cache_keys <= remaining

        # The remote status deleted at its origin: its cached copy goes too.
        tombstone = {"id": note["id"], "type": "Tombstone"}
        await deliver(http, f"{b}/inbox", remote, bob, "Delete", tombstone, note=note)

        async def cache_gone() -> bool:
            return not (cache_keys & await objects())

        await eventually("the remote status's cached objects removed", cache_gone, logs)
        assert (await http.get(copy_url)).status_code == 404
