"""Remote media: fetched from the origin on first view into a bounded cache, purged by the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image

from tests.conftest import LOOPBACK, make_config
from tests.fakes.remote import RemoteServer
from tests.fakes.rows import remote_account
from tests.test_images import encoded, exif_with_gps, two_halves
from tests.test_media_api import needs_ffmpeg, stored_files
from tests.test_media_av import clip, ffprobe
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.serializers.accounts import account_entity
from wildebeest_trio.serializers.media import media_attachment_entity
from wildebeest_trio.services import media_cache
from wildebeest_trio.services.domain_blocks import block_domain
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import media as media_rows

pytest_plugins = ("tests.fakes.fixtures",)

REPO = Path(__file__).resolve().parent.parent


def gps_photo(width: int = 1000, height: int = 700) -> bytes:
    return encoded(two_halves(width, height), "JPEG", exif=exif_with_gps(1), quality=90)


@pytest.fixture
def origin(remote: RemoteServer) -> RemoteServer:
    """A fake remote server on 127.0.0.1 serving photos (one slowly) and some text."""
    photo = gps_photo()
    for name, body in (
        ("photo.jpg", photo),
        ("other.jpg", gps_photo(640, 480)),
        ("avatar.jpg", gps_photo(600, 500)),
        ("avatar2.jpg", gps_photo(300, 300)),
        ("notes.txt", b"not a picture at all\n" * 10),
        ("slow.jpg", photo),
    ):
        remote.put_file(f"{_files(remote)}/{name}", body, "image/jpeg")
    remote.answer(f"{_files(remote)}/slow.jpg", delay=0.5)
    return remote


def _files(origin: RemoteServer) -> str:
    return f"{origin.base}/files"


def _hits(origin: RemoteServer) -> dict[str, int]:
    """How many times each file was asked for."""
    return dict(Counter(r.path.rsplit("/", 1)[1] for r in origin.requests))


@asynccontextmanager
async def server(
    tmp_path: Path, database_url: str, **settings: Any
) -> AsyncIterator[tuple[Runtime, Any]]:
    settings.setdefault("allow_private_addresses", True)
    config = make_config(tmp_path, database_url, **settings)
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            yield rt, app.test_client()


async def remote_attachment(rt: Runtime, account_id: int, url: str, **fields: Any) -> int:
    async def unit(conn: Connection) -> int:
        return await media_cache.add_remote_attachment(
            conn, rt, account_id=account_id, status_id=12345, remote_url=url, **fields
        )

    return await rt.store.write(unit)


async def entity(rt: Runtime, attachment_id: int) -> dict[str, Any]:
    row = await rt.store.read(media_rows.attachment, attachment_id)
    assert row is not None
    return media_attachment_entity(rt.config, row)


async def follow(client: Any, rt: Runtime, url: str) -> tuple[str, bytes]:
    """GET a URL of ours through its redirect; the final URL and body."""
    response = await client.get(url.removeprefix(rt.config.base_url))
    assert response.status_code == 302, await response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(f"{rt.config.base_url}/system/cache/")
    served = await client.get(location.removeprefix(rt.config.base_url))
    assert served.status_code == 200
    return location, bytes(await served.get_data())


async def test_remote_attachment_is_cached_on_first_view(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(rt, "bob", "remote.example")
        attachment_id = await remote_attachment(
            rt,
            bob,
            f"{base}/photo.jpg",
            media_type="image/jpeg",
            description="From afar",
            blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            width=1000,
            height=700,
        )
        before = await entity(rt, attachment_id)
        assert before["type"] == "image"
        assert before["url"].startswith(f"{rt.config.base_url}/media_proxy/{attachment_id}/")
        assert before["preview_url"].endswith("/small")
        assert before["remote_url"] == f"{base}/photo.jpg"
        assert before["meta"]["original"]["size"] == "1000x700"
        assert _hits(origin) == {}  # nothing fetched before a view

        location, body = await follow(client, rt, before["url"])
        assert "/system/cache/media_attachments/original/" in location
        assert b"Exif" not in body and b"LeakyCam" not in body
        with Image.open(io.BytesIO(body)) as img:
            assert img.size == (1000, 700) and len(img.getexif()) == 0
        after = await entity(rt, attachment_id)
        assert after["url"] == location
        assert after["preview_url"].startswith(
            f"{rt.config.base_url}/system/cache/media_attachments/small/"
        )
        assert after["remote_url"] == f"{base}/photo.jpg"
        assert after["description"] == "From afar"
        assert len(after["blurhash"]) == 36
        assert after["meta"]["small"]["width"] <= 640
        # The preview route, and any later view, use the copy: one fetch in all.
        _, preview = await follow(client, rt, before["preview_url"])
        with Image.open(io.BytesIO(preview)) as img:
            assert max(img.size) <= 640
        await follow(client, rt, before["url"])
        assert _hits(origin) == {"photo.jpg": 1}

        # Without the token (ids are guessable) nothing is served or fetched.
        wrong = before["url"].replace(before["url"].split("/")[-2], "0" * 16)
        assert (await client.get(wrong.removeprefix(rt.config.base_url))).status_code == 404
        assert (await client.get("/media_proxy/1/abc/large")).status_code == 404


async def test_unprocessable_remote_file_is_shown_as_a_link(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(rt, "bob", "remote.example")
        attachment_id = await remote_attachment(
            rt, bob, f"{base}/notes.txt", media_type="image/png"
        )
        url = (await entity(rt, attachment_id))["url"]
        response = await client.get(url.removeprefix(rt.config.base_url))
        assert response.status_code == 302
        assert response.headers["Location"] == f"{base}/notes.txt"
        shown = await entity(rt, attachment_id)
        assert shown["type"] == "unknown" and shown["url"] == f"{base}/notes.txt"
        assert stored_files(rt) == []
        # A file the origin does not have: 502, and the next view tries again.
        missing = await remote_attachment(rt, bob, f"{base}/missing.jpg", media_type="image/jpeg")
        url = (await entity(rt, missing))["url"]
        failed = await client.get(url.removeprefix(rt.config.base_url))
        assert failed.status_code == 502
        assert "error" in await failed.get_json()
        assert (await entity(rt, missing))["url"] == url


async def test_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url, allow_private_addresses=False) as (rt, client):
        bob = await remote_account(
            rt, "bob", "remote.example", avatar_remote_url=f"{base}/avatar.jpg"
        )
        attachment_id = await remote_attachment(rt, bob, f"{base}/photo.jpg")
        url = (await entity(rt, attachment_id))["url"]
        refused = await client.get(url.removeprefix(rt.config.base_url))
        assert refused.status_code == 502
        assert "private or loopback" in (await refused.get_json())["error"]
        avatar = await client.get(f"/media_proxy/accounts/{bob}/avatar")
        assert avatar.status_code == 502
        assert _hits(origin) == {}
        assert stored_files(rt) == []
        assert (await entity(rt, attachment_id))["url"] == url


async def test_reject_media_fetches_nothing_and_shows_the_origin(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(
            rt, "bob", "media.example", avatar_remote_url=f"{base}/avatar.jpg"
        )
        earlier = await remote_attachment(rt, bob, f"{base}/photo.jpg", media_type="image/jpeg")

        async def block(conn: Connection) -> None:
            await block_domain(conn, rt.ids, "media.example", reject_media=True)

        await rt.store.write(block)
        later = await remote_attachment(
            rt,
            bob,
            f"{base}/other.jpg",
            preview_remote_url=f"{base}/other.jpg",
            media_type="image/jpeg",
        )
        shown = await entity(rt, later)
        assert shown["type"] == "unknown"
        assert shown["url"] == f"{base}/other.jpg"
        # One made before the block: its proxy fetches nothing and sends to the origin.
        url = (await entity(rt, earlier))["url"]
        response = await client.get(url.removeprefix(rt.config.base_url))
        assert response.status_code == 302
        assert response.headers["Location"] == f"{base}/photo.jpg"
        assert (await entity(rt, earlier))["url"] == f"{base}/photo.jpg"
        avatar = await client.get(f"/media_proxy/accounts/{bob}/avatar")
        assert avatar.status_code == 302
        assert avatar.headers["Location"] == f"{rt.config.base_url}/static/avatar.png"
        assert _hits(origin) == {}
        assert stored_files(rt) == []


async def test_remote_avatar_and_header_are_cached_and_refreshed(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(
            rt,
            "bob",
            "remote.example",
            avatar_remote_url=f"{base}/avatar.jpg",
            header_remote_url=f"{base}/photo.jpg",
        )

        async def shown() -> dict[str, Any]:
            row = await rt.store.read(account_rows.account_by_id, bob)
            assert row is not None
            return account_entity(rt.config, row)

        first = await shown()
        assert first["avatar"] == f"{rt.config.base_url}/media_proxy/accounts/{bob}/avatar"
        assert first["header"] == f"{rt.config.base_url}/media_proxy/accounts/{bob}/header"
        location, body = await follow(client, rt, first["avatar"])
        assert "/system/cache/avatars/" in location
        with Image.open(io.BytesIO(body)) as img:
            assert img.size == (400, 400) and len(img.getexif()) == 0
        header_location, _ = await follow(client, rt, first["header"])
        assert "/system/cache/headers/" in header_location
        cached = await shown()
        assert cached["avatar"] == location and cached["header"] == header_location

        # The remote account changes its avatar: the old copy is stale, then replaced.
        async def change(conn: Connection) -> None:
            await conn.execute(
                "UPDATE accounts SET avatar_remote_url = $1 WHERE id = $2",
                f"{base}/avatar2.jpg",
                bob,
            )

        await rt.store.write(change)
        assert (await shown())["avatar"] == first["avatar"]
        new_location, _ = await follow(client, rt, first["avatar"])
        assert new_location != location
        assert (await shown())["avatar"] == new_location
        assert _hits(origin) == {"avatar.jpg": 1, "photo.jpg": 1, "avatar2.jpg": 1}
        old = await client.get(location.removeprefix(rt.config.base_url))
        assert old.status_code == 404  # the replaced copy is gone


async def test_purge_remote_cli_and_cache_bound(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url, media_cache_max_bytes=10**9) as (rt, client):
        bob = await remote_account(
            rt, "bob", "remote.example", avatar_remote_url=f"{base}/avatar.jpg"
        )
        attachment_id = await remote_attachment(rt, bob, f"{base}/photo.jpg")
        proxy = (await entity(rt, attachment_id))["url"]
        await follow(client, rt, proxy)
        await follow(client, rt, f"/media_proxy/accounts/{bob}/avatar")
        assert len(stored_files(rt)) == 3

        env = {
            **os.environ,
            "WB_DATA_DIR": str(rt.config.data_dir),
            "WB_DATABASE_URL": rt.config.database_url,
            "WB_OUTBOUND_ALLOW": LOOPBACK,
        }
        kept = await trio.to_thread.run_sync(
            lambda: subprocess.run(
                [sys.executable, "-m", "wildebeest_trio", "media", "purge-remote", "--days", "1"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
        assert kept.returncode == 0, kept.stderr
        assert "0 attachments" in kept.stderr
        assert len(stored_files(rt)) == 3

        purged = await trio.to_thread.run_sync(
            lambda: subprocess.run(
                [sys.executable, "-m", "wildebeest_trio", "media", "purge-remote", "--days", "0"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
        assert purged.returncode == 0, purged.stderr
        assert "1 attachments, 1 avatars" in purged.stderr
        assert stored_files(rt) == []
        after = await entity(rt, attachment_id)
        assert after["url"] == proxy and after["remote_url"] == f"{base}/photo.jpg"
        # Viewed again: fetched again.
        await follow(client, rt, proxy)
        assert _hits(origin)["photo.jpg"] == 2


async def test_cache_size_bound_drops_the_oldest(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url, media_cache_max_bytes=1) as (rt, client):
        bob = await remote_account(rt, "bob", "remote.example")
        first = await remote_attachment(rt, bob, f"{base}/photo.jpg")
        second = await remote_attachment(rt, bob, f"{base}/other.jpg")
        await follow(client, rt, (await entity(rt, first))["url"])
        # Over the bound at once, but a copy just made is served; the next one replaces it.
        assert "/system/cache/" in (await entity(rt, first))["url"]
        await follow(client, rt, (await entity(rt, second))["url"])
        assert "/media_proxy/" in (await entity(rt, first))["url"]
        assert "/system/cache/" in (await entity(rt, second))["url"]
        assert len(stored_files(rt)) == 2


async def test_remote_emoji_is_cached_on_first_view(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    from wildebeest_trio.serializers.media_urls import emoji_image_url

    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        emoji_id = rt.ids.next_id()

        async def unit(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO custom_emojis (id, shortcode, domain, image_remote_url, created_at, "
                "updated_at) VALUES ($1, 'blob', 'remote.example', $2, 1, 1)",
                emoji_id,
                f"{base}/avatar2.jpg",
            )

        async def row(conn: Connection) -> dict[str, Any]:
            found = await conn.fetchrow("SELECT * FROM custom_emojis WHERE id = $1", emoji_id)
            return dict(found)

        await rt.store.write(unit)
        url = emoji_image_url(rt.config, await rt.store.read(row))
        assert url == f"{rt.config.base_url}/media_proxy/emojis/{emoji_id}"
        location, body = await follow(client, rt, url)
        assert "/system/cache/emojis/" in location
        with Image.open(io.BytesIO(body)) as img:
            assert max(img.size) <= 256 and len(img.getexif()) == 0
        assert emoji_image_url(rt.config, await rt.store.read(row)) == location
        await follow(client, rt, url)
        assert _hits(origin) == {"avatar2.jpg": 1}


async def test_simultaneous_first_views_fetch_once(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(rt, "bob", "remote.example")
        attachment_id = await remote_attachment(rt, bob, f"{base}/slow.jpg")
        url = (await entity(rt, attachment_id))["url"].removeprefix(rt.config.base_url)
        locations: list[str] = []

        async def view() -> None:
            response = await client.get(url)
            assert response.status_code == 302
            locations.append(response.headers["Location"])

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(view)
        assert len(set(locations)) == 1 and len(locations) == 3
        assert "/system/cache/" in locations[0]
        assert _hits(origin) == {"slow.jpg": 1}


@needs_ffmpeg
async def test_remote_video_is_transcoded_like_an_upload(
    tmp_path: Path, database_url: str, origin: RemoteServer
) -> None:
    base = _files(origin)
    origin.put_file(
        f"{base}/clip.webm", await trio.to_thread.run_sync(clip, tmp_path), "video/webm"
    )
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(rt, "bob", "remote.example")
        attachment_id = await remote_attachment(
            rt, bob, f"{base}/clip.webm", media_type="video/webm"
        )
        before = await entity(rt, attachment_id)
        assert before["type"] == "video" and "/media_proxy/" in before["url"]
        location, body = await follow(client, rt, before["url"])
        assert location.endswith(".mp4")
        probed = ffprobe(body, tmp_path)
        assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}
        assert "title" not in probed["format"].get("tags", {})
        after = await entity(rt, attachment_id)
        assert after["type"] == "video"
        assert after["preview_url"].endswith(".jpg") and len(after["blurhash"]) == 36
        assert after["meta"]["original"]["frame_rate"] == "25/1"


async def test_media_elsewhere_is_refused_never_fetched(tmp_path: Path, database_url: str) -> None:
    """Test servers reach loopback only: media linking to the open internet is refused
    (the conftest guard would fail the test on any connection to it)."""
    async with server(tmp_path, database_url) as (rt, client):
        bob = await remote_account(
            rt, "bob", "remote.example", avatar_remote_url="https://93.184.216.34/a.jpg"
        )
        for remote_url, reason in (
            ("https://93.184.216.34/photo.jpg", "outside WB_OUTBOUND_ALLOW"),
            ("https://example.org/photo.jpg", "no DNS server may be asked"),
        ):
            attachment_id = await remote_attachment(rt, bob, remote_url)
            url = (await entity(rt, attachment_id))["url"]
            refused = await client.get(url.removeprefix(rt.config.base_url))
            assert refused.status_code == 502
            assert reason in (await refused.get_json())["error"]
        assert (await client.get(f"/media_proxy/accounts/{bob}/avatar")).status_code == 502
        assert stored_files(rt) == []
