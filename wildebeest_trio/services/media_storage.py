"""`media migrate`: copy every media file to the other backend, check it, then switch.

The switch is the `media_storage` instance setting (`local` or `s3`) in the database,
which every `serve` and `worker` process reads when it starts (`WB_MEDIA_STORAGE=auto`,
the default; an explicit `local` or `s3` setting overrides it). It is written only after
every file of the old store is in the new one, at its size and with the same SHA-256,
so a migration stopped half-way (Ctrl-C, a crash, a failed bucket) changes nothing that
is served; running it again skips the files already there (S3 puts and local writes
are atomic, so a present file of the right size is a whole one) and goes on.

The old store is left as it was: remove it by hand once the new one serves. Files
uploaded while the copy runs are picked up by a last pass; for a busy instance, stop
`serve` and `worker`, run `media migrate` once more (only new files are copied), then
start them again: they use the new store from then on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from ..ids import now_ms
from ..media.backends import KINDS, RECORDED_SETTING, chosen_kind, open_media_store
from ..media.store import LocalMediaStore, MediaStore, MediaStoreError
from ..store import instance as instance_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

# Files copied at once (each is one request to the bucket or one file on disk).
PARALLEL = 4
# Passes over the old store's listing: files uploaded during a pass are copied by the next.
MAX_PASSES = 3
# A progress line at most this often, in seconds.
PROGRESS_EVERY = 1.0


class MigrateError(Exception):
    """The migration cannot start or did not complete; nothing was switched."""


@dataclass
class MigrateSummary:
    """What a migration did."""

    source: str
    target: str
    files: int = 0
    copied: int = 0
    already_there: int = 0
    copied_bytes: int = 0
    failed: list[str] = field(default_factory=list)
    switched: bool = False


async def current_kind(rt: Runtime) -> str:
    """The backend the processes use now: the setting, or the recorded switch, or local."""
    recorded = await rt.store.read(instance_rows.setting_text, RECORDED_SETTING)
    return chosen_kind(rt.config, recorded)


async def migrate_media(rt: Runtime, to: str, say: Callable[[str], None]) -> MigrateSummary:
    """Copy every file of the current store to `to`, verify each, then record the switch.

    `MigrateError` when the target cannot be opened or some files did not make it (then
    nothing is switched and running it again resumes).
    """
    if to not in KINDS:
        raise MigrateError(f"unknown media storage {to!r} (expected one of {', '.join(KINDS)})")
    source_kind = await current_kind(rt)
    if source_kind == to:
        raise MigrateError(f"media are already on {to}")
    try:
        source = open_media_store(rt.config, source_kind)
        target = open_media_store(rt.config, to)
    except Exception as exc:
        raise MigrateError(str(exc)) from None
    summary = MigrateSummary(source_kind, to)
    say(f"copying media from {source_kind} to {to}")
    workdir = Path(tempfile.mkdtemp(prefix=".media-migrate-", dir=rt.config.data_dir))
    try:
        # The public files, then the private ones (archives) into the target's private store.
        for origin, destination in ((source, target), (source.private, target.private)):
            done: set[str] = set()
            for _ in range(MAX_PASSES):
                try:
                    keys = [k for k in await origin.keys() if k not in done]
                except MediaStoreError as exc:
                    raise MigrateError(f"cannot list the {source_kind} media: {exc}") from None
                if not keys:
                    break
                await _copy_all(origin, destination, keys, workdir, summary, say)
                done.update(keys)
            summary.files += len(done)
    finally:
        await trio.to_thread.run_sync(shutil.rmtree, workdir, True)
    say(
        f"{summary.files} files: {summary.copied} copied ({summary.copied_bytes / 2**20:.1f} MiB), "
        f"{summary.already_there} already there, {len(summary.failed)} failed"
    )
    if summary.failed:
        raise MigrateError(
            f"{len(summary.failed)} files were not copied (nothing switched; run it again): "
            f"{', '.join(summary.failed[:5])}"
        )
    await rt.store.write(instance_rows.put_setting, RECORDED_SETTING, to, now_ms())
    summary.switched = True
    say(f"switched: media are on {to} for every process started from now on")
    if rt.config.media_storage in KINDS and rt.config.media_storage != to:
        say(
            f"note: WB_MEDIA_STORAGE={rt.config.media_storage} overrides the switch; "
            "set it to auto (or remove it)"
        )
    return summary


async def _copy_all(
    source: MediaStore,
    target: MediaStore,
    keys: list[str],
    workdir: Path,
    summary: MigrateSummary,
    say: Callable[[str], None],
) -> None:
    """Copy `keys` with `PARALLEL` workers, saying how far it got about once a second."""
    total = len(keys)
    progress = {"done": 0, "said": time.monotonic()}
    send, receive = trio.open_memory_channel[str](0)

    async def worker() -> None:
        async for key in receive:
            try:
                await _copy_one(source, target, key, workdir, summary)
            except (MediaStoreError, OSError, ValueError) as exc:
                summary.failed.append(f"{key} ({exc})")
            progress["done"] += 1
            now = time.monotonic()
            if now - progress["said"] >= PROGRESS_EVERY or progress["done"] == total:
                progress["said"] = now
                percent = 100 * progress["done"] // total
                say(f"media: {progress['done']}/{total} files ({percent}%)")

    async with trio.open_nursery() as nursery:
        for _ in range(PARALLEL):
            nursery.start_soon(worker)
        async with send:
            for key in keys:
                await send.send(key)
    # Each worker closes when the channel is closed and empty.


async def _copy_one(
    source: MediaStore, target: MediaStore, key: str, workdir: Path, summary: MigrateSummary
) -> None:
    """Copy one file unless the target holds it whole already; verify the copy."""
    size = await source.size(key)
    if size is None:
        return  # deleted since the listing: nothing refers to it any more
    if await target.size(key) == size:
        summary.already_there += 1
        return
    local = await source.local_path(key) if isinstance(source, LocalMediaStore) else None
    spool: Path | None = None
    try:
        if local is None:
            spool = workdir / f"{os.getpid()}-{key.rpartition('/')[2]}"
            digest = await _spool(source, key, spool)
            path = spool
        else:
            path = local
            digest = await trio.to_thread.run_sync(_sha256_file, path)
        await target.put_file(key, path)
    finally:
        if spool is not None:
            await trio.Path(spool).unlink(missing_ok=True)
    # The check: read the copy back whole and compare its SHA-256.
    copied = hashlib.sha256()
    length = 0
    async for chunk in target.read(key):
        copied.update(chunk)
        length += len(chunk)
    if length != size or copied.hexdigest() != digest:
        await target.delete(key)
        raise ValueError(f"the copy differs ({length} bytes, expected {size})")
    summary.copied += 1
    summary.copied_bytes += size


async def _spool(source: MediaStore, key: str, path: Path) -> str:
    """Stream `key` into the file `path`; its SHA-256."""
    digest = hashlib.sha256()
    handle = await trio.open_file(path, "wb")
    async with handle:
        async for chunk in source.read(key):
            digest.update(chunk)
            await handle.write(chunk)
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["MigrateError", "MigrateSummary", "current_kind", "migrate_media"]
