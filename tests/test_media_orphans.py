"""The orphaned media cleanup on local storage: files no row names, older than the grace
period, are removed by the scheduled job and by `media remove-orphans`; files a row names
and fresh orphans (an upload in flight) stay. (On SeaweedFS: tests/test_media_s3.py.)"""

from __future__ import annotations

import io
import os
import time
from typing import Any

import pytest
import trio
from PIL import Image
from quart.datastructures import FileStorage

from tests.test_media_api import alice, bearer, photo, upload  # noqa: F401 (fixture)
from wildebeest_trio.assembly import periodic_tasks
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.media.store import unique_key
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import archives, media_orphans
from wildebeest_trio.store import Connection
from wildebeest_trio.store import instance as instance_rows

DAY = 24 * 3600.0


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def backdate(rt: Runtime, key: str, seconds: float) -> None:
    """Make the file of `key` look written `seconds` ago."""
    then = time.time() - seconds
    os.utime(rt.config.media_dir / key, (then, then))


async def queued(conn: Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE kind = $1", media_orphans.REMOVE_ORPHANS.name
        )
    )


async def test_scheduled_job_removes_old_orphans_and_keeps_the_rest(
    rt: Runtime,
    client: Any,
    alice: str,  # noqa: F811 (fixture)
) -> None:
    response = await client.post(
        "/api/v1/media", headers=bearer(alice), files={"file": upload(photo(300, 200))}
    )
    assert response.status_code == 200
    uploaded = await response.get_json()
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bearer(alice),
        files={"avatar": FileStorage(io.BytesIO(png("blue")), "a.png", "image/png")},
    )
    assert response.status_code == 200
    avatar = (await response.get_json())["avatar"]
    base = f"{rt.config.base_url}/system/"
    used = [uploaded["url"].removeprefix(base), uploaded["preview_url"].removeprefix(base)]
    used.append(avatar.removeprefix(base))
    # What a process killed between storing and committing leaves behind.
    old = await rt.media.put(
        png("red"), content_type="image/png", category="media_attachments/original", unique=True
    )
    fresh = await rt.media.put(
        png("green"), content_type="image/png", category="media_attachments/original", unique=True
    )
    for key in [*used, old.key]:
        backdate(rt, key, 2 * DAY)
    backdate(rt, fresh.key, media_orphans.GRACE_SECONDS - 600)

    # The scheduler queues one run at a time, however many processes run it.
    task = next(t for t in periodic_tasks() if t.name == "queue the orphaned media cleanup")
    await task.run(rt)
    await task.run(rt)
    assert await rt.store.read(queued) == 1
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(20):
            while await rt.store.read(queued):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()

    assert not await rt.media.exists(old.key)
    assert (await client.get(f"/system/{old.key}")).status_code == 404
    assert await rt.media.exists(fresh.key)
    for key in used:
        assert (await client.get(f"/system/{key}")).status_code == 200
    # The whole store fitted one page: the next run starts over.
    assert not await rt.store.read(instance_rows.setting_text, media_orphans.CURSOR_SETTING)

    # `media remove-orphans` with a grace of zero takes the fresh one too, never a used one.
    dry = await media_orphans.remove_orphans(rt, grace=0, dry_run=True)
    assert dry.removed == [fresh.key] and await rt.media.exists(fresh.key)
    done = await media_orphans.remove_orphans(rt, grace=0)
    assert done.removed == [fresh.key] and done.scanned == 4
    assert not await rt.media.exists(fresh.key)
    for key in used:
        assert await rt.media.exists(key)


async def test_the_job_walks_the_store_a_page_at_a_time(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = []
    for n in range(7):
        color = (n * 30, 0, 0)
        out = io.BytesIO()
        Image.new("RGB", (8, 8), color).save(out, "PNG")
        category = "cache/preview_cards" if n % 2 else "emoji"
        keys.append(
            (await rt.media.put(out.getvalue(), content_type="image/png", category=category)).key
        )
    # A temporary file of a write in progress is not a key: never listed, never removed.
    stray = rt.config.media_dir / "emoji" / ".tmp-upload"
    stray.write_bytes(b"half")
    for key in keys:
        backdate(rt, key, 2 * DAY)
    listed = await rt.media.listing("", 100)
    assert [item.key for item in listed] == sorted(keys) == await rt.media.keys()

    # Each run of the job takes one page and records where the next one starts.
    monkeypatch.setattr(media_orphans, "PAGE", 3)
    pages = [await media_orphans.run_page(rt) for _ in range(3)]
    assert [len(p.removed) for p in pages] == [3, 3, 1]
    assert [p.after for p in pages] == [sorted(keys)[2], sorted(keys)[5], ""]
    assert sorted(k for p in pages for k in p.removed) == sorted(keys)
    assert await rt.media.keys() == []
    assert stray.exists()
    # Back at the start, with nothing left.
    again = await media_orphans.run_page(rt)
    assert again.scanned == 0 and again.after == ""


async def test_the_private_side_is_swept_too(
    rt: Runtime,
    client: Any,
    alice: str,  # noqa: F811 (fixture)
) -> None:
    """A raw upload whose row never committed (a v2 upload killed half-way) goes; a queued
    upload's raw file and an archive stay while their rows name them."""
    queued_upload = await client.post(
        "/api/v2/media", headers=bearer(alice), files={"file": upload(photo())}
    )
    assert queued_upload.status_code == 202
    [waiting] = await rt.media.private.keys()
    assert waiting.startswith("uploads/")
    source = rt.config.data_dir / "raw"
    source.write_bytes(b"half an upload")
    orphan = unique_key("application/octet-stream", "uploads")
    await rt.media.private.put_file(orphan, source)
    archive_id = await archives.request(rt, await account_id(rt, "alice"))
    await archives.build(rt, {"archive_id": archive_id})
    keys = await rt.media.private.keys()
    assert len(keys) == 3
    then = time.time() - 2 * DAY
    for key in keys:
        os.utime(rt.config.data_dir / "private" / key, (then, then))

    found = await media_orphans.run_page(rt)
    assert found.removed == [orphan]
    assert sorted(await rt.media.private.keys()) == sorted(set(keys) - {orphan})
    assert await rt.store.read(instance_rows.setting_text, "media_orphans_private_cursor") in (
        None,
        "",
    )


async def account_id(rt: Runtime, username: str) -> int:
    async def unit(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT id FROM accounts WHERE username = $1 AND domain IS NULL", username
            )
        )

    return await rt.store.read(unit)
