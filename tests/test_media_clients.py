"""Mastodon.py uploads a photo against a live server, describes it, and reads it back."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import trio

from tests.test_images import exif_with_gps, two_halves
from tests.test_media_api import needs_ffmpeg
from tests.test_media_av import clip
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.tokens import issue_cli_token


def _mastodon_py_media(base: str, token: str, jpeg: bytes) -> dict[str, Any]:
    """Mastodon.py's media calls, run in a thread (it is synchronous); what each returned."""
    from mastodon import Mastodon

    api = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
    posted = api.media_post(
        io.BytesIO(jpeg), mime_type="image/jpeg", file_name="photo.jpg", description="First"
    )
    # Mastodon.py's own `synchronous=True` polls every 5 s; poll faster here.
    deadline = time.monotonic() + 20
    current = api.media(posted)
    while current["url"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
        current = api.media(posted)
    updated = api.media_update(posted, description="A red and blue photo", focus=(0.25, -0.5))
    synchronous = api.media_post(
        io.BytesIO(jpeg), mime_type="image/jpeg", file_name="again.jpg", synchronous=True
    )
    return {
        "posted": posted,
        "processed": current,
        "updated": updated,
        "read_back": api.media(posted["id"]),
        "synchronous": synchronous,
    }


async def test_mastodon_py_media_post_and_update(
    rt: Runtime, live_server: str, nursery: trio.Nursery
) -> None:
    await create_local_account(rt, "pymedia", "pymedia@example.org", password="correct horse")
    token = (await issue_cli_token(rt, "pymedia", "read write")).token
    nursery.start_soon(run_workers, rt, 1)
    buf = io.BytesIO()
    two_halves(1600, 1200).save(buf, "JPEG", exif=exif_with_gps(1))
    result = await trio.to_thread.run_sync(_mastodon_py_media, live_server, token, buf.getvalue())

    posted, processed = result["posted"], result["processed"]
    assert isinstance(posted["id"], str | int)
    assert posted["type"] == "image"
    assert posted["description"] == "First"
    assert processed["url"].startswith(f"{live_server}/system/media_attachments/original/")
    assert processed["meta"]["original"]["size"] == "1600x1200"
    assert processed["meta"]["small"]["size"] == "554x415"
    assert processed["blurhash"]
    for entity in (result["updated"], result["read_back"]):
        assert entity["description"] == "A red and blue photo"
        assert entity["meta"]["focus"] == {"x": 0.25, "y": -0.5}
        assert entity["url"] == processed["url"]
    # Mastodon.py's `synchronous=True` waits through the 206s; same bytes, yet a file and
    # URL of its own.
    assert result["synchronous"]["url"].endswith(".jpg")
    assert result["synchronous"]["url"] != processed["url"]


def _mastodon_py_video(base: str, token: str, clip: bytes) -> dict[str, Any]:
    """Mastodon.py uploads a video (v2, waiting for processing), then posts it."""
    from mastodon import Mastodon

    api = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
    posted = api.media_post(
        io.BytesIO(clip), mime_type="video/webm", file_name="clip.webm", description="Moving"
    )
    deadline = time.monotonic() + 60
    current = api.media(posted)
    while current["url"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        current = api.media(posted)
    status = api.status_post("A short clip", media_ids=[posted])
    return {"posted": posted, "processed": current, "status": api.status(status["id"])}


@needs_ffmpeg
async def test_mastodon_py_video_post_then_status_post(
    rt: Runtime, live_server: str, nursery: trio.Nursery, tmp_path: Path
) -> None:
    await create_local_account(rt, "pyvideo", "pyvideo@example.org", password="correct horse")
    token = (await issue_cli_token(rt, "pyvideo", "read write")).token
    nursery.start_soon(run_workers, rt, 1)
    data = clip(tmp_path)
    result = await trio.to_thread.run_sync(_mastodon_py_video, live_server, token, data)

    assert result["posted"]["type"] == "video"
    processed = result["processed"]
    assert processed["url"].startswith(f"{live_server}/system/media_attachments/original/")
    assert processed["url"].endswith(".mp4")
    assert processed["meta"]["original"]["frame_rate"] == "25/1"
    attached = result["status"]["media_attachments"]
    assert [m["id"] for m in attached] == [processed["id"]]
    assert attached[0]["type"] == "video"
    assert attached[0]["url"] == processed["url"]
    assert attached[0]["description"] == "Moving"
