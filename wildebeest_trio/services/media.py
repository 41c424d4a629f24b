"""Media attachments: upload, process (at once or as a job), describe, and clean up.

`POST /api/v1/media` processes in the request (in a worker thread); `POST
/api/v2/media` checks the header at once (type, bytes, pixels; ffprobe for
video and audio), stores the raw file in the media store's private side
(`uploads/...`, never served), then commits the row, the raw file's key and a
`media.process` job together and answers while the job decodes, orients, resizes
and hashes (or has ffmpeg transcode). What a file is comes from its content alone:
images through Pillow, video and audio through ffprobe (`media.video`).

An upload arrives as a file (the API spools it to disk as it comes,
`http/spooled_body.py`): a video or audio file goes from that file to ffmpeg, from
ffmpeg's output file to the store (`MediaStore.put_file`, multipart on S3), and is
never read whole into memory; an image is read whole (at most the image limit, 16
MB) because Pillow decodes it anyway.

Each attachment's files (original, preview, chosen thumbnail) are stored under
names of their own, 256 random bits, so its URLs cannot be guessed from the content
and identical uploads of two people share no URL. Other files are content-addressed
and may be shared by several rows (avatars, emoji), so a file is deleted only when no
row names it any more: units that drop
references queue a `media.release` job (`queue_release`) that checks again after
the commit. Deleting a status (`statuses_deleted`) or removing an account
(`account_removed`) goes through it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import trio

from ..ids import now_ms
from ..jobs import JobKind, JobRegistry
from ..media.attachments import (
    ORIGINAL_MAX_PIXELS,
    dimensions,
    is_animated_gif,
    process_image,
    process_thumbnail,
)
from ..media.images import IMAGE_FORMATS, ImageError, ProcessedImage, identify, probe
from ..media.store import MediaStore, unique_key
from ..media.video import (
    NO_FFMPEG,
    NO_FFMPEG_AV,
    AvLimits,
    Tools,
    Video,
    check_video,
    classify,
    find_tools,
    gif_to_mp4,
    probe_file,
    transcode_audio,
    transcode_video,
)
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import media as media_rows
from ..store import scheduled as scheduled_rows
from ..store.rows import MediaAttachmentRow

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

ORIGINAL_CATEGORY = "media_attachments/original"
SMALL_CATEGORY = "media_attachments/small"
THUMBNAIL_CATEGORY = "media_attachments/thumbnail"
# Raw uploads waiting for their `media.process` job, in the private store.
RAW_CATEGORY = "uploads"
RAW_TYPE = "application/octet-stream"
# What is read of a file to tell an image from the rest (Pillow reads headers only).
HEAD_BYTES = 1024 * 1024
DESCRIPTION_LIMIT = 1500
# Mastodon's MediaCleanupScheduler: unattached uploads are kept for a day.
UNATTACHED_TTL_MS = 24 * 3600 * 1000
_CLEANUP_BATCH = 200

MEDIA_PROCESS = JobKind("media.process", max_attempts=5)
# Deletes files once nothing names them; queued in the unit that drops the last reference.
MEDIA_RELEASE = JobKind("media.release", max_attempts=10)


class MediaError(ValueError):
    """An upload or change refused; the message can be shown to the user (a 422)."""


@dataclass(frozen=True)
class Thumbnail:
    """A processed, stored preview chosen by the uploader."""

    key: str
    blurhash: str
    # Its `width`, `height`, `size` and `aspect`: what `meta.small` then describes.
    meta: dict[str, Any]


def parse_focus(text: str) -> tuple[float, float]:
    """`"x,y"` with each coordinate in -1..1 (Mastodon's focal point), else `MediaError`."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = (float(p) for p in parts)
    except ValueError:
        raise MediaError('Focus must be two numbers "x,y", each from -1.0 to 1.0') from None
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise MediaError("Focus coordinates must each be from -1.0 to 1.0")
    return x, y


def check_description(text: str | None) -> str | None:
    """The description to store (None when blank); `MediaError` past 1,500 characters."""
    if text is None or not text.strip():
        return None
    if len(text) > DESCRIPTION_LIMIT:
        raise MediaError(
            f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} "
            "characters)"
        )
    return text


