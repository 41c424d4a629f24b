"""`wildebeest-trio backup DEST` and `restore SRC`: the database, the secret key and the
local media, taken from a running server and brought back onto a fresh data folder.

A backup folder holds `backup.json` (the manifest: versions, the database file's
SHA-256, row counts, every media file and its size), the database (`wildebeest.db`, a
SQLite copy made with SQLite's backup API in one read transaction; or `database.pgdump`,
`pg_dump`'s custom format, itself one snapshot), `secret_key`, and `media/`. The
database is copied first: a file deleted afterwards is missing from the copy (and
reported), a row added afterwards is simply not in it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from .. import __version__
from ..config import Config
from ..private_files import tighten
from ..store import Store, open_store
from ..store import backups as backup_rows
from ..store.sqlite import sqlite_path

MANIFEST = "backup.json"
SQLITE_FILE = "wildebeest.db"
PG_FILE = "database.pgdump"
FORMAT = 1
# Progress lines at most this often while copying media.
PROGRESS_EVERY = 2.0

Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why."""


@dataclass(frozen=True)
class Summary:
    """What a backup or a restore moved."""

    counts: dict[str, int]
    media_files: int
    media_bytes: int
    missing: list[str]


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def pg_tool(name: str) -> str:
    """`pg_dump` or `pg_restore`: the newest under /usr/lib/postgresql (a dump needs a tool
    at least as new as the server), else the one on PATH."""

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if candidates:
        return max(candidates, key=version)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found (install the PostgreSQL client tools)")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(root: Path) -> list[tuple[str, int]]:
    """Every stored file under `root` (relative path, size); temporaries (dot names) left out."""
    found: list[tuple[str, int]] = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue  # deleted while we walked
            found.append((path.relative_to(root).as_posix(), size))
    found.sort()
    return found


def _copy_files(
    files: list[tuple[str, int]], source: Path, target: Path, say: Say, what: str
) -> tuple[int, int, list[str]]:
    """Copy listed files (blocking, for a thread): (files, bytes, missing)."""
    total = sum(size for _, size in files)
    done_files = done_bytes = 0
    missing: list[str] = []
    last = 0.0
    started = time.monotonic()
    for name, size in files:
        src = source / name
        dst = target / name
        dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            shutil.copy2(src, dst)
        except FileNotFoundError:
            missing.append(name)
            continue
        done_files += 1
        done_bytes += size
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            percent = 100 * done_bytes / total if total else 100
            say(
                f"{what}: {done_files}/{len(files)} files, {done_bytes / 2**20:.1f} MiB "
                f"({percent:.0f}%, {now - started:.0f} s)"
            )
    say(f"{what}: {done_files} files, {done_bytes / 2**20:.1f} MiB copied")
    return done_files, done_bytes, missing


async def _run(command: list[str], what: str) -> None:
    result = await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise BackupError(f"{what} failed ({result.returncode}): {error}")


async def _counts(url: str) -> dict[str, int]:
    store = await open_store(url, pg_pool_size=2)
    try:
        return await store.read(backup_rows.table_counts)
    finally:
        await store.aclose()


async def backup(config: Config, dest: Path, say: Say) -> Summary:
    """Back the instance up into `dest` (a new or empty folder), and check the copy."""
    await trio.to_thread.run_sync(_empty_folder, dest)
    dialect = _dialect(config.database_url)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "server_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dialect": dialect,
    }
    say(f"backing up {config.base_url} into {dest}")
    if dialect == "sqlite":
        source = Path(sqlite_path(config.database_url))
        db_size = await trio.to_thread.run_sync(_size, source)
        if db_size is None:
            raise BackupError(f"no database at {source}")
        target = dest / SQLITE_FILE
        say(f"database: copying {db_size / 2**20:.1f} MiB (SQLite backup API)")
        await trio.to_thread.run_sync(backup_rows.copy_sqlite, source, target)
        found = await trio.to_thread.run_sync(backup_rows.integrity, target)
        if found != "ok":
            raise BackupError(f"the copied database fails its integrity check: {found}")
        counts = await _counts(f"sqlite:///{target}")
        digest = await trio.to_thread.run_sync(_sha256, target)
        manifest["database"] = {"file": SQLITE_FILE, "sha256": digest, "counts": counts}
    else:
        target = dest / PG_FILE
        say("database: pg_dump (one snapshot)")
        await _run(
            [
                pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target}",
                f"--dbname={config.database_url}",
            ],
            "pg_dump",
        )
        # The archive must be readable back: its table of contents is listed.
        await _run([pg_tool("pg_restore"), "--list", str(target)], "pg_restore --list")
        counts = {}
        digest = await trio.to_thread.run_sync(_sha256, target)
        manifest["database"] = {"file": PG_FILE, "sha256": digest, "counts": counts}
    written = await trio.to_thread.run_sync(_size, target) or 0
    say(f"database: {written / 2**20:.1f} MiB written")
    await trio.to_thread.run_sync(_copy_private, config.data_dir / "secret_key", dest)

    files = await trio.to_thread.run_sync(_media_files, config.media_dir)
    copied, size, missing = await trio.to_thread.run_sync(
        _copy_files, files, config.media_dir, dest / "media", say, "media"
    )
    gone = set(missing)
    manifest["media"] = [[name, length] for name, length in files if name not in gone]
    if missing:
        say(f"media: {len(missing)} files were deleted while copying (not in the backup)")
    await trio.to_thread.run_sync(_write_private, dest / MANIFEST, json.dumps(manifest, indent=1))

    # The check: everything listed is there, at its size.
    wrong = await trio.to_thread.run_sync(_check_files, manifest["media"], dest / "media")
    if wrong:
        raise BackupError(f"the backup's media do not match: {wrong[:5]}")
    say(_describe("backup complete", counts, copied, size))
    return Summary(counts, copied, size, missing)


