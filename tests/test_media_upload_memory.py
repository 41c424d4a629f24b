"""A large upload is streamed: from the socket to a temporary file, to ffmpeg, to the store.

A ~30 MB video is sent to the real HTTP server (Hypercorn on Trio, in this process) by a
client that reads it from disk piece by piece, and tracemalloc watches every allocation
Python makes meanwhile, the server's and the client's: the peak stays a small fraction
of the file (before, the body, the form field and the processed video each sat whole in
memory). On the local folder and on S3 (SeaweedFS, multipart from the file); an upload
past the limit is a 413 with nothing stored, and no temporary file is left behind, not
even by a client that goes away half-way.
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.conftest import make_config, serve_instance
from tests.fakes.peers import eventually
from tests.oauth_flow import csrf_from
from tests.seaweed import Seaweed
from tests.social import PASSWORD
from tests.test_media_api import needs_ffmpeg, token
from tests.test_media_av import make_media
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection

pytestmark = needs_ffmpeg

BOUNDARY = "wbboundary7d93a1"
# Python may allocate at most this share of the file's size while it is uploaded.
PEAK_SHARE = 0.25


@pytest.fixture(scope="module")
def big_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 30 MB of H.264 in MP4: 2.4 s of nearly lossless noise (ffmpeg takes ~2 s)."""
    folder = tmp_path_factory.mktemp("video")
    noise = "color=c=gray:s=640x480:r=25,noise=alls=100:allf=t"
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "1", "-pix_fmt", "yuv420p"]
    make_media(folder, "noise.mp4", "-f", "lavfi", "-i", noise, "-t", "2.4", *h264)
    target = folder / "noise.mp4"
    assert 20 * 2**20 < target.stat().st_size < 60 * 2**20
    return target


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    """The temporary folder, made this test's own: whatever an upload leaves shows."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before


def multipart(
    path: Path,
    *,
    size: int | None = None,
    field: str = "file",
    fields: dict[str, str] | None = None,
) -> tuple[AsyncIterator[bytes], int]:
    """A multipart body with `path` as its `field` (or `size` bytes of zeros), read from disk
    piece by piece, after the text `fields`; the body and its length."""
    length = path.stat().st_size if size is None else size
    texts = {"description": "noise"} if fields is None else fields
    head = (
        "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in texts.items()
        )
        + f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="noise.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def pieces() -> AsyncIterator[bytes]:
        yield head
        if size is not None:
            for start in range(0, size, 64 * 1024):
                yield bytes(min(64 * 1024, size - start))
        else:
            handle = await trio.open_file(path, "rb")
            async with handle:
                while chunk := await handle.read(64 * 1024):
                    yield chunk
        yield tail

    return pieces(), len(head) + length + len(tail)


async def send(
    base: str, bearer: str, version: str, body: AsyncIterator[bytes], length: int
) -> Any:
    async with httpx.AsyncClient(timeout=120) as http:
        return await http.post(
            f"{base}/api/{version}/media",
            content=body,
            headers={
                "Authorization": f"Bearer {bearer}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            },
        )


async def attachment_rows(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM media_attachments"))


async def upload_measured(config: Config, video: Path, version: str) -> tuple[Any, int, Any]:
    """Upload `video` to a live server on `config`; the answer, Python's peak allocation
    during the upload, and the runtime's media store keys after it."""
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        base = await serve_instance(rt, nursery)
        bearer = await token(rt, "alice", "write:media")
        body, length = multipart(video)
        tracemalloc.start()
        try:
            response = await send(base, bearer, version, body, length)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        entity = response.json()
        if version == "v2" and response.status_code == 202:
            # The job turns the raw file into the stored video.
            async with httpx.AsyncClient(timeout=30) as http:
                for _ in range(600):
                    shown = await http.get(
                        f"{base}/api/v1/media/{entity['id']}",
                        headers={"Authorization": f"Bearer {bearer}"},
                    )
                    if shown.status_code != 206:
                        break
                    await trio.sleep(0.1)
            entity = shown.json()

            async def raw_file_released() -> bool:
                # The job releases the raw file after it commits the finished attachment.
                return await rt.media.private.keys() == []

            await eventually(raw_file_released, "the raw upload removed")
        keys = await rt.media.keys(), await rt.media.private.keys()
        nursery.cancel_scope.cancel()
    return response, peak, (entity, keys)


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_a_large_video_is_never_whole_in_memory(
    tmp_path: Path, database_url: str, big_video: Path, spool_dir: Path, version: str
) -> None:
    config = make_config(tmp_path, database_url)
    size = big_video.stat().st_size
    response, peak, (entity, (keys, private)) = await upload_measured(config, big_video, version)
    assert response.status_code == (200 if version == "v1" else 202), response.text
    assert peak < size * PEAK_SHARE, f"{peak / 2**20:.1f} MiB allocated for {size / 2**20:.1f} MiB"
    assert entity["type"] == "gifv" and entity["url"].endswith(".mp4")
    assert entity["meta"]["original"]["width"] == 640 and entity["description"] == "noise"
    # The video (copied as it is: already H.264) and its preview; no raw file waits.
    assert len(keys) == 2 and private == []
    [video_key] = [k for k in keys if k.endswith(".mp4")]
    stored = config.media_dir / video_key
    assert abs(stored.stat().st_size - size) < size // 10
    assert list(spool_dir.iterdir()) == []