async def upload(
    rt: Runtime,
    account_id: int,
    source: bytes | Path,
    *,
    synchronous: bool,
    description: str | None = None,
    focus: str | None = None,
    thumbnail: bytes | None = None,
) -> MediaAttachmentRow:
    """Store a new upload for `account_id` (its bytes, or the file holding them); its row
    (`processing` queued or complete).

    Raises `MediaError` for a bad file or parameter; nothing is stored then, and nothing
    is left behind when storing fails or is cancelled half-way.
    """
    description = check_description(description)
    focus_xy = parse_focus(focus) if focus else None
    with _workdir() as workdir:
        try:
            found = await _kind(rt, source, workdir)
        except ImageError as exc:
            raise MediaError(str(exc)) from None
        thumb = await _store_thumbnail(rt, thumbnail) if thumbnail is not None else None
        now = now_ms()
        att: dict[str, Any] = {
            "id": rt.ids.next_id(),
            "account_id": account_id,
            "type": _ROW_TYPES[found.kind],
            "description": description,
            "focus_x": focus_xy[0] if focus_xy else None,
            "focus_y": focus_xy[1] if focus_xy else None,
            "thumbnail_key": thumb.key if thumb else None,
            "thumbnail_blurhash": thumb.blurhash if thumb else None,
            "thumbnail_meta": thumb.meta if thumb else None,
            "created_at": now,
        }
        stored_keys: list[str] = [thumb.key] if thumb else []
        try:
            if synchronous:
                try:
                    done = await _process_found(rt, found, workdir, _UPLOAD_CATEGORIES)
                except ImageError as exc:
                    raise MediaError(str(exc)) from None
                stored_keys += [k for k in done.files.values() if k]
                att.update(
                    type=done.type,
                    processing="complete",
                    meta=done.meta,
                    blurhash=done.blurhash,
                    file_size=done.file_size,
                    **done.files,
                )
                await rt.store.write(media_rows.insert_attachment, att)
            else:
                # The raw file waits for its job in the private store (streamed there).
                raw_key = unique_key(RAW_TYPE, RAW_CATEGORY)
                stored_keys.append(raw_key)
                raw = source if isinstance(source, Path) else await found.as_file(workdir)
                await rt.media.private.put_file(raw_key, raw)
                att.update(processing="queued", file_size=found.size, meta={})
                await rt.store.write(_insert_queued, rt, att, raw_key, now)
        except BaseException:
            with trio.CancelScope(shield=True):
                await release(rt, stored_keys)
            raise
    log.debug("media %d uploaded (%s, %s)", att["id"], att["type"], att["processing"])
    row = await rt.store.read(media_rows.attachment, att["id"])
    assert row is not None
    return row


async def _insert_queued(
    conn: Connection, rt: Runtime, att: RowView, raw_key: str, now: int
) -> None:
    """Unit of work: a queued upload's row, its raw file's key and its processing job."""
    # Row, raw file's key and job commit together: a crash leaves all or nothing (a raw
    # file stored before a crash is no row's, and the orphan cleanup removes it).
    await media_rows.insert_attachment(conn, att)
    await media_rows.insert_upload(conn, att["id"], now, file_key=raw_key)
    await MEDIA_PROCESS.enqueue(conn, rt.ids, {"id": att["id"]})


