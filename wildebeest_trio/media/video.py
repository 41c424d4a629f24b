"""Animated GIFs to `gifv`: an H.264 MP4 without sound, made by ffmpeg (Debian's package).

Mastodon shows animated GIFs as silent looping videos, much smaller than the GIF.
ffmpeg is an optional program: without it `ffmpeg_path()` is None and callers
refuse animated GIFs with a clear error (still images need only Pillow).
ffmpeg runs as a child process with a time limit, reading and writing temporary
files (MP4's `+faststart` needs a seekable output), with all metadata dropped.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import trio

from .images import ImageError

# A GIF that takes longer than this to convert is refused (a frame-count bomb).
TRANSCODE_TIMEOUT = 60.0
NO_FFMPEG = (
    "Animated GIFs are converted to video with ffmpeg, which this server does not have; "
    "upload a still image instead"
)


@dataclass(frozen=True)
class Video:
    """An encoded MP4 and what ffprobe says about it."""

    data: bytes
    width: int
    height: int
    frame_rate: str
    duration: float
    bitrate: int

    def meta(self) -> dict[str, Any]:
        """Mastodon's video `meta` (top level and `original`), without `small` or `focus`."""
        rate = Fraction(self.frame_rate) if self.frame_rate not in ("", "0/0") else Fraction(0)
        return {
            "length": _length(self.duration),
            "duration": self.duration,
            "fps": round(float(rate)),
            "size": f"{self.width}x{self.height}",
            "width": self.width,
            "height": self.height,
            "aspect": self.width / self.height,
            "original": {
                "width": self.width,
                "height": self.height,
                "frame_rate": self.frame_rate,
                "duration": self.duration,
                "bitrate": self.bitrate,
            },
        }


def ffmpeg_path() -> str | None:
    """Where ffmpeg is, or None when it is not installed (ffprobe comes with it)."""
    ffmpeg = shutil.which("ffmpeg")
    return ffmpeg if ffmpeg and shutil.which("ffprobe") else None


def even_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The output size: within `max_pixels`, both sides even (H.264 with 4:2:0 needs it)."""
    scale = min(1.0, math.sqrt(max_pixels / (width * height)))
    w = max(2, math.floor(width * scale) // 2 * 2)
    h = max(2, math.floor(height * scale) // 2 * 2)
    return w, h


async def gif_to_mp4(
    data: bytes, width: int, height: int, *, max_pixels: int, time_limit: float = TRANSCODE_TIMEOUT
) -> Video:
    """Convert an animated GIF to a silent H.264 MP4; `ImageError` if ffmpeg cannot."""
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise ImageError(NO_FFMPEG)
    out_w, out_h = even_size(width, height, max_pixels)
    with tempfile.TemporaryDirectory(prefix="wb-gifv-") as folder:
        source, target = Path(folder) / "in.gif", Path(folder) / "out.mp4"
        await trio.to_thread.run_sync(source.write_bytes, data)
        command = [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "gif",
            "-i",
            str(source),
            "-an",
            "-map_metadata",
            "-1",
            "-vf",
            f"scale={out_w}:{out_h}:flags=lanczos,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-movflags",
            "+faststart",
            "-y",
            str(target),
        ]
        await _run(command, time_limit, "The animated GIF could not be converted")
        probed = await _run(
            [
                str(Path(ffmpeg).with_name("ffprobe")),
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height,r_frame_rate,duration,bit_rate",
                "-of",
                "json",
                str(target),
            ],
            time_limit,
            "The converted video could not be read",
        )
        encoded = await trio.to_thread.run_sync(target.read_bytes)
    try:
        stream = json.loads(probed)["streams"][0]
        return Video(
            data=encoded,
            width=int(stream["width"]),
            height=int(stream["height"]),
            frame_rate=str(stream.get("r_frame_rate", "0/0")),
            duration=round(float(stream.get("duration", 0.0)), 3),
            bitrate=int(stream.get("bit_rate", 0) or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError):
        raise ImageError("The converted video could not be read") from None


async def _run(command: list[str], time_limit: float, failure: str) -> bytes:
    """Run a child process and return its output; `ImageError(failure)` on error or timeout."""
    with trio.move_on_after(time_limit) as scope:
        try:
            result = await trio.run_process(
                command, capture_stdout=True, capture_stderr=True, check=False
            )
        except OSError:
            raise ImageError(failure) from None
    if scope.cancelled_caught:
        raise ImageError(f"{failure}: it takes too long")
    if result.returncode != 0:
        raise ImageError(failure)
    return bytes(result.stdout)


def _length(seconds: float) -> str:
    """`H:MM:SS.ss`, as Mastodon's `meta.length`."""
    total = round(seconds, 2)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


__all__ = ["NO_FFMPEG", "Video", "even_size", "ffmpeg_path", "gif_to_mp4"]
