"""Video and audio with ffmpeg (Debian's package): GIFs to `gifv`, videos to MP4, audio to MP3.

ffmpeg is an optional program: without it `find_tools` gives None and callers
refuse video, audio and animated GIFs with a clear error (still images need
only Pillow). Every ffmpeg and ffprobe run is a child process with a time limit
(killed when it runs out) reading a file and writing into the caller's working
folder (MP4's `+faststart` needs a seekable output), with all metadata dropped.
Videos and audio stay in files from the upload to the store: no whole one is
ever read into memory here (only a video's first frame, a small PNG).

What a file is comes from ffprobe reading the content, never from its name or
declared type. Mastodon's rules are followed: a video becomes H.264 (yuv420p)
with AAC sound in an MP4, copied without re-encoding when it already is one; a
video without a sound track is a `gifv` (Mastodon's `update_attachment_type`);
a video over the pixel or frame-rate limit is refused, not shrunk; audio
becomes MP3 (an MP3 is only re-muxed, to drop its tags).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import trio

from .images import ImageError

# A file that takes longer than this to convert is refused (a frame-count bomb).
TRANSCODE_TIMEOUT = 60.0
# Reading a header is quick; anything slower is not a file worth waiting for.
PROBE_TIMEOUT = 15.0
NO_FFMPEG = (
    "Animated GIFs are converted to video with ffmpeg, which this server does not have; "
    "upload a still image instead"
)
NO_FFMPEG_AV = (
    "The file is not an image, and video and audio files are converted with ffmpeg, "
    "which this server does not have; upload a JPEG, PNG, WebP or GIF image instead"
)
NOT_MEDIA = "The file is not an image, video or audio file this server supports"
CORRUPT = "The file is truncated or corrupt"
# ffprobe's container names accepted (Mastodon's video/mp4, quicktime, webm, ogg and its
# audio types); images and raw streams ffmpeg would also read are not among them.
VIDEO_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "ogg", "asf"})
AUDIO_CONTAINERS = VIDEO_CONTAINERS | {"mp3", "wav", "flac", "aac"}
# Mastodon's passthrough: files already in these codecs are copied, not re-encoded.
PASSTHROUGH_VIDEO = frozenset({"h264"})
PASSTHROUGH_AUDIO = frozenset({"aac"})
AUDIO_BITRATE = "192k"


@dataclass(frozen=True)
class Tools:
    """Where ffmpeg and ffprobe are."""

    ffmpeg: str
    ffprobe: str


@dataclass(frozen=True)
class AvLimits:
    """What a video or audio upload may be, and how long ffmpeg may take with it."""

    max_bytes: int
    max_pixels: int
    max_frame_rate: int
    time_limit: float = TRANSCODE_TIMEOUT


@dataclass(frozen=True)
class Probe:
    """What ffprobe says about a file: container, length, and its main streams."""

    container: str
    duration: float
    bitrate: int
    video: dict[str, Any] | None
    audio: dict[str, Any] | None

    @property
    def frame_rate(self) -> Fraction:
        """Frames a second (the average, else the nominal rate); 0 without a video stream."""
        if self.video is None:
            return Fraction(0)
        return _rate(self.video.get("avg_frame_rate")) or _rate(self.video.get("r_frame_rate"))


@dataclass(frozen=True)
class Video:
    """An encoded MP4 (a file in the working folder) and what ffprobe says about it."""

    path: Path
    size: int
    width: int
    height: int
    frame_rate: str
    duration: float
    bitrate: int

    def meta(self) -> dict[str, Any]:
        """Mastodon's video `meta` (top level and `original`), without `small` or `focus`."""
        rate = _rate(self.frame_rate)
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


@dataclass(frozen=True)
class Audio:
    """An encoded MP3 (a file in the working folder) and its length and bit rate."""

    path: Path
    size: int
    duration: float
    bitrate: int

    def meta(self) -> dict[str, Any]:
        """Mastodon's audio `meta`: `length`, `duration` and `original`."""
        return {
            "length": _length(self.duration),
            "duration": self.duration,
            "original": {"duration": self.duration, "bitrate": self.bitrate},
        }