async def process_queued(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: process a queued upload; a bad file marks it failed (no retry)."""
    attachment_id = int(payload["id"])
    waiting = await rt.store.read(media_rows.upload_source, attachment_id)
    if waiting is None:
        return  # already processed, or removed before its turn
    data, raw_key = waiting
    with _workdir() as workdir:
        source: bytes | Path = data
        if raw_key:
            source = workdir / "raw"
            try:
                await _download(rt.media.private, raw_key, source)
            except FileNotFoundError:
                await rt.store.write(
                    media_rows.fail, attachment_id, "The upload was lost", now_ms()
                )
                return
        try:
            done = await process_and_store(rt, source)
        except ImageError as exc:
            await rt.store.write(media_rows.fail, attachment_id, str(exc), now_ms())
            if raw_key:
                await release(rt, [raw_key])
            return
    completed = await rt.store.write(
        media_rows.complete,
        attachment_id,
        type_=done.type,
        meta=done.meta,
        blurhash=done.blurhash,
        file_size=done.file_size,
        now=now_ms(),
        file_key=done.files["file_key"] or "",
        preview_key=done.files["preview_key"],
    )
    # The raw file is no row's any more; and if the row went away (cleanup) while we
    # worked, neither are the new files.
    gone = [] if completed else [k for k in done.files.values() if k]
    await release(rt, [*gone, *([raw_key] if raw_key else [])])


async def _download(store: MediaStore, key: str, target: Path) -> None:
    """Stream the stored `key` into the file `target`; FileNotFoundError when it is gone."""
    handle = await trio.open_file(target, "wb")
    async with handle:
        async for chunk in store.read(key):
            await handle.write(chunk)


async def owned(rt: Runtime, account_id: int, attachment_id: int) -> MediaAttachmentRow | None:
    """An unattached upload of `account_id`; None for anyone else's or an attached one."""
    row = await rt.store.read(media_rows.attachment, attachment_id)
    if row is None or row["account_id"] != account_id or row["status_id"] is not None:
        return None
    return row


async def update(
    rt: Runtime,
    account_id: int,
    attachment_id: int,
    *,
    description: str | None = None,
    focus: str | None = None,
    thumbnail: bytes | None = None,
) -> MediaAttachmentRow | None:
    """Change the description, focal point or thumbnail of an unattached upload of `account_id`.

    None when there is no such upload (someone else's, attached, or missing);
    `MediaError` for a bad value, with nothing changed.
    """
    if await owned(rt, account_id, attachment_id) is None:
        return None
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = check_description(description)
    if focus is not None:
        changes["focus_x"], changes["focus_y"] = parse_focus(focus)
    thumb = await _store_thumbnail(rt, thumbnail) if thumbnail is not None else None
    if thumb is not None:
        changes["thumbnail_key"] = thumb.key
        changes["thumbnail_blurhash"] = thumb.blurhash
        changes["thumbnail_meta"] = thumb.meta
    before = await rt.store.write(media_rows.update_attachment, attachment_id, changes, now_ms())
    if before is None:
        if thumb is not None:
            await release(rt, [thumb.key])
        return None
    old_thumb = before.get("thumbnail_key")
    if thumb is not None and old_thumb and old_thumb != thumb.key:
        await release(rt, [old_thumb])
    return await rt.store.read(media_rows.attachment, attachment_id)


class MediaInUse(Exception):
    """An upload attached to a status (or reserved by a scheduled one): not deletable."""


async def delete_upload(rt: Runtime, account_id: int, attachment_id: int) -> bool:
    """Delete one's own upload that no status uses (Mastodon 4.4's `DELETE /api/v1/media/:id`);
    False when the caller has no such upload, `MediaInUse` when a status uses it."""

    async def unit(conn: Connection) -> set[str] | None:
        row = await media_rows.attachment(conn, attachment_id)
        if row is None or row["account_id"] != account_id:
            return None
        if row["status_id"] is not None or await scheduled_rows.reserved_elsewhere(
            conn, [attachment_id]
        ):
            raise MediaInUse()
        return await _delete_rows(conn, rt, [attachment_id])

    keys = await rt.store.write(unit)
    if keys is None:
        return False
    # The queued job would do this too; doing it now frees the space at once.
    await release(rt, keys)
    return True


async def remove_unattached(rt: Runtime, *, now: int | None = None) -> int:
    """Delete uploads never attached to a status within a day, and their unshared files."""
    cutoff = (now_ms() if now is None else now) - UNATTACHED_TTL_MS
    removed = 0
    while True:
        rows = await rt.store.read(media_rows.unattached_before, cutoff, _CLEANUP_BATCH)
        if not rows:
            return removed
        keys = await rt.store.write(_delete_rows, rt, [r["id"] for r in rows])
        # The queued job would do this too; doing it now frees the space at once.
        await release(rt, keys)
        removed += len(rows)
        if len(rows) < _CLEANUP_BATCH:
            return removed


async def _delete_rows(conn: Connection, rt: Runtime, ids: list[int]) -> set[str]:
    """Unit of work: delete attachment rows and queue the release of their files."""
    keys: set[str] = set()
    for start in range(0, len(ids), _CLEANUP_BATCH):
        keys |= await media_rows.delete_attachments(conn, ids[start : start + _CLEANUP_BATCH])
    await queue_release(conn, rt, keys)
    return keys


async def queue_release(conn: Connection, rt: Runtime, keys: Iterable[str]) -> None:
    """Inside a unit that drops references to files: queue their deletion after the commit.

    The job runs only if the unit commits, and checks again that no row names a file
    before deleting it, so a crash at any point neither deletes a file in use nor
    leaves a row without its file (at worst an unreferenced file waits for a retry).
    """
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), _CLEANUP_BATCH):
        await MEDIA_RELEASE.enqueue(conn, rt.ids, {"keys": wanted[start : start + _CLEANUP_BATCH]})


