"""Media on S3-compatible storage, against a real SeaweedFS (tests/seaweed.py): uploads land
in the bucket and are served from its public URL, deletion removes the objects, a failing
bucket is a clean 503 with no row left, and `media migrate` moves an instance both ways."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from PIL import Image
from werkzeug.datastructures import FileStorage

from tests.conftest import make_config
from tests.seaweed import Seaweed, free_port
from tests.social import make_user, post
from tests.test_media_api import photo, stored_files, upload
from tests.web_helpers import log_in
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import archives, media_orphans
from wildebeest_trio.services.media_storage import MigrateError, migrate_media
from wildebeest_trio.store import Connection


@asynccontextmanager
async def instance(config: Config) -> AsyncIterator[tuple[Runtime, Any]]:
    """A runtime and a test client of its app."""
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield rt, test_app.test_client()


async def attachment_rows(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM media_attachments"))

    return await rt.store.read(unit)


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


async def in_new_bucket(tmp_path: Path, database_url: str, seaweed: Seaweed) -> tuple[Config, str]:
    """Settings keeping media in a fresh bucket, and the bucket's public URL."""
    bucket = await trio.to_thread.run_sync(seaweed.new_bucket)
    config = make_config(tmp_path, database_url, **seaweed.settings(bucket))
    return config, f"{seaweed.endpoint}/{bucket}/"


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url)


async def test_upload_is_stored_in_the_bucket_and_served_from_its_url(
    tmp_path: Path, database_url: str, seaweed: Seaweed
) -> None:
    config, base = await in_new_bucket(tmp_path, database_url, seaweed)
    async with instance(config) as (rt, client):
        assert rt.media.kind == "s3"
        alice = await make_user(rt, client, "alice")
        response = await client.post(
            "/api/v1/media",
            headers=alice.headers,
            files={"file": upload(photo()), "thumbnail": upload(png("red"), "t.png", "image/png")},
        )
        assert response.status_code == 200, await response.get_data(as_text=True)
        media = await response.get_json()
        assert media["url"].startswith(base) and media["preview_url"].startswith(base)
        keys = [media[f].removeprefix(base) for f in ("url", "preview_url")]
        # Served by the bucket's public URL (what a CDN in front of it fetches).
        served = await fetch(media["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert "immutable" in served.headers["cache-control"]
        assert Image.open(io.BytesIO(served.content)).size == (1200, 900)
        assert await rt.media.size(keys[0]) == len(served.content)
        assert (await fetch(media["preview_url"])).status_code == 200
        # Nothing in the local media folder.
        assert stored_files(rt) == []
        # A /system/ URL (handed out before a migration) now points at the bucket.
        moved = await client.get(f"/system/{keys[0]}")
        assert moved.status_code == 301 and moved.headers["Location"] == media["url"]

        # Avatars go there too.
        response = await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=alice.headers,
            files={"avatar": FileStorage(io.BytesIO(png("blue")), "a.png", "image/png")},
        )
        assert response.status_code == 200
        avatar = (await response.get_json())["avatar"]
        assert avatar.startswith(base) and (await fetch(avatar)).status_code == 200

        # Deleting the upload deletes its objects.
        deleted = await client.delete(f"/api/v1/media/{media['id']}", headers=alice.headers)
        assert deleted.status_code == 200
        for key in keys:
            assert not await rt.media.exists(key)
        assert (await fetch(media["url"])).status_code == 404


async def test_archive_takes_its_media_from_the_bucket(
    tmp_path: Path, database_url: str, seaweed: Seaweed
) -> None:
    bucket = await trio.to_thread.run_sync(seaweed.new_bucket)
    config = make_config(tmp_path, database_url, **seaweed.settings(bucket))
    async with instance(config) as (rt, client):
        alice = await make_user(rt, client, "alice")
        response = await client.post(
            "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
        )
        media = await response.get_json()
        await post(client, alice, "with a photo", media_ids=[media["id"]])
        target = tmp_path / "archive.zip"
        await archives._write_archive(rt, int(alice.id), target)
        served = await fetch(media["url"])
        with zipfile.ZipFile(target) as zf:
            inside = [n for n in zf.namelist() if n.startswith("media_attachments/")]
            assert len(inside) == 1
            assert zf.read(inside[0]) == served.content


@pytest.mark.parametrize("private_bucket", [True, False], ids=["private bucket", "same bucket"])
async def test_archive_is_private_and_only_its_owner_downloads_it(
    tmp_path: Path, database_url: str, seaweed: Seaweed, private_bucket: bool
) -> None:
    config, base = await in_new_bucket(tmp_path, database_url, seaweed)
    private = ""
    if private_bucket:
        private = await trio.to_thread.run_sync(seaweed.new_bucket, "private-")
        config = replace(config, s3_private_bucket=private)
    async with instance(config) as (rt, client):
        alice = await make_user(rt, client, "alice")
        await make_user(rt, client, "bob")
        response = await client.post(
            "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
        )
        media = await response.get_json()
        await post(client, alice, "with a photo", media_ids=[media["id"]])
        archive_id = await archives.request(rt, int(alice.id))
        await archives.build(rt, {"archive_id": archive_id})
        [key] = await rt.media.private.keys()
        assert key.startswith("archives/") and key.endswith(".zip")
        # Not among the public files: the orphan cleanup and the public URL never see it.
        assert key not in await rt.media.keys()
        assert stored_files(rt) == [] and not (tmp_path / "data" / "private").exists()
        if private_bucket:
            # In a bucket no one reads anonymously.
            assert (await fetch(f"{seaweed.endpoint}/{private}/{key}")).status_code == 403
        else:
            # Beside the media, under a prefix no public key has.
            assert await rt.media.private.exists(key)
            assert (await fetch(f"{base}private/{key}")).status_code in (200, 403)
        assert (await fetch(f"{base}{key}")).status_code in (403, 404)

        # The owner is sent to a signed URL that works for a few minutes, and gets the zip.
        link = f"/settings/export/archive/{archive_id}.zip"
        await log_in(client, "alice")
        response = await client.get(link)
        assert response.status_code == 303
        signed = response.headers["Location"]
        assert "X-Amz-Signature=" in signed and "X-Amz-Expires=300" in signed
        served = await fetch(signed)
        assert served.status_code == 200
        assert served.headers["content-type"] == "application/zip"
        assert f'filename="archive-alice-{archive_id}.zip"' in served.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(served.content)) as zf:
            assert "actor.json" in zf.namelist() and "outbox.json" in zf.namelist()
        # Someone else: no such archive.
        await log_in(client, "bob")
        assert (await client.get(link)).status_code == 404

        # A week later the object goes with its row.
        async def age(conn: Connection) -> None:
            await conn.execute("UPDATE account_archives SET expires_at = 1, created_at = 1")

        await rt.store.write(age)
        assert await archives.remove_expired(rt) == 1
        assert await rt.media.private.keys() == []
        assert (await fetch(signed)).status_code == 404