async def test_the_web_compose_form_streams_its_video(
    tmp_path: Path, database_url: str, big_video: Path, spool_dir: Path
) -> None:
    """The web app's compose form takes the same path: a post with a 30 MB video."""
    config = make_config(tmp_path, database_url)
    size = big_video.stat().st_size
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        base = await serve_instance(rt, nursery)
        await create_local_account(rt, "carol", "carol@example.org", password=PASSWORD)
        async with httpx.AsyncClient(base_url=base, timeout=120) as browser:
            page = await browser.get("/auth/sign_in")
            signed_in = await browser.post(
                "/auth/sign_in",
                data={
                    "email": "carol@example.org",
                    "password": PASSWORD,
                    "csrf_token": csrf_from(page.text),
                    "next": "/home",
                },
            )
            assert signed_in.status_code == 302, signed_in.text
            home = await browser.get("/home")
            fields = {"csrf_token": csrf_from(home.text), "status": "Noise", "alt_0": "noise"}
            body, length = multipart(big_video, field="media", fields=fields)
            tracemalloc.start()
            try:
                posted = await browser.post(
                    "/compose",
                    content=body,
                    headers={
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Content-Length": str(length),
                    },
                )
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert posted.status_code == 303, posted.text
        keys = await rt.media.keys()
        nursery.cancel_scope.cancel()
    assert peak < size * PEAK_SHARE, f"{peak / 2**20:.1f} MiB allocated for {size / 2**20:.1f} MiB"
    [video_key] = [k for k in keys if k.endswith(".mp4")]
    assert abs((config.media_dir / video_key).stat().st_size - size) < size // 10
    assert list(spool_dir.iterdir()) == []


async def test_a_large_video_goes_to_s3_in_parts(
    tmp_path: Path, database_url: str, big_video: Path, spool_dir: Path, seaweed: Seaweed
) -> None:
    bucket = await trio.to_thread.run_sync(seaweed.new_bucket)
    config = make_config(tmp_path, database_url, **seaweed.settings(bucket))
    size = big_video.stat().st_size
    response, peak, (entity, (keys, private)) = await upload_measured(config, big_video, "v1")
    assert response.status_code == 200, response.text
    assert peak < size * PEAK_SHARE, f"{peak / 2**20:.1f} MiB allocated for {size / 2**20:.1f} MiB"
    assert len(keys) == 2 and private == []
    async with httpx.AsyncClient(timeout=60) as http:
        served = await http.get(entity["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    assert abs(len(served.content) - size) < size // 10
    assert list(spool_dir.iterdir()) == []


async def test_past_the_limit_is_413_with_nothing_stored(
    tmp_path: Path, database_url: str, big_video: Path, spool_dir: Path
) -> None:
    limit = 4 * 2**20
    config = make_config(
        tmp_path, database_url, media_max_video_bytes=limit, media_max_image_bytes=2**20
    )
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        base = await serve_instance(rt, nursery)
        bearer = await token(rt, "alice", "write:media")
        for version in ("v1", "v2"):
            # Sent without its length declared: the limit is found while it streams in.
            body, _ = multipart(big_video, size=limit + 2 * 2**20)
            async with httpx.AsyncClient(timeout=60) as http:
                response = await http.post(
                    f"{base}/api/{version}/media",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {bearer}",
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    },
                )
            assert response.status_code == 413
            assert "error" in response.json()
        assert await rt.store.read(attachment_rows) == 0
        assert await rt.media.keys() == [] and await rt.media.private.keys() == []
        nursery.cancel_scope.cancel()
    assert list(spool_dir.iterdir()) == []


async def test_an_upload_cut_off_leaves_nothing(
    tmp_path: Path, database_url: str, big_video: Path, spool_dir: Path
) -> None:
    """The client goes away half-way through the body: the request is cancelled, and its
    temporary files go with it; no row, no stored file."""
    config = make_config(tmp_path, database_url)
    async with open_server_runtime(config) as rt, trio.open_nursery() as nursery:
        base = await serve_instance(rt, nursery)
        bearer = await token(rt, "alice", "write:media")
        body, length = multipart(big_video)
        host, port = base.removeprefix("http://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        head = (
            f"POST /api/v1/media HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {bearer}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        await stream.send_all(head.encode())
        sent = 0
        async for piece in body:
            await stream.send_all(piece)
            sent += len(piece)
            if sent > length // 2:
                break

        async def spooling() -> bool:
            return any(spool_dir.iterdir())

        # The file field is being written to its temporary file...
        await eventually(spooling, "the upload's temporary file")
        await stream.aclose()

        async def cleaned() -> bool:
            return not any(spool_dir.iterdir())

        # ...and is gone once the client is.
        await eventually(cleaned, "the temporary files removed")
        assert await rt.store.read(attachment_rows) == 0
        assert await rt.media.keys() == [] and await rt.media.private.keys() == []
        nursery.cancel_scope.cancel()