async def statuses_deleted(
    conn: Connection, rt: Runtime, status_ids: list[int], *, delete_media: bool = False
) -> None:
    """Inside the unit deleting statuses: what becomes of their attachments (Mastodon's way).

    Remote statuses' attachments are deleted. Local uploads go back to their uploader for
    a day so a redraft can post them again (the cleanup removes them after that), unless
    `delete_media` (the API's `delete_media=true`) asks for them to go at once. Files no
    row names any more are deleted by a job after the commit.
    """
    if not status_ids:
        return
    doomed = await media_rows.of_status_ids(conn, status_ids, remote_only=not delete_media)
    if doomed:
        await _delete_rows(conn, rt, doomed)
    if not delete_media:
        await media_rows.detach_local(conn, status_ids, now_ms())


async def account_removed(conn: Connection, rt: Runtime, account_id: int) -> None:
    """Inside the unit removing an account: drop its attachments, avatar and header files.

    Call it before deleting the account row (the rows of its attachments cascade away
    with it, and their keys would be lost); it also works when the row is kept (a
    suspension), clearing the avatar and header. Files go after the commit, by a job.
    """
    keys = await account_rows.clear_profile_images(conn, account_id)
    ids = await media_rows.of_account(conn, account_id)
    if ids:
        await _delete_rows(conn, rt, ids)
    await queue_release(conn, rt, keys)


