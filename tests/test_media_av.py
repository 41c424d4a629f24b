"""Video and audio uploads: transcoded by ffmpeg, probed by content, refused cleanly."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.test_media_api import (
    ENTITY_KEYS,
    bearer,
    counts,
    drain_jobs,
    needs_ffmpeg,
    no_ffmpeg_client,
    photo,
    stored_files,
    token,
    upload,
)
from wildebeest_trio.runtime import Runtime

pytestmark = needs_ffmpeg


_made: dict[tuple[str, ...], bytes] = {}


def make_media(tmp_path: Path, name: str, *args: str) -> bytes:
    """A small file made by ffmpeg from its test sources (`lavfi` testsrc and sine); made
    once per process for the same name and arguments (the tests' inputs, not what they
    test: encoding them cost seconds of CPU per test)."""
    key = (name, *args)
    if key not in _made:
        target = tmp_path / name
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(target)],
            check=True,
            capture_output=True,
        )
        _made[key] = target.read_bytes()
    return _made[key]


def clip(tmp_path: Path, name: str = "clip.webm", *, sound: bool = True, **kw: str) -> bytes:
    """A 1.2 s 320x240 test video (VP8 in WebM by default), with a sine tone if `sound`."""
    size = kw.get("size", "320x240")
    rate = kw.get("rate", "25")
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}"]
    if sound:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    args += ["-t", "1.2", "-metadata", "title=Secret title", "-metadata", "location=+48.85+002.35"]
    return make_media(tmp_path, name, *args, *kw.get("codecs", "").split())


def ffprobe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "probe.bin"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return dict(json.loads(out))


@pytest.fixture
async def alice(rt: Runtime) -> str:
    return await token(rt, "alice")


async def fetch(client: Any, rt: Runtime, url: str) -> bytes:
    served = await client.get(url.removeprefix(rt.config.base_url))
    assert served.status_code == 200
    return bytes(await served.get_data())


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_video_becomes_h264_aac_mp4_with_a_preview(
    rt: Runtime, client: Any, alice: str, version: str, tmp_path: Path
) -> None:
    data = clip(tmp_path)
    response = await client.post(
        f"/api/{version}/media",
        headers=bearer(alice),
        files={"file": upload(data, "holiday.txt", "text/plain")},  # the name is ignored
        form={"description": "A test pattern"},
    )
    assert response.status_code == (200 if version == "v1" else 202), await response.get_json()
    entity = await response.get_json()
    assert entity["type"] == "video"
    if version == "v2":
        assert entity["url"] is None
        await drain_jobs(rt, entity["id"])
        shown = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
        assert shown.status_code == 200
        entity = await shown.get_json()
    assert set(entity) == ENTITY_KEYS
    assert entity["type"] == "video"
    assert entity["url"].endswith(".mp4") and entity["preview_url"].endswith(".jpg")
    assert entity["description"] == "A test pattern"
    assert len(entity["blurhash"]) == 36
    meta = entity["meta"]
    original = meta["original"]
    assert (original["width"], original["height"]) == (320, 240)
    assert original["frame_rate"] == "25/1"
    assert original["duration"] == pytest.approx(1.2, abs=0.1)
    assert original["bitrate"] > 0
    assert meta["small"] == {"width": 320, "height": 240, "size": "320x240", "aspect": 320 / 240}

    mp4 = await fetch(client, rt, entity["url"])
    probed = ffprobe(mp4, tmp_path)
    assert "mp4" in probed["format"]["format_name"]
    assert "title" not in probed["format"].get("tags", {})
    assert "location" not in probed["format"].get("tags", {})
    codecs = {s["codec_type"]: s for s in probed["streams"]}
    assert codecs["video"]["codec_name"] == "h264"
    assert codecs["video"]["pix_fmt"] == "yuv420p"
    assert codecs["audio"]["codec_name"] == "aac"
    # faststart: the index (moov) comes before the media data (mdat).
    assert mp4.index(b"moov") < mp4.index(b"mdat")
    preview = await fetch(client, rt, entity["preview_url"])
    with Image.open(io.BytesIO(preview)) as img:
        assert img.format == "JPEG" and img.size == (320, 240)
        assert max(img.size) <= 640


async def test_silent_video_is_gifv_like_mastodon(
    rt: Runtime, client: Any, alice: str, tmp_path: Path
) -> None:
    data = clip(tmp_path, "silent.mp4", sound=False, codecs="-c:v libx264 -pix_fmt yuv420p")
    response = await client.post(
        "/api/v1/media", headers=bearer(alice), files={"file": upload(data, "s.mp4", "video/mp4")}
    )
    assert response.status_code == 200, await response.get_json()
    entity = await response.get_json()
    assert entity["type"] == "gifv"
    probed = ffprobe(await fetch(client, rt, entity["url"]), tmp_path)
    assert [s["codec_type"] for s in probed["streams"]] == ["video"]
    assert "title" not in probed["format"].get("tags", {})


async def test_large_video_is_kept_within_the_preview_box(
    rt: Runtime, client: Any, alice: str, tmp_path: Path
) -> None:
    data = clip(tmp_path, "wide.mkv", size="1280x720", codecs="-c:v libx264 -c:a flac")
    entity = await (
        await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(data)})
    ).get_json()
    assert entity["meta"]["original"]["width"] == 1280
    small = entity["meta"]["small"]
    assert small["width"] <= 640 and small["height"] <= 640
    assert small["width"] * small["height"] <= 230_400
    probed = ffprobe(await fetch(client, rt, entity["url"]), tmp_path)
    assert {s["codec_name"] for s in probed["streams"]} == {"h264", "aac"}


AUDIO = {
    "mp3": ("a.mp3", ["-c:a", "libmp3lame"]),
    "ogg-opus": ("a.ogg", ["-c:a", "libopus"]),
    "wav": ("a.wav", []),
    "flac": ("a.flac", []),
    "m4a": ("a.m4a", ["-c:a", "aac"]),
}


@pytest.mark.parametrize("case", sorted(AUDIO))
async def test_audio_becomes_mp3(
    rt: Runtime, client: Any, alice: str, tmp_path: Path, case: str
) -> None:
    name, codec = AUDIO[case]
    data = make_media(
        tmp_path,
        name,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:sample_rate=48000",
        "-t",
        "1.5",
        "-metadata",
        "artist=Someone Private",
        *codec,
    )
    response = await client.post(
        "/api/v2/media", headers=bearer(alice), files={"file": upload(data, "x.bin", "x/y")}
    )
    assert response.status_code == 202, await response.get_json()
    entity = await response.get_json()
    assert entity["type"] == "audio"
    await drain_jobs(rt, entity["id"])
    entity = await (
        await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    ).get_json()
    assert entity["type"] == "audio"
    assert entity["url"].endswith(".mp3")
    assert entity["preview_url"] is None and entity["blurhash"] is None
    original = entity["meta"]["original"]
    assert original["duration"] == pytest.approx(1.5, abs=0.1)
    assert original["bitrate"] > 0
    mp3 = await fetch(client, rt, entity["url"])
    probed = ffprobe(mp3, tmp_path)
    assert probed["format"]["format_name"] == "mp3"
    assert probed["streams"][0]["codec_name"] == "mp3"
    assert b"Someone Private" not in mp3
    assert not mp3.startswith(b"ID3")


async def test_audio_with_a_thumbnail_has_a_preview(
    rt: Runtime, client: Any, alice: str, tmp_path: Path
) -> None:
    data = make_media(tmp_path, "t.wav", "-f", "lavfi", "-i", "sine", "-t", "0.5")
    response = await client.post(
        "/api/v1/media",
        headers=bearer(alice),
        files={"file": upload(data), "thumbnail": upload(photo(800, 600))},
    )
    assert response.status_code == 200
    entity = await response.get_json()
    assert entity["type"] == "audio"
    assert entity["preview_url"].endswith(".jpg") and len(entity["blurhash"]) == 36


def png(width: int, height: int, color: tuple[int, int, int] = (0, 120, 200)) -> bytes:
    """An opaque PNG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_a_videos_own_thumbnail_keeps_its_format_and_is_meta_small(
    rt: Runtime, client: Any, alice: str, version: str, tmp_path: Path
) -> None:
    # What toot's suite checks against Mastodon: a 50x50 PNG stays PNG, and `meta.small`
    # describes it rather than the video's first frame.
    response = await client.post(
        f"/api/{version}/media",
        headers=bearer(alice),
        files={"file": upload(clip(tmp_path)), "thumbnail": upload(png(50, 50), "t.png")},
    )
    entity = await response.get_json()
    if version == "v2":
        await drain_jobs(rt, entity["id"])
        entity = await (
            await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
        ).get_json()
    assert entity["type"] == "video" and entity["url"].endswith(".mp4")
    assert entity["preview_url"].endswith(".png")
    with Image.open(io.BytesIO(await fetch(client, rt, entity["preview_url"]))) as img:
        assert img.format == "PNG" and img.size == (50, 50)
    assert (entity["meta"]["original"]["width"], entity["meta"]["original"]["height"]) == (320, 240)
    assert entity["meta"]["small"] == {"width": 50, "height": 50, "size": "50x50", "aspect": 1.0}

    # A new thumbnail (a JPEG now) replaces both.
    jpeg = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 0, 0)).save(jpeg, "JPEG")
    changed = await client.put(
        f"/api/v1/media/{entity['id']}",
        headers=bearer(alice),
        files={"thumbnail": upload(jpeg.getvalue(), "t.jpg")},
    )
    entity = await changed.get_json()
    assert entity["preview_url"].endswith(".jpg")
    assert entity["meta"]["small"] == {"width": 60, "height": 40, "size": "60x40", "aspect": 1.5}
    assert entity["meta"]["original"]["width"] == 320


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_bad_video_files_are_refused_without_leftovers(
    rt: Runtime, client: Any, alice: str, version: str, tmp_path: Path
) -> None:
    text = b"Just some words in a file that says it is a video.\n" * 20
    refused = await client.post(
        f"/api/{version}/media",
        headers=bearer(alice),
        files={"file": upload(text, "movie.mp4", "video/mp4")},
    )
    assert refused.status_code == 422
    assert "not an image, video or audio file" in (await refused.get_json())["error"]
    # A raw image stream ffmpeg reads (BMP) is still not a video.
    bmp = io.BytesIO()
    Image.new("RGB", (32, 32)).save(bmp, "BMP")
    refused = await client.post(
        f"/api/{version}/media", headers=bearer(alice), files={"file": upload(bmp.getvalue())}
    )
    assert refused.status_code == 422
    assert await counts(rt) == (0, 0)
    assert stored_files(rt) == []