@dataclass(frozen=True)
class TranscodedVideo:
    """A processed video: the MP4, whether it has sound, and its first frame (PNG)."""

    video: Video
    has_audio: bool
    frame: bytes


def find_tools(ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe") -> Tools | None:
    """The ffmpeg and ffprobe programs (names or paths), or None unless both are there."""
    found_ffmpeg, found_ffprobe = shutil.which(ffmpeg), shutil.which(ffprobe)
    if not found_ffmpeg or not found_ffprobe:
        return None
    return Tools(found_ffmpeg, found_ffprobe)


def ffmpeg_path() -> str | None:
    """Where ffmpeg is on the PATH, or None when it (or ffprobe) is not installed."""
    tools = find_tools()
    return tools.ffmpeg if tools else None


def even_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The output size: within `max_pixels`, both sides even (H.264 with 4:2:0 needs it)."""
    scale = min(1.0, math.sqrt(max_pixels / (width * height)))
    w = max(2, math.floor(width * scale) // 2 * 2)
    h = max(2, math.floor(height * scale) // 2 * 2)
    return w, h


async def probe_file(
    tools: Tools, path: Path, time_limit: float = PROBE_TIMEOUT, *, failure: str = NOT_MEDIA
) -> Probe:
    """What ffprobe reads in a file; `ImageError(failure)` when it cannot."""
    out, _ = await run_tool(
        [
            tools.ffprobe,
            "-v",
            "error",
            "-show_entries",
            "format=format_name,duration,bit_rate:stream=index,codec_type,codec_name,width,height,"
            "pix_fmt,r_frame_rate,avg_frame_rate,duration,bit_rate:stream_disposition=attached_pic",
            "-of",
            "json",
            str(path),
        ],
        time_limit,
        failure,
    )
    try:
        doc = json.loads(out)
        fmt = doc.get("format") or {}
        streams = doc.get("streams") or []
        video = next(
            (
                s
                for s in streams
                if s.get("codec_type") == "video"
                and not (s.get("disposition") or {}).get("attached_pic")
            ),
            None,
        )
        audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
        duration = _float(fmt.get("duration")) or _float((video or audio or {}).get("duration"))
        return Probe(
            container=str(fmt.get("format_name", "")),
            duration=round(duration, 3),
            bitrate=int(_float(fmt.get("bit_rate"))),
            video=video,
            audio=audio,
        )
    except (ValueError, TypeError, AttributeError):
        raise ImageError(failure) from None


def classify(probe: Probe) -> str:
    """`video`, `gifv` (a video without sound, as Mastodon has it) or `audio`; else ImageError."""
    if probe.video is not None and probe.container in VIDEO_CONTAINERS:
        return "video" if probe.audio is not None else "gifv"
    if probe.video is None and probe.audio is not None and probe.container in AUDIO_CONTAINERS:
        return "audio"
    raise ImageError(NOT_MEDIA)


def check_video(probe: Probe, limits: AvLimits) -> tuple[int, int]:
    """The video's size, after refusing (as Mastodon does) too many pixels or frames a second."""
    assert probe.video is not None
    try:
        width, height = int(probe.video["width"]), int(probe.video["height"])
    except (KeyError, TypeError, ValueError):
        raise ImageError(CORRUPT) from None
    if width < 1 or height < 1:
        raise ImageError(CORRUPT)
    if width * height > limits.max_pixels:
        raise ImageError(
            f"{width}x{height} videos are not supported (at most {limits.max_pixels:,} pixels)"
        )
    fps = math.floor(probe.frame_rate)
    if fps > limits.max_frame_rate:
        raise ImageError(
            f"{fps}fps videos are not supported (at most {limits.max_frame_rate} frames a second)"
        )
    return width, height


async def gif_to_mp4(
    data: bytes,
    width: int,
    height: int,
    *,
    max_pixels: int,
    workdir: Path,
    time_limit: float = TRANSCODE_TIMEOUT,
    tools: Tools | None = None,
) -> Video:
    """Convert an animated GIF to a silent H.264 MP4 in `workdir`; `ImageError` if ffmpeg
    cannot."""
    tools = tools or find_tools()
    if tools is None:
        raise ImageError(NO_FFMPEG)
    out_w, out_h = even_size(width, height, max_pixels)
    with tempfile.TemporaryDirectory(prefix="gifv-", dir=workdir) as folder:
        source, target = Path(folder) / "in.gif", workdir / "gifv.mp4"
        await trio.to_thread.run_sync(source.write_bytes, data)
        await run_tool(
            [
                tools.ffmpeg,
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
                *_H264,
                "-movflags",
                "+faststart",
                "-y",
                str(target),
            ],
            time_limit,
            "The animated GIF could not be converted",
        )
        return await _read_video(tools, target, time_limit)


async def transcode_video(
    tools: Tools, source: Path, limits: AvLimits, workdir: Path
) -> TranscodedVideo:
    """Any video ffmpeg reads, as an H.264/AAC MP4 in `workdir` with its first frame;
    ImageError if bad."""
    target, frame = workdir / "video.mp4", workdir / "frame.png"
    probe = await probe_file(tools, source, min(PROBE_TIMEOUT, limits.time_limit))
    if classify(probe) == "audio":
        raise ImageError(NOT_MEDIA)
    width, height = check_video(probe, limits)
    has_audio = probe.audio is not None
    assert probe.video is not None
    copy = (
        probe.container.startswith("mov,mp4")
        and probe.video.get("codec_name") in PASSTHROUGH_VIDEO
        and probe.video.get("pix_fmt") == "yuv420p"
        and width % 2 == 0
        and height % 2 == 0
        and (not has_audio or (probe.audio or {}).get("codec_name") in PASSTHROUGH_AUDIO)
    )
    if copy:
        # Already what browsers play: only the container is rewritten (tags dropped).
        codecs = ["-c", "copy"]
    else:
        codecs = [
            "-vf",
            "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
            *_H264,
            *(["-c:a", "aac", "-b:a", AUDIO_BITRATE] if has_audio else []),
        ]
    await run_tool(
        [
            *_reading(tools, source),
            "-map",
            "0:v:0",
            *(["-map", "0:a:0"] if has_audio else ["-an"]),
            "-sn",
            "-dn",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            *codecs,
            "-movflags",
            "+faststart",
            "-fs",
            str(limits.max_bytes + 1),
            "-y",
            str(target),
        ],
        limits.time_limit,
        "The video could not be converted",
        strict=True,
    )
    await _check_size(target, limits.max_bytes, "video")
    video = await _read_video(tools, target, limits.time_limit)
    await run_tool(
        [
            *_reading(tools, target),
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-f",
            "image2",
            "-c:v",
            "png",
            "-y",
            str(frame),
        ],
        limits.time_limit,
        "The video's first frame could not be read",
    )
    first = await trio.to_thread.run_sync(frame.read_bytes)
    return TranscodedVideo(video, has_audio, first)


async def transcode_audio(tools: Tools, source: Path, limits: AvLimits, workdir: Path) -> Audio:
    """Any audio ffmpeg reads, as an MP3 without tags in `workdir` (an MP3 is copied);
    ImageError if bad."""
    target = workdir / "audio.mp3"
    probe = await probe_file(tools, source, min(PROBE_TIMEOUT, limits.time_limit))
    if classify(probe) != "audio":
        raise ImageError(NOT_MEDIA)
    assert probe.audio is not None
    if probe.container == "mp3" and probe.audio.get("codec_name") == "mp3":
        codecs = ["-c:a", "copy"]
    else:
        codecs = ["-c:a", "libmp3lame", "-q:a", "2"]
    await run_tool(
        [
            *_reading(tools, source),
            "-map",
            "0:a:0",
            "-vn",
            "-sn",
            "-dn",
            "-map_metadata",
            "-1",
            *codecs,
            # No ID3 tag at all: nothing of the uploader's tags or of our encoder.
            "-id3v2_version",
            "0",
            "-write_id3v1",
            "0",
            "-fs",
            str(limits.max_bytes + 1),
            "-f",
            "mp3",
            "-y",
            str(target),
        ],
        limits.time_limit,
        "The audio could not be converted",
        strict=True,
    )
    await _check_size(target, limits.max_bytes, "audio file")
    out = await probe_file(tools, target, limits.time_limit, failure=CORRUPT)
    size = (await trio.Path(target).stat()).st_size
    if out.audio is None or out.duration <= 0:
        raise ImageError(CORRUPT)
    return Audio(target, size, out.duration, out.bitrate)


async def run_tool(
    command: Sequence[str], time_limit: float, failure: str, *, strict: bool = False
) -> tuple[bytes, bytes]:
    """Run ffmpeg or ffprobe; its stdout and stderr, or `ImageError(failure)`.

    The child is killed at once when `time_limit` runs out. With `strict`, any
    error ffmpeg reports (it prints them even when it carries on, e.g. for a
    truncated file) is a failure: a half-converted video is not kept.
    """
    with trio.move_on_after(time_limit) as scope:
        try:
            result = await trio.run_process(
                list(command),
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                deliver_cancel=_kill,
            )
        except OSError:
            raise ImageError(failure) from None
    if scope.cancelled_caught:
        raise ImageError(f"{failure}: it takes too long")
    if result.returncode != 0:
        raise ImageError(failure)
    if strict and result.stderr.strip():
        raise ImageError(f"{failure}: {CORRUPT[0].lower()}{CORRUPT[1:]}")
    return bytes(result.stdout), bytes(result.stderr)


async def _kill(process: trio.Process) -> None:
    process.kill()


async def _check_size(path: Path, max_bytes: int, what: str) -> None:
    size = (await trio.to_thread.run_sync(path.stat)).st_size
    if size > max_bytes:
        raise ImageError(f"The converted {what} is too large (at most {max_bytes:,} bytes)")


async def _read_video(tools: Tools, target: Path, time_limit: float) -> Video:
    """The MP4 written to `target`, with its size, frame rate, length and bit rate."""
    probe = await probe_file(
        tools, target, time_limit, failure="The converted video could not be read"
    )
    size = (await trio.Path(target).stat()).st_size
    stream = probe.video
    try:
        assert stream is not None
        return Video(
            path=target,
            size=size,
            width=int(stream["width"]),
            height=int(stream["height"]),
            frame_rate=str(stream.get("r_frame_rate", "0/0")),
            duration=round(_float(stream.get("duration")) or probe.duration, 3),
            bitrate=int(_float(stream.get("bit_rate")) or probe.bitrate),
        )
    except (AssertionError, ValueError, KeyError, TypeError):
        raise ImageError("The converted video could not be read") from None


def _reading(tools: Tools, source: Path) -> list[str]:
    """An ffmpeg command's start: quiet, no terminal, reading `source`."""
    return [tools.ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(source)]


_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]


def _rate(text: Any) -> Fraction:
    """A frame rate such as `30000/1001`; 0 for ffprobe's `0/0` or anything unreadable."""
    try:
        return Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _length(seconds: float) -> str:
    """`H:MM:SS.ss`, as Mastodon's `meta.length`."""
    total = round(seconds, 2)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


__all__ = [
    "NOT_MEDIA",
    "NO_FFMPEG",
    "NO_FFMPEG_AV",
    "Audio",
    "AvLimits",
    "Probe",
    "Tools",
    "TranscodedVideo",
    "Video",
    "classify",
    "even_size",
    "ffmpeg_path",
    "find_tools",
    "gif_to_mp4",
    "probe_file",
    "run_tool",
    "transcode_audio",
    "transcode_video",
]