async def _release_job(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: delete the files among `payload["keys"]` that no row names."""
    await release(rt, [str(k) for k in payload.get("keys", [])])


async def release(rt: Runtime, keys: Iterable[str]) -> None:
    """Delete the files among `keys` that no row names any more."""
    wanted = set(keys)
    if not wanted:
        return
    # A narrow race remains for content-addressed files (avatars, emoji): storing the very
    # same bytes between this check and the unlink loses the file. That takes a duplicate
    # within milliseconds of the old one's release; accepted rather than locking.
    still_used = await rt.store.read(media_rows.referenced_keys, wanted)
    for key in sorted(wanted - still_used):
        # Raw uploads waiting for their job are in the private store.
        store = rt.media.private if key.startswith(f"{RAW_CATEGORY}/") else rt.media
        await store.delete(key)


def register(registry: JobRegistry) -> None:
    """Bind the media job kinds to their handlers."""
    registry.register(MEDIA_PROCESS, process_queued)
    registry.register(MEDIA_RELEASE, _release_job)


class ImageLimits(TypedDict):
    """The image functions' size bounds, as keyword arguments."""

    max_bytes: int
    max_pixels: int


def _limits(rt: Runtime) -> ImageLimits:
    """The configured image limits, as keyword arguments of the image functions."""
    return {
        "max_bytes": rt.config.media_max_image_bytes,
        "max_pixels": rt.config.media_max_image_pixels,
    }


@dataclass(frozen=True)
class Processed:
    """A processed file whose files are in the media store."""

    type: str
    files: dict[str, str | None]
    meta: dict[str, Any]
    blurhash: str | None
    file_size: int
    stored_bytes: int


def tools(rt: Runtime) -> Tools | None:
    """ffmpeg and ffprobe as configured, or None when they are not installed."""
    return find_tools(rt.config.media_ffmpeg_path, rt.config.media_ffprobe_path)


def _av_limits(rt: Runtime) -> AvLimits:
    """The configured video and audio limits."""
    config = rt.config
    return AvLimits(
        max_bytes=config.media_max_video_bytes,
        max_pixels=config.media_max_video_pixels,
        max_frame_rate=config.media_max_video_frame_rate,
        time_limit=config.media_ffmpeg_timeout,
    )


# What an upload is, from its content: the row's `type` follows (an animated GIF is a
# `gifv`; so is a video without sound, as in Mastodon).
_ROW_TYPES = {
    "image": "image",
    "animated_gif": "gifv",
    "video": "video",
    "gifv": "gifv",
    "audio": "audio",
}


_UPLOAD_CATEGORIES = (ORIGINAL_CATEGORY, SMALL_CATEGORY)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A private temporary folder for one file's processing, removed with all it holds when
    the work ends (also when it fails or is cancelled)."""
    with tempfile.TemporaryDirectory(prefix="wb-media-") as folder:
        yield Path(folder)


@dataclass(frozen=True)
class Found:
    """An upload once its kind is known: an image's bytes, or the file a video or audio
    file is in (whole in memory only for images, at most the image limit)."""

    kind: str
    size: int
    image: bytes | None = None
    path: Path | None = None

    async def as_file(self, workdir: Path) -> Path:
        """A file holding the upload (an image is written to one in `workdir`)."""
        if self.path is not None:
            return self.path
        assert self.image is not None
        target = workdir / "image"
        await trio.to_thread.run_sync(target.write_bytes, self.image)
        return target


async def _kind(rt: Runtime, source: bytes | Path, workdir: Path) -> Found:
    """What `source` is: `image`, `animated_gif`, `video`, `gifv` or `audio`; `ImageError`
    if not acceptable.

    Reads headers only (Pillow's, else ffprobe's), so a request can answer at once. A
    video or audio file given as bytes is written to `workdir` for ffprobe and ffmpeg.
    """
    if isinstance(source, Path):
        size = (await trio.Path(source).stat()).st_size
        head = await trio.to_thread.run_sync(_read_head, source)
    else:
        size, head = len(source), source
    fmt = await trio.to_thread.run_sync(identify, head)
    if fmt is not None:
        # Pillow knows it: one of our image types, or refused with Pillow's reason.
        if size > rt.config.media_max_image_bytes:
            raise ImageError(
                "Validation failed: File file size must be less than "
                f"{_human_bytes(rt.config.media_max_image_bytes)}"
            )
        data = source if isinstance(source, bytes) else await trio.Path(source).read_bytes()
        mime, _, _ = await trio.to_thread.run_sync(partial(probe, data, **_limits(rt)))
        if mime == "image/gif" and await trio.to_thread.run_sync(is_animated_gif, data):
            if tools(rt) is None:
                raise ImageError(NO_FFMPEG)
            return Found("animated_gif", size, image=data)
        return Found("image", size, image=data)
    if not size:
        raise ImageError(
            f"The file is empty; upload an image ({', '.join(IMAGE_FORMATS)}), "
            "a video or an audio file"
        )
    limits = _av_limits(rt)
    if size > limits.max_bytes:
        raise ImageError(f"The file is too large (at most {limits.max_bytes:,} bytes)")
    found = tools(rt)
    if found is None:
        raise ImageError(NO_FFMPEG_AV)
    if isinstance(source, bytes):
        path = workdir / "source"
        await trio.to_thread.run_sync(path.write_bytes, source)
    else:
        path = source
    probed = await probe_file(found, path, min(15.0, limits.time_limit))
    kind = classify(probed)
    if kind != "audio":
        check_video(probed, limits)
    return Found(kind, size, path=path)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD_BYTES)


async def process_and_store(
    rt: Runtime, source: bytes | Path, categories: tuple[str, str] = _UPLOAD_CATEGORIES
) -> Processed:
    """Process a file (image, animated GIF, video or audio), given as its bytes or the file
    holding it, and store its files.

    `categories` name where the original and the preview go (uploads, or the remote
    cache). Raises `ImageError` with a user-facing message for a file refused.
    """
    with _workdir() as workdir:
        found = await _kind(rt, source, workdir)
        return await _process_found(rt, found, workdir, categories)


async def _process_found(
    rt: Runtime, found: Found, workdir: Path, categories: tuple[str, str]
) -> Processed:
    """Process and store an upload whose kind is known (`_kind`), working in `workdir`."""
    if found.kind == "animated_gif":
        assert found.image is not None
        return await _process_gifv(rt, found.image, categories, workdir)
    if found.kind in ("video", "gifv"):
        assert found.path is not None
        return await _process_video(rt, found.path, categories, workdir)
    if found.kind == "audio":
        assert found.path is not None
        return await _process_audio(rt, found.path, categories, workdir)
    assert found.image is not None
    processed = await trio.to_thread.run_sync(partial(process_image, found.image, **_limits(rt)))
    files = await _store_pair(rt, processed.original, processed.small, categories)
    return Processed(
        "image",
        files,
        processed.meta(),
        processed.blurhash,
        len(processed.original.data),
        len(processed.original.data) + len(processed.small.data),
    )


async def _process_gifv(
    rt: Runtime, data: bytes, categories: tuple[str, str], workdir: Path
) -> Processed:
    """An animated GIF as `gifv`: an MP4, a preview of its first frame, and their meta."""
    # The preview and blurhash come from the first frame, like Mastodon's.
    small, hash_ = await trio.to_thread.run_sync(partial(process_thumbnail, data, **_limits(rt)))
    _, width, height = await trio.to_thread.run_sync(partial(probe, data, **_limits(rt)))
    video = await gif_to_mp4(
        data,
        width,
        height,
        max_pixels=ORIGINAL_MAX_PIXELS,
        workdir=workdir,
        time_limit=rt.config.media_ffmpeg_timeout,
        tools=_require_tools(rt, NO_FFMPEG),
    )
    files = await _store_pair(rt, video, small, categories)
    meta = {**video.meta(), "small": dimensions(small)}
    return Processed("gifv", files, meta, hash_, video.size, video.size + len(small.data))


async def _process_video(
    rt: Runtime, source: Path, categories: tuple[str, str], workdir: Path
) -> Processed:
    """A video as an H.264/AAC MP4 (`gifv` when silent), with its first frame as preview."""
    done = await transcode_video(_require_tools(rt, NO_FFMPEG_AV), source, _av_limits(rt), workdir)
    small, hash_ = await trio.to_thread.run_sync(
        partial(
            process_thumbnail,
            done.frame,
            max_bytes=rt.config.media_max_video_bytes,
            max_pixels=rt.config.media_max_video_pixels,
        )
    )
    video = done.video
    files = await _store_pair(rt, video, small, categories)
    meta = {**video.meta(), "small": dimensions(small)}
    kind = "video" if done.has_audio else "gifv"
    return Processed(kind, files, meta, hash_, video.size, video.size + len(small.data))


async def _process_audio(
    rt: Runtime, source: Path, categories: tuple[str, str], workdir: Path
) -> Processed:
    """Audio as an MP3 with its length and bit rate; no preview (only a chosen thumbnail)."""
    audio = await transcode_audio(_require_tools(rt, NO_FFMPEG_AV), source, _av_limits(rt), workdir)
    key = unique_key("audio/mpeg", categories[0])
    await rt.media.put_file(key, audio.path)
    files: dict[str, str | None] = {"file_key": key, "preview_key": None}
    return Processed("audio", files, audio.meta(), None, audio.size, audio.size)


def _human_bytes(n: int) -> str:
    """A byte count as people read it (16 MB, 200 KB)."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _require_tools(rt: Runtime, message: str) -> Tools:
    """ffmpeg and ffprobe, or `ImageError(message)` when they are gone (say, since the upload)."""
    found = tools(rt)
    if found is None:
        raise ImageError(message)
    return found


async def _store_thumbnail(rt: Runtime, data: bytes) -> Thumbnail:
    """Process and store an uploader's thumbnail; `MediaError` for a bad one."""
    try:
        image, hash_ = await trio.to_thread.run_sync(
            partial(process_thumbnail, data, keep_format=True, **_limits(rt))
        )
    except ImageError as exc:
        raise MediaError(f"Thumbnail: {exc}") from None
    stored = await _put(rt, image, THUMBNAIL_CATEGORY)
    return Thumbnail(stored, hash_, dimensions(image))


async def _store_pair(
    rt: Runtime,
    original: ProcessedImage | Video,
    small: ProcessedImage,
    categories: tuple[str, str],
) -> dict[str, str | None]:
    """Store an original (an image, or a video streamed from its file) and its preview;
    their keys, or neither file if either fails."""
    if isinstance(original, Video):
        original_key = unique_key("video/mp4", categories[0])
        try:
            await rt.media.put_file(original_key, original.path)
        except BaseException:
            with trio.CancelScope(shield=True):
                await rt.media.delete(original_key)
            raise
    else:
        original_key = await _put(rt, original, categories[0])
    try:
        small_key = await _put(rt, small, categories[1])
    except BaseException:
        with trio.CancelScope(shield=True):
            await release(rt, [original_key])
        raise
    return {"file_key": original_key, "preview_key": small_key}


async def _put(rt: Runtime, image: ProcessedImage, category: str) -> str:
    """Store one encoded file of an attachment under a name of its own; its key."""
    stored = await rt.media.put(
        image.data, content_type=image.content_type, category=category, unique=True
    )
    return stored.key