async def test_truncated_video_is_refused_without_leftovers(
    rt: Runtime, client: Any, alice: str, tmp_path: Path
) -> None:
    data = clip(tmp_path)
    cut = data[: len(data) * 2 // 3]
    v1 = await client.post("/api/v1/media", headers=bearer(alice), files={"file": upload(cut)})
    assert v1.status_code == 422
    assert "truncated" in (await v1.get_json())["error"]
    assert await counts(rt) == (0, 0)
    # An MP4 whose index is at the end cannot even be probed once cut.
    mp4 = clip(tmp_path, "end.mp4", codecs="-c:v libx264 -c:a aac")
    cut_mp4 = await client.post(
        "/api/v1/media", headers=bearer(alice), files={"file": upload(mp4[: len(mp4) // 2])}
    )
    assert cut_mp4.status_code == 422
    # v2 reads the header only; the job finds the damage and records it.
    v2 = await client.post("/api/v2/media", headers=bearer(alice), files={"file": upload(cut)})
    assert v2.status_code == 202
    entity = await v2.get_json()
    await drain_jobs(rt, entity["id"])
    failed = await client.get(f"/api/v1/media/{entity['id']}", headers=bearer(alice))
    assert failed.status_code == 422
    assert "truncated" in (await failed.get_json())["error"]
    assert await counts(rt) == (1, 0)  # the failed row stays for the uploader until cleanup
    assert stored_files(rt) == []


async def test_video_limits_come_from_the_configuration(tmp_path: Path, database_url: str) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    config = make_config(
        tmp_path,
        database_url,
        media_max_video_pixels=60_000,
        media_max_video_frame_rate=30,
        media_max_video_bytes=2_000_000,
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        alice = await token(rt, "alice")
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            conf = (await (await client.get("/api/v2/instance")).get_json())["configuration"]
            limits = conf["media_attachments"]
            assert limits["video_matrix_limit"] == 60_000
            assert limits["video_frame_rate_limit"] == 30
            assert limits["video_size_limit"] == 2_000_000
            assert "video/mp4" in limits["supported_mime_types"]
            assert "audio/mpeg" in limits["supported_mime_types"]
            big = clip(tmp_path, "big.webm")
            fast = clip(tmp_path, "fast.webm", size="160x120", rate="60")
            for version in ("v1", "v2"):
                too_big = await client.post(
                    f"/api/{version}/media", headers=bearer(alice), files={"file": upload(big)}
                )
                assert too_big.status_code == 422
                assert "320x240 videos are not supported" in (await too_big.get_json())["error"]
                too_fast = await client.post(
                    f"/api/{version}/media", headers=bearer(alice), files={"file": upload(fast)}
                )
                assert too_fast.status_code == 422
                assert "60fps videos are not supported" in (await too_fast.get_json())["error"]
            assert await counts(rt) == (0, 0)


async def test_without_ffmpeg_video_is_refused_and_images_still_work(
    tmp_path: Path, database_url: str
) -> None:
    data = clip(tmp_path)
    async with no_ffmpeg_client(tmp_path, database_url) as (rt, client):
        alice = await token(rt, "alice")
        for version in ("v1", "v2"):
            refused = await client.post(
                f"/api/{version}/media", headers=bearer(alice), files={"file": upload(data)}
            )
            assert refused.status_code == 422
            assert "ffmpeg" in (await refused.get_json())["error"]
        conf = (await (await client.get("/api/v2/instance")).get_json())["configuration"]
        assert "video/mp4" not in conf["media_attachments"]["supported_mime_types"]
        assert await counts(rt) == (0, 0)
        assert stored_files(rt) == []
        image = await client.post(
            "/api/v1/media", headers=bearer(alice), files={"file": upload(photo())}
        )
        assert image.status_code == 200
        assert (await image.get_json())["type"] == "image"


async def test_ffmpeg_is_killed_past_its_time_limit(tmp_path: Path, database_url: str) -> None:
    from tests.conftest import make_config
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    data = clip(tmp_path)
    config = make_config(tmp_path, database_url, media_ffmpeg_timeout=0.01)
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        alice = await token(rt, "alice")
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            refused = await client.post(
                "/api/v1/media", headers=bearer(alice), files={"file": upload(data)}
            )
            assert refused.status_code == 422
            assert "takes too long" in (await refused.get_json())["error"]
            assert await counts(rt) == (0, 0)
            assert stored_files(rt) == []
