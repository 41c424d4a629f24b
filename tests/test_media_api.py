"""Media uploads through the Mastodon API: v1 and v2 flows, edits, ownership, bad files, cleanup."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image
from quart.datastructures import FileStorage

from tests.conftest import make_config
from tests.test_images import encoded, exif_with_gps, png_bomb, two_halves
from wildebeest_trio.assembly import open_server_runtime, periodic_tasks
from wildebeest_trio.http import create_app
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.media.video import find_tools
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import media
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.services.tokens import issue_cli_token
from wildebeest_trio.store import Connection

ENTITY_KEYS = {
    "id",
    "type",
    "url",
    "preview_url",
    "remote_url",
    "preview_remote_url",
    "text_url",
    "meta",
    "description",
    "blurhash",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=ctype)


def photo(width: int = 1200, height: int = 900) -> bytes:
    return encoded(two_halves(width, height), "JPEG", exif=exif_with_gps(1), quality=90)


async def token(rt: Runtime, name: str, scopes: str = "read write") -> str:
    await create_local_account(rt, name, f"{name}@example.org", password="correct horse battery")
    return (await issue_cli_token(rt, name, scopes)).token


async def _count(conn: Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def counts(rt: Runtime) -> tuple[int, int]:
    rows = await rt.store.read(_count, "media_attachments")
    raw = await rt.store.read(_count, "media_uploads")
    return rows, raw


def stored_files(rt: Runtime) -> list[Path]:
    root = rt.config.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def drain_jobs(rt: Runtime, attachment_id: str) -> None:
    """Run job workers until the upload is no longer queued."""

    async def state(conn: Connection) -> str:
        return str(
            await conn.fetchval(
                "SELECT processing FROM media_attachments WHERE id = $1", int(attachment_id)
            )
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(20):
            while await rt.store.read(state) == "queued":
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


@pytest.fixture
async def alice(rt: Runtime) -> str:
    return await token(rt, "alice")


async def test_v1_upload_is_processed_at_once(rt: Runtime, client: Any, alice: str) -> None:
    response = await client.post(
        "/api/v1/media",
        headers=bearer(alice),
        files={"file": upload(photo(), "cat.png", "image/png")},
        form={"description": "A cat", "focus": "0.5,-0.25"},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    entity = await response.get_json()
    assert set(entity) == ENTITY_KEYS
    assert isinstance(entity["id"], str) and entity["id"].isdigit()
    assert entity["type"] == "image"
    assert entity["url"].startswith(f"{rt.config.base_url}/system/media_attachments/original/")
    assert entity["preview_url"].startswith(f"{rt.config.base_url}/system/media_attachments/small/")
    assert entity["remote_url"] is None and entity["preview_remote_url"] is None
    assert entity["text_url"] is None
    assert entity["description"] == "A cat"
    assert len(entity["blurhash"]) == 36
    assert entity["meta"] == {
        "original": {"width": 1200, "height": 900, "size": "1200x900", "aspect": 1200 / 900},
        "small": {"width": 554, "height": 415, "size": "554x415", "aspect": 554 / 415},
        "focus": {"x": 0.5, "y": -0.25},
    }
    served = await client.get(entity["url"].removeprefix(rt.config.base_url))
    assert served.status_code == 200
    body = await served.get_data()
    assert b"LeakyCam" not in body and b"Exif" not in body
    with Image.open(io.BytesIO(body)) as img:
        assert img.size == (1200, 900) and len(img.getexif()) == 0
    shown = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    assert shown.status_code == 200
    assert await shown.get_json() == entity


async def test_v2_upload_is_202_then_processed_by_a_job(
    rt: Runtime, client: Any, alice: str
) -> None:
    response = await client.post(
        "/api/v2/media", headers=bearer(alice), files={"file": upload(photo(4000, 3000))}
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    entity = await response.get_json()
    assert set(entity) == ENTITY_KEYS
    assert entity["url"] is None and entity["preview_url"] is None
    assert entity["type"] == "image" and entity["meta"] == {}
    assert await counts(rt) == (1, 1)  # the row and its raw bytes, waiting
    pending = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    assert pending.status_code == 206
    assert (await pending.get_json())["url"] is None

    await drain_jobs(rt, entity["id"])
    done = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    assert done.status_code == 200
    finished = await done.get_json()
    assert finished["url"].startswith(f"{rt.config.base_url}/system/")
    original = finished["meta"]["original"]
    assert original["width"] * original["height"] <= 8_294_400
    assert original["width"] == 3325 and original["height"] == 2494
    assert len(finished["blurhash"]) == 36
    assert await counts(rt) == (1, 0)  # raw bytes dropped once processed
    assert len(stored_files(rt)) == 2


async def test_put_description_focus_and_thumbnail(rt: Runtime, client: Any, alice: str) -> None:
    created = await (
        await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(photo())})
    ).get_json()
    path = f"/api/v1/media/{created['id']}"
    changed = await client.put(
        path, headers=bearer(alice), json={"description": "Two halves", "focus": "-1,1"}
    )
    assert changed.status_code == 200
    entity = await changed.get_json()
    assert entity["description"] == "Two halves"
    assert entity["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    assert entity["url"] == created["url"]

    too_long = await client.put(path, headers=bearer(alice), json={"description": "x" * 1501})
    assert too_long.status_code == 422
    assert "too long" in (await too_long.get_json())["error"]
    for bad in ("2,0", "0.1", "a,b", "0,-1.5", "nan,0"):
        refused = await client.put(path, headers=bearer(alice), form={"focus": bad})
        assert refused.status_code == 422, bad
        assert "Focus" in (await refused.get_json())["error"]
    assert (await (await client.get(path, headers=bearer(alice))).get_json())["meta"]["focus"] == {
        "x": -1.0,
        "y": 1.0,
    }

    thumb = encoded(Image.new("RGB", (900, 900), (0, 200, 0)), "PNG")
    with_thumb = await client.put(
        path, headers=bearer(alice), files={"thumbnail": upload(thumb, "t.png", "image/png")}
    )
    assert with_thumb.status_code == 200
    entity = await with_thumb.get_json()
    assert "/media_attachments/thumbnail/" in entity["preview_url"]
    assert entity["blurhash"] != created["blurhash"]
    assert entity["description"] == "Two halves"  # untouched fields stay


async def test_identical_uploads_get_unguessable_urls_of_their_own(
    rt: Runtime, client: Any, alice: str
) -> None:
    bob = await token(rt, "bob")
    same, thumb = photo(), encoded(Image.new("RGB", (200, 200), (0, 200, 0)), "PNG")
    entities = []
    for who in (alice, bob):
        response = await client.post(
            "/api/v1/media",
            headers=bearer(who),
            files={"file": upload(same), "thumbnail": upload(thumb, "t.png", "image/png")},
        )
        entities.append(await response.get_json())
    mine, theirs = entities
    for field in ("url", "preview_url"):
        assert mine[field] != theirs[field]
    for entity in entities:
        for field in ("url", "preview_url"):
            served = await client.get(entity[field].removeprefix(rt.config.base_url))
            assert served.status_code == 200
            # The name says nothing of the content: it is not the file's SHA-256.
            name = entity[field].rpartition("/")[2].partition(".")[0]
            assert len(name) == 64 and name != hashlib.sha256(await served.get_data()).hexdigest()
    # Files stored under their content address by earlier versions are still served.
    older = await rt.media.put(same, content_type="image/jpeg", category=media.ORIGINAL_CATEGORY)
    assert older.key.endswith(f"/{hashlib.sha256(same).hexdigest()}.jpg")
    assert (await client.get(f"/system/{older.key}")).status_code == 200


async def test_only_the_uploader_sees_or_changes_an_unattached_upload(
    rt: Runtime, client: Any, alice: str
) -> None:
    bob = await token(rt, "bob")
    created = await (
        await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(photo())})
    ).get_json()
    path = f"/api/v1/media/{created['id']}"
    assert (await client.get(path, headers=bearer(bob))).status_code == 404
    put = await client.put(path, headers=bearer(bob), json={"description": "mine now"})
    assert put.status_code == 404
    assert (await (await client.get(path, headers=bearer(alice))).get_json())["description"] is None
    assert (await client.get(path)).status_code == 401
    assert (await client.get("/api/v1/media/12345", headers=bearer(alice))).status_code == 404
    assert (await client.get("/api/v1/media/nope", headers=bearer(alice))).status_code == 404
    reader = await issue_cli_token(rt, "alice", "read")
    refused = await client.post(
        "/api/v1/media", headers=bearer(reader.token), files={"file": upload(photo())}
    )
    assert refused.status_code == 403

    async def attach(conn: Connection) -> None:
        await conn.execute(
            "UPDATE media_attachments SET status_id = 1 WHERE id = $1", int(created["id"])
        )

    await rt.store.write(attach)
    # Attached: immutable here (status edit is the way), as in Mastodon.
    assert (await client.get(path, headers=bearer(alice))).status_code == 404
    put = await client.put(path, headers=bearer(alice), json={"description": "late"})
    assert put.status_code == 404


BAD_FILES = {
    "text named .png": (b"this is not an image, only text\n", "not an image"),
    "png bomb": (png_bomb(), "too large"),
    "unsupported type": (encoded(Image.new("RGB", (64, 64)), "BMP"), "not supported"),
}


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_bad_files_are_refused_without_leftovers(
    rt: Runtime, client: Any, alice: str, version: str, case: str
) -> None:
    data, message = BAD_FILES[case]
    response = await client.post(
        f"/api/{version}/media",
        headers=bearer(alice),
        files={"file": upload(data, "x.png", "image/png")},
    )
    assert response.status_code == 422
    assert message in (await response.get_json())["error"]
    assert await counts(rt) == (0, 0)
    assert stored_files(rt) == []


async def test_truncated_jpeg(rt: Runtime, client: Any, alice: str) -> None:
    jpeg = photo()
    cut = jpeg[: len(jpeg) // 2]
    v1 = await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(cut)})
    assert v1.status_code == 422
    assert "truncated" in (await v1.get_json())["error"]
    assert await counts(rt) == (0, 0)
    # v2 reads only the header in the request; the job finds the damage and says so.
    v2 = await client.post("/api/v2/media", headers=bearer(alice), files={"file": upload(cut)})
    assert v2.status_code == 202
    entity = await v2.get_json()
    await drain_jobs(rt, entity["id"])
    failed = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    assert failed.status_code == 422
    assert "truncated" in (await failed.get_json())["error"]
    assert await counts(rt) == (1, 0)  # raw bytes gone; the row remains until cleanup
    assert stored_files(rt) == []


async def test_missing_file(client: Any, alice: str) -> None:
    response = await client.post("/api/v1/media", headers=bearer(alice), form={"x": "y"})
    assert response.status_code == 422
    assert (await response.get_json())["error"] == "Validation failed: File can't be blank"


async def test_configured_limits_apply(tmp_path: Path, database_url: str) -> None:
    config = make_config(
        tmp_path, database_url, media_max_image_bytes=200_000, media_max_image_pixels=1_000_000
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        alice = await token(rt, "alice")
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for path in ("/api/v1/instance", "/api/v2/instance"):
                limits = (await (await client.get(path)).get_json())["configuration"][
                    "media_attachments"
                ]
                assert limits["image_size_limit"] == 200_000
                assert limits["image_matrix_limit"] == 1_000_000
            big = encoded(Image.effect_noise((700, 700), 100).convert("RGB"), "PNG")
            assert len(big) > 200_000
            many = encoded(Image.new("RGB", (1200, 1000)), "PNG")
            for version in ("v1", "v2"):
                oversize = await client.post(
                    f"/api/{version}/media", headers=bearer(alice), files={"file": upload(big)}
                )
                assert oversize.status_code == 422
                assert "size must be less than" in (await oversize.get_json())["error"]
                pixels = await client.post(
                    f"/api/{version}/media", headers=bearer(alice), files={"file": upload(many)}
                )
                assert pixels.status_code == 422
                assert "1200x1000 pixels" in (await pixels.get_json())["error"]
            assert await counts(rt) == (0, 0)
            assert stored_files(rt) == []


async def test_unattached_uploads_are_removed_after_a_day(
    rt: Runtime, client: Any, alice: str
) -> None:
    same = photo()
    first = await (
        await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(same)})
    ).get_json()
    second = await (
        await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(same)})
    ).get_json()
    other = await (
        await client.post(
            "/api/v1/media", headers=bearer(alice), files={"file": upload(photo(300, 200))}
        )
    ).get_json()
    assert first["url"] != second["url"]  # each upload's files are its own
    assert len(stored_files(rt)) == 6

    async def age(conn: Connection, ids: list[int], created_at: int) -> None:
        for i in ids:
            await conn.execute(
                "UPDATE media_attachments SET created_at = $2 WHERE id = $1", i, created_at
            )

    async def attach(conn: Connection) -> None:
        await conn.execute(
            "UPDATE media_attachments SET status_id = 7 WHERE id = $1", int(other["id"])
        )

    await rt.store.write(age, [int(first["id"]), int(other["id"])], 1000)
    await rt.store.write(attach)
    # The scheduler's hourly task does the removal.
    task = next(t for t in periodic_tasks() if t.name == "remove unattached media")
    assert task.interval <= 3600
    await task.run(rt)
    # The first row is gone, and its files; the second's are still served.
    assert await counts(rt) == (2, 0)
    assert len(stored_files(rt)) == 4
    gone = await client.get(first["url"].removeprefix(rt.config.base_url))
    assert gone.status_code == 404
    served = await client.get(second["url"].removeprefix(rt.config.base_url))
    assert served.status_code == 200

    await rt.store.write(age, [int(second["id"])], 1000)
    assert await media.remove_unattached(rt) == 1
    assert await counts(rt) == (1, 0)
    assert len(stored_files(rt)) == 2  # only the attached upload's files remain
    assert await media.remove_unattached(rt) == 0


def animated_gif(frames: int = 6, size: tuple[int, int] = (321, 200)) -> bytes:
    colours = [(255, 0, 0), (0, 0, 255), (0, 200, 0)]
    images = [Image.new("RGB", size, colours[i % 3]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buf.getvalue()


needs_ffmpeg = pytest.mark.skipif(
    find_tools() is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)


@needs_ffmpeg
@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_animated_gif_becomes_gifv(
    rt: Runtime, client: Any, alice: str, version: str
) -> None:
    response = await client.post(
        f"/api/{version}/media",
        headers=bearer(alice),
        files={"file": upload(animated_gif(), "a.gif", "image/gif")},
    )
    assert response.status_code == (200 if version == "v1" else 202)
    entity = await response.get_json()
    assert entity["type"] == "gifv"
    if version == "v2":
        await drain_jobs(rt, entity["id"])
        shown = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
        assert shown.status_code == 200
        entity = await shown.get_json()
    assert entity["url"].endswith(".mp4")
    assert entity["preview_url"].endswith(".jpg")
    meta = entity["meta"]
    assert (meta["width"], meta["height"]) == (320, 200)  # even sides for H.264 4:2:0
    assert meta["original"]["frame_rate"] == "10/1"
    assert meta["original"]["duration"] == pytest.approx(0.6, abs=0.05)
    assert meta["small"]["size"] == "321x200"
    assert len(entity["blurhash"]) == 36
    served = await client.get(entity["url"].removeprefix(rt.config.base_url))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "video/mp4"
    assert (await served.get_data())[4:8] == b"ftyp"


@asynccontextmanager
async def no_ffmpeg_client(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Runtime, Any]]:
    """A runtime and test client whose ffmpeg setting names a program that is not there."""
    config = make_config(
        tmp_path, database_url, media_ffmpeg_path=str(tmp_path / "missing" / "ffmpeg")
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as test_app:
            yield rt, test_app.test_client()


async def test_animated_gif_without_ffmpeg_is_refused_and_stills_still_work(
    tmp_path: Path, database_url: str
) -> None:
    async with no_ffmpeg_client(tmp_path, database_url) as (rt, client):
        alice = await token(rt, "alice")
        for version in ("v1", "v2"):
            refused = await client.post(
                f"/api/{version}/media",
                headers=bearer(alice),
                files={"file": upload(animated_gif(), "a.gif", "image/gif")},
            )
            assert refused.status_code == 422
            assert "ffmpeg" in (await refused.get_json())["error"]
        assert await counts(rt) == (0, 0)
        assert stored_files(rt) == []
        still = await client.post(
            "/api/v1/media",
            headers=bearer(alice),
            files={"file": upload(animated_gif(frames=1), "s.gif", "image/gif")},
        )
        assert still.status_code == 200
        assert (await still.get_json())["type"] == "image"