def _empty_folder(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten(dest)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _copy_private(source: Path, folder: Path) -> None:
    """Copy a file into `folder` readable by this user only."""
    if not source.is_file():
        raise BackupError(f"no {source.name} at {source}")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / source.name
    shutil.copyfile(source, target)
    tighten(target)


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    tighten(path)


def _read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} is not a backup: cannot read {MANIFEST} ({exc})") from None
    return manifest


def _check_fresh(config: Config) -> None:
    if (config.data_dir / "secret_key").exists():
        raise BackupError(f"{config.data_dir} already has a secret key: restore needs a fresh one")
    if config.database_url.startswith("sqlite://"):
        if Path(sqlite_path(config.database_url)).exists():
            raise BackupError(f"{sqlite_path(config.database_url)} already exists")
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def _restore_sqlite(database: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup_rows.copy_sqlite(database, target)
    tighten(target)


def _check_files(files: list[list[Any]], root: Path) -> list[str]:
    wrong = []
    for name, size in files:
        path = root / name
        if not path.is_file() or path.stat().st_size != size:
            wrong.append(name)
    return wrong


def _describe(what: str, counts: dict[str, int], files: int, size: int) -> str:
    rows = ", ".join(f"{n} {table}" for table, n in counts.items())
    return f"{what}: {rows + '; ' if rows else ''}{files} media files, {size / 2**20:.1f} MiB"


async def _fresh(config: Config) -> None:
    """Refuse a data folder or database that already holds an instance."""
    await trio.to_thread.run_sync(_check_fresh, config)
    if config.database_url.startswith("sqlite://"):
        return
    store: Store = await open_store(config.database_url, pg_pool_size=2)
    try:
        if await store.read(backup_rows.has_schema):
            raise BackupError("the target database is not empty: restore needs a fresh one")
    finally:
        await store.aclose()


async def restore(config: Config, src: Path, say: Say) -> Summary:
    """Bring a backup back onto this configuration's fresh data folder and database."""
    manifest = await trio.to_thread.run_sync(_read_manifest, src)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    dialect = _dialect(config.database_url)
    if manifest["dialect"] != dialect:
        raise BackupError(
            f"this backup is of a {manifest['dialect']} database; WB_DATABASE_URL names "
            f"a {dialect} one"
        )
    await _fresh(config)
    database = src / manifest["database"]["file"]
    say(f"restoring a backup of {manifest['created_at']} (server {manifest['server_version']})")
    if await trio.to_thread.run_sync(_sha256, database) != manifest["database"]["sha256"]:
        raise BackupError(f"{database} does not match its checksum: the backup is damaged")
    if dialect == "sqlite":
        target = Path(sqlite_path(config.database_url))
        db_size = await trio.to_thread.run_sync(_size, database) or 0
        say(f"database: copying {db_size / 2**20:.1f} MiB")
        await trio.to_thread.run_sync(_restore_sqlite, database, target)
    else:
        say("database: pg_restore")
        await _run(
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={config.database_url}",
                str(database),
            ],
            "pg_restore",
        )
    await trio.to_thread.run_sync(_copy_private, src / "secret_key", config.data_dir)
    files = [(str(name), int(size)) for name, size in manifest["media"]]
    copied, size, missing = await trio.to_thread.run_sync(
        _copy_files, files, src / "media", config.media_dir, say, "media"
    )
    if missing:
        raise BackupError(f"the backup lacks {len(missing)} media files: {missing[:5]}")

    # The check: the database opens and holds what the backup held; the files are there.
    counts = await _counts(config.database_url)
    expected = manifest["database"]["counts"]
    if expected and counts != expected:
        raise BackupError(f"the restored database holds {counts}, the backup {expected}")
    wrong = await trio.to_thread.run_sync(_check_files, manifest["media"], config.media_dir)
    if wrong:
        raise BackupError(f"restored media do not match: {wrong[:5]}")
    say(_describe("restore complete", counts, copied, size))
    return Summary(counts, copied, size, [])
