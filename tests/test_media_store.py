"""The media store: content-addressed or unique keys, atomic writes, serving at /system/,
profile images."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image

from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import ConfigError, load_config
from wildebeest_trio.media import (
    LocalMediaStore,
    MediaKeyError,
    MediaStore,
    MediaStoreError,
    content_type_for_key,
    is_valid_key,
    make_key,
)
from wildebeest_trio.media.images import ImageError
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.profile_images import store_avatar, store_header

from .conftest import make_config

PNG = b"\x89PNG\r\n\x1a\n" + b"not really, but the store does not look"


def files_under(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if not p.is_dir())


def image_bytes(size: tuple[int, int] = (800, 600), fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 60, 90)).save(buf, format=fmt)
    return buf.getvalue()


# --- keys ---------------------------------------------------------------------------------


def test_keys_are_content_addressed() -> None:
    digest = hashlib.sha256(PNG).hexdigest()
    key, got = make_key(PNG, content_type="image/png", category="avatars")
    assert got == digest
    assert key == f"avatars/{digest[:2]}/{digest[2:4]}/{digest}.png"
    assert is_valid_key(key)
    assert make_key(PNG, content_type="image/jpeg", category="headers")[0].endswith(".jpg")
    assert make_key(PNG, content_type="image/png", category="cache/remote_avatars")[0]


def test_unique_keys_are_random_names_of_the_same_shape() -> None:
    digest = hashlib.sha256(PNG).hexdigest()
    first, got = make_key(PNG, content_type="image/png", category="avatars", unique=True)
    second, _ = make_key(PNG, content_type="image/png", category="avatars", unique=True)
    assert got == digest and first != second
    for key in (first, second):
        assert is_valid_key(key) and digest not in key and key.endswith(".png")


@pytest.mark.parametrize("category", ["", "Avatars", "../x", "/abs", "a//b", "a/../b", "a.b"])
def test_bad_categories_are_refused(category: str) -> None:
    with pytest.raises(MediaKeyError):
        make_key(PNG, content_type="image/png", category=category)


def test_unknown_content_type_is_refused() -> None:
    with pytest.raises(MediaKeyError):
        make_key(PNG, content_type="text/html", category="avatars")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../etc/passwd",
        "avatars/../../etc/passwd",
        "/etc/passwd",
        "avatars/ab/cd/" + "ab" * 32 + ".png",  # fan-out not matching the digest
        "avatars/ab/cd/.tmp-xyz",
        "avatars/%2e%2e/%2e%2e/etc/passwd",
        "avatars\\..\\..\\etc\\passwd",
        "avatars/ab/cd/" + "a" * 64 + ".png/..",
        "avatars/ab/cd/" + "a" * 64 + ".png\x00.txt",
    ],
)
def test_invalid_keys(key: str) -> None:
    assert not is_valid_key(key)


def test_content_type_for_key() -> None:
    assert content_type_for_key("avatars/aa/bb/x.png") == "image/png"
    assert content_type_for_key("avatars/aa/bb/x.jpg") == "image/jpeg"
    assert content_type_for_key("avatars/aa/bb/x.webp") == "image/webp"
    assert content_type_for_key("avatars/aa/bb/x.zzz") == "application/octet-stream"


# --- the local store ----------------------------------------------------------------------


async def test_put_exists_url_delete(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media", "https://example.test/")
    assert isinstance(store, MediaStore)
    stored = await store.put(PNG, content_type="image/png", category="avatars")
    assert stored.key == make_key(PNG, content_type="image/png", category="avatars")[0]
    assert stored.url == f"https://example.test/system/{stored.key}"
    assert stored.size == len(PNG) and stored.content_type == "image/png"
    assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
    path = tmp_path / "media" / stored.key
    assert path.read_bytes() == PNG
    assert path.stat().st_mode & 0o777 == 0o600  # the app serves it; nobody else reads it
    assert await store.exists(stored.key)
    assert store.url(stored.key) == stored.url

    again = await store.put(PNG, content_type="image/png", category="avatars")
    assert again == stored
    assert files_under(tmp_path / "media") == [path]

    await store.delete(stored.key)
    assert not await store.exists(stored.key)
    await store.delete(stored.key)  # already gone: fine
    await store.delete("../../etc/passwd")  # not a key: ignored, nothing touched
    assert not await store.exists("../../etc/passwd")


async def test_concurrent_puts_of_the_same_bytes(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media", "http://x")
    data = os.urandom(200_000)
    keys: list[str] = []

    async def put() -> None:
        keys.append((await store.put(data, content_type="image/jpeg", category="headers")).key)

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(put)
    assert len(set(keys)) == 1
    assert files_under(tmp_path / "media") == [tmp_path / "media" / keys[0]]
    assert (tmp_path / "media" / keys[0]).read_bytes() == data


async def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalMediaStore(tmp_path / "media", "http://x")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(MediaStoreError, match="No space"):
        await store.put(PNG, content_type="image/png", category="avatars")
    assert files_under(tmp_path / "media") == []


async def test_symlink_out_of_the_root_is_not_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    store = LocalMediaStore(tmp_path / "media", "http://x")
    key, _ = make_key(b"whatever", content_type="image/png", category="avatars")
    (tmp_path / "media" / key).parent.mkdir(parents=True)
    (tmp_path / "media" / key).symlink_to(secret)
    assert await store.local_path(key) is None
    assert not await store.exists(key)
    # A folder symlinked outside is refused the same way.
    outside = tmp_path / "outside"
    (outside / key).parent.mkdir(parents=True)
    (outside / key).write_bytes(b"x")
    (tmp_path / "media" / "headers").symlink_to(outside / "avatars")
    assert await store.local_path("headers" + key.removeprefix("avatars")) is None


def test_media_size_settings(tmp_path: Path) -> None:
    config = load_config(env={"WB_DATA_DIR": str(tmp_path)})
    assert config.media_max_image_bytes == 16 * 1024 * 1024
    assert config.media_max_image_pixels == 33_177_600
    config = load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_MEDIA_MAX_IMAGE_BYTES": "1048576"})
    assert config.media_max_image_bytes == 1024 * 1024
    with pytest.raises(ConfigError, match="WB_MEDIA_MAX_IMAGE_PIXELS"):
        load_config(env={"WB_DATA_DIR": str(tmp_path), "WB_MEDIA_MAX_IMAGE_PIXELS": "0"})


# --- the runtime and the profile-image services (both backends) ---------------------------


async def test_runtime_media_store_is_under_media_dir(rt: Runtime) -> None:
    assert isinstance(rt.media, LocalMediaStore)
    assert rt.media.root == rt.config.media_dir
    stored = await rt.media.put(PNG, content_type="image/png", category="avatars")
    assert stored.url.startswith(rt.config.base_url + "/system/avatars/")
    assert (rt.config.media_dir / stored.key).is_file()


async def test_store_avatar_and_header(rt: Runtime) -> None:
    key = await store_avatar(rt, image_bytes())
    assert key.startswith("avatars/") and key.endswith(".jpg")
    with Image.open(rt.config.media_dir / key) as img:
        assert img.size == (400, 400) and img.format == "JPEG"
    key = await store_header(rt, image_bytes((3000, 2000), "PNG"))
    assert key.startswith("headers/")
    with Image.open(rt.config.media_dir / key) as img:
        assert img.size == (1500, 500)


async def test_bad_uploads_leave_no_files(rt: Runtime) -> None:
    bad = [
        b"just text, named avatar.png",
        image_bytes((300, 300))[:200],
        image_bytes((300, 300), "BMP"),
    ]
    for data in bad:
        for store in (store_avatar, store_header):
            with pytest.raises(ImageError):
                await store(rt, data)
    assert files_under(rt.config.media_dir) == []


async def test_configured_limits_apply(tmp_path: Path, database_url: str) -> None:
    config = make_config(
        tmp_path, database_url, media_max_image_bytes=5000, media_max_image_pixels=250_000
    )
    async with open_server_runtime(config) as rt:
        with pytest.raises(ImageError, match="too large"):
            await store_avatar(rt, os.urandom(5001))
        with pytest.raises(ImageError, match="600x600 pixels"):
            await store_avatar(rt, image_bytes((600, 600), "GIF"))
        assert await store_avatar(rt, image_bytes((500, 500), "GIF"))
        assert len(files_under(config.media_dir)) == 1


# --- serving ------------------------------------------------------------------------------

CACHE_FOREVER = "public, max-age=31536000, immutable"


async def test_serves_stored_files(rt: Runtime, client: Any) -> None:
    jpeg = await store_avatar(rt, image_bytes())
    png = (await rt.media.put(PNG, content_type="image/png", category="avatars")).key
    for key, ctype in ((jpeg, "image/jpeg"), (png, "image/png")):
        response = await client.get(f"/system/{key}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == ctype
        assert response.headers["Cache-Control"] == CACHE_FOREVER
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        body = await response.get_data()
        assert body == (rt.config.media_dir / key).read_bytes()
        assert int(response.headers["Content-Length"]) == len(body)
        digest = key.rsplit("/", 1)[1].split(".")[0]
        assert response.headers["ETag"] == f'"{digest}"'


async def test_conditional_range_and_head(rt: Runtime, client: Any) -> None:
    key = (await rt.media.put(PNG, content_type="image/png", category="avatars")).key
    etag = '"' + key.rsplit("/", 1)[1].split(".")[0] + '"'
    response = await client.get(f"/system/{key}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    response = await client.get(f"/system/{key}", headers={"Range": "bytes=0-7"})
    assert response.status_code == 206
    assert await response.get_data() == PNG[:8]
    response = await client.head(f"/system/{key}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"


async def test_unknown_key_is_json_404(rt: Runtime, client: Any) -> None:
    key, _ = make_key(b"never stored", content_type="image/png", category="avatars")
    for path in (f"/system/{key}", "/system/avatars/nothing.png", "/system/x"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert await response.get_json() == {"error": "Record not found"}


TRAVERSALS = [
    "/system/../../../../etc/passwd",
    "/system/avatars/../../../../etc/passwd",
    "/system/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/system/..%2f..%2f..%2fetc%2fpasswd",
    "/system/avatars%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/system/%2fetc%2fpasswd",
    "/system//etc/passwd",
    "/system/..%5c..%5cetc%5cpasswd",
    "/system/%252e%252e/%252e%252e/etc/passwd",
    "/system/../leak.txt",
    "/system/..%2fleak.txt",
    "/system/avatars/..%2f..%2fleak.txt",
    "/system/avatars/%2e%2e/%2e%2e/leak.txt",
]


def plant_leak(rt: Runtime) -> None:
    """A file beside the media folder: any traversal that works would serve it."""
    rt.config.media_dir.mkdir(parents=True, exist_ok=True)
    (rt.config.media_dir.parent / "leak.txt").write_text("root:x:0:0 leaked")


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_traversal_is_refused(rt: Runtime, client: Any, path: str) -> None:
    plant_leak(rt)
    response = await client.get(path)
    if response.status_code == 308:
        # Werkzeug merges `//` by redirecting; the target must stay under /system/ and miss.
        location = response.headers["Location"]
        assert location.startswith("/system/") or "/system/" in location
        response = await client.get(location)
    assert response.status_code == 404, path
    assert await response.get_json() == {"error": "Record not found"}


async def test_symlinked_key_is_not_served(rt: Runtime, client: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    key, _ = make_key(b"planted", content_type="image/png", category="avatars")
    link = rt.config.media_dir / key
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    response = await client.get(f"/system/{key}")
    assert response.status_code == 404
    assert b"root:" not in await response.get_data()


async def test_temporary_files_are_not_served(rt: Runtime, client: Any) -> None:
    key = (await rt.media.put(PNG, content_type="image/png", category="avatars")).key
    tmp = rt.config.media_dir / key.rsplit("/", 1)[0] / ".tmp-abc"
    tmp.write_bytes(b"partial")
    response = await client.get(f"/system/{key.rsplit('/', 1)[0]}/.tmp-abc")
    assert response.status_code == 404


async def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as given (no client-side normalization); status and bytes."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        raw = b""
        # Hypercorn keeps the connection open: read the head, then Content-Length bytes.
        with trio.fail_after(10):
            while b"\r\n\r\n" not in raw:
                raw += await stream.receive_some(65536)
            head, _, body = raw.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += await stream.receive_some(65536)
    return int(head.split(b" ", 2)[1]), head + b"\r\n\r\n" + body


async def test_traversal_over_real_http(rt: Runtime, live_server: str) -> None:
    key = (await rt.media.put(PNG, content_type="image/png", category="avatars")).key
    status, raw = await raw_get(live_server, f"/system/{key}")
    assert status == 200 and raw.endswith(PNG)
    assert b"immutable" in raw
    plant_leak(rt)
    for target in [*TRAVERSALS, "/system/" + str(rt.config.data_dir / "secret_key")]:
        status, raw = await raw_get(live_server, target)
        assert status in (400, 404, 308), (target, status)
        assert b"root:" not in raw


async def test_served_avatar_has_no_metadata(rt: Runtime, client: Any) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "LeakyCamMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}
    buf = io.BytesIO()
    Image.new("RGB", (900, 500), (200, 10, 10)).save(buf, format="JPEG", exif=exif)
    key = await store_avatar(rt, buf.getvalue())
    response = await client.get(f"/system/{key}")
    body = await response.get_data()
    assert b"LeakyCam" not in body and b"Exif" not in body
    with Image.open(io.BytesIO(body)) as img:
        assert img.size == (400, 400) and len(img.getexif()) == 0