@pytest.mark.parametrize("failure", ["bucket gone", "storage stopped"])
async def test_a_failing_store_answers_503_and_leaves_no_row(
    tmp_path: Path, database_url: str, seaweed: Seaweed, failure: str
) -> None:
    settings = seaweed.settings("wb-never-created")
    if failure == "storage stopped":
        # Nothing listens there: every try is refused, retried, then given up.
        settings["s3_endpoint"] = f"http://127.0.0.1:{free_port()}"
    config = make_config(tmp_path, database_url, **settings)
    async with instance(config) as (rt, client):
        alice = await make_user(rt, client, "alice")
        response = await client.post(
            "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
        )
        assert response.status_code == 503
        assert (await response.get_json())["error"].startswith("Media storage is unavailable")
        assert await attachment_rows(rt) == 0
        response = await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=alice.headers,
            files={"avatar": FileStorage(io.BytesIO(png("blue")), "a.png", "image/png")},
        )
        assert response.status_code == 503


def run_cli(config: Config, *args: str) -> subprocess.CompletedProcess[str]:
    """`wildebeest-trio ARGS` with `config`'s data folder, database and S3 settings."""
    env = {
        **os.environ,
        "WB_DATA_DIR": str(config.data_dir),
        "WB_DATABASE_URL": config.database_url,
        "WB_LISTEN": config.listen,
        "WB_MEDIA_STORAGE": config.media_storage,
        "WB_S3_ENDPOINT": config.s3_endpoint,
        "WB_S3_BUCKET": config.s3_bucket,
        "WB_S3_ACCESS_KEY_ID": config.s3_access_key_id,
        "WB_S3_SECRET_ACCESS_KEY": config.s3_secret_access_key,
        "WB_S3_PATH_STYLE": "true" if config.s3_path_style else "false",
        "WB_MEDIA_BASE_URL": config.media_base_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "wildebeest_trio", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_migrate_moves_a_local_instance_to_s3_and_back(
    tmp_path: Path, database_url: str, seaweed: Seaweed
) -> None:
    bucket = await trio.to_thread.run_sync(seaweed.new_bucket)
    # S3 is configured, but nothing has switched to it: media stay local (`auto`).
    config = make_config(
        tmp_path, database_url, **{**seaweed.settings(bucket), "media_storage": None}
    )
    async with instance(config) as (rt, client):
        assert rt.media.kind == "local"
        alice = await make_user(rt, client, "alice")
        response = await client.post(
            "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
        )
        media = await response.get_json()
        status = await post(client, alice, "before the move", media_ids=[media["id"]])
        local_files = {
            p.relative_to(rt.config.media_dir).as_posix(): p.read_bytes() for p in stored_files(rt)
        }
        assert len(local_files) == 2
        # An archive, in the private folder: it moves to the private side of the bucket.
        archive_id = await archives.request(rt, int(alice.id))
        await archives.build(rt, {"archive_id": archive_id})
        [archive_key] = await rt.media.private.keys()
        archive = (rt.config.data_dir / "private" / archive_key).read_bytes()

        # A broken target: nothing is switched, and the local files still serve.
        broken = make_config(
            tmp_path,
            database_url,
            **{**seaweed.settings("wb-never-created"), "media_storage": None},
        )
        rt.config = broken
        with pytest.raises(MigrateError, match="3 files were not copied"):
            await migrate_media(rt, "s3", lambda _: None)
        rt.config = config
        served = await client.get(media["url"].removeprefix(config.base_url))
        assert served.status_code == 200

    done = await trio.to_thread.run_sync(run_cli, config, "media", "migrate", "--to", "s3")
    assert done.returncode == 0, done.stderr
    assert "media: 2/2 files (100%)" in done.stderr and "media: 1/1 files (100%)" in done.stderr
    assert "3 copied" in done.stderr and "switched" in done.stderr

    base = f"{seaweed.endpoint}/{bucket}/"
    async with instance(config) as (rt, client):
        assert rt.media.kind == "s3"
        response = await client.get(f"/api/v1/statuses/{status['id']}")
        shown = (await response.get_json())["media_attachments"][0]
        assert shown["url"].startswith(base)
        for key, data in local_files.items():
            assert (await fetch(f"{base}{key}")).content == data
        # The archive is under the bucket's private prefix, its owner's download signed.
        assert await rt.media.private.keys() == [archive_key]
        found = await archives.download(rt, int(alice.id), archive_id, "alice")
        assert found is not None and found.url is not None
        assert f"/{bucket}/private/{archive_key}?" in found.url
        assert (await fetch(found.url)).content == archive
        # Back to local: the files are there already (resumed, nothing copied).
        say: list[str] = []
        summary = await migrate_media(rt, "local", say.append)
        assert summary.switched and summary.already_there == 3 and summary.copied == 0

    async with instance(config) as (rt, client):
        assert rt.media.kind == "local"
        response = await client.get(f"/api/v1/statuses/{status['id']}")
        url = (await response.get_json())["media_attachments"][0]["url"]
        served = await client.get(url.removeprefix(rt.config.base_url))
        assert served.status_code == 200


async def test_orphan_cleanup_removes_old_objects_no_row_names(
    tmp_path: Path, database_url: str, seaweed: Seaweed
) -> None:
    config, base = await in_new_bucket(tmp_path, database_url, seaweed)
    async with instance(config) as (rt, client):
        alice = await make_user(rt, client, "alice")
        response = await client.post(
            "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
        )
        media = await response.get_json()
        used = [media[f].removeprefix(base) for f in ("url", "preview_url")]
        category = "media_attachments/original"
        old = await rt.media.put(png("red"), content_type="image/png", category=category)
        (listed,) = [i for i in await rt.media.listing("", 100) if i.key == old.key]
        # A bucket's clock cannot be set back: the fresh orphan is written a second
        # later (S3 dates are whole seconds), and the cutoff falls between the two.
        while time.time() < listed.modified + 1.5:
            await trio.sleep(0.05)
        fresh = await rt.media.put(png("green"), content_type="image/png", category=category)
        found = await media_orphans.sweep_page(rt, "", cutoff=listed.modified + 0.5)
        assert found.removed == [old.key] and found.fresh == 1 and found.scanned == 4
        assert (await fetch(f"{base}{old.key}")).status_code == 404
        assert await rt.media.exists(fresh.key)
        for key in used:
            assert (await fetch(f"{base}{key}")).status_code == 200

    # Mastodon's `tootctl media remove-orphans`; a grace of zero takes the fresh one too.
    done = await trio.to_thread.run_sync(run_cli, config, "media", "remove-orphans", "--grace", "0")
    assert done.returncode == 0, done.stderr
    assert f"removed {fresh.key}" in done.stderr
    assert "3 files looked at: removed 1 orphans" in done.stderr
    assert (await fetch(f"{base}{fresh.key}")).status_code == 404
    for key in used:
        assert (await fetch(f"{base}{key}")).status_code == 200
