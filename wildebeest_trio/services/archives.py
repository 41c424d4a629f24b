"""Archives of an account in Mastodon's takeout format (its "Request your archive").

One zip, built by an `archive.build` job, holding what Mastodon's BackupService writes:

- `actor.json`: the actor document, its `icon` and `image` pointing at `avatar.<ext>` and
  `header.<ext>` in the zip, `outbox`, `likes` and `bookmarks` at the files below;
- `outbox.json`: an OrderedCollection (`id` `outbox.json`) of every status as its Create
  (boosts as Announce), each attachment's `url` the path of its file in the zip;
- `likes.json`, `bookmarks.json`: OrderedCollections of the statuses' URIs;
- `avatar.<ext>`, `header.<ext>` and `media_attachments/files/...`: the files.

An account may ask for one every seven days; each is kept seven days, then deleted. When
it is ready the owner is told by e-mail (when mail is on) and the settings page offers it.

The zip is written to a temporary file, then stored (streamed) in the media store's
private side (`MediaStore.private`: `<data dir>/private` locally, a private bucket or
prefix on S3) under a name of 256 random bits. Its download checks the owner, then
redirects to a signed URL valid for `SIGNED_SECONDS` (S3) or streams the file (local).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import trio

from ..federation import activities
from ..ids import now_ms
from ..jobs import JobRegistry
from ..jobs.kinds import JobKind
from ..media.store import is_valid_key, unique_key
from ..runtime import Runtime
from ..serializers import activitypub as ap
from ..store import Connection
from ..store import accounts as account_rows
from ..store import archives as archive_rows
from ..store import exports as export_rows
from ..store import users as user_rows
from ..store.rows import AccountArchiveRow
from . import account_mail, exports, mailer

log = logging.getLogger(__name__)

ARCHIVE_BUILD = JobKind("archive.build", max_attempts=5)
DAY_MS = 86_400_000
#: One archive a week per account, each kept a week.
INTERVAL_MS = 7 * DAY_MS
KEEP_MS = 7 * DAY_MS
_PLACEHOLDER = '"!PLACEHOLDER!"'
#: Where archives are stored in the private store, and how long a download link lasts.
CATEGORY = "archives"
SIGNED_SECONDS = 300


class ArchiveRefused(ValueError):
    """An archive that cannot be asked for now, with the reason for the person."""


def _legacy_folder(rt: Runtime) -> Path:
    """Where archives were kept before the media store held them (`<id>-<hex>.zip` names)."""
    return Path(rt.config.data_dir) / "archives"


async def request(rt: Runtime, account_id: int) -> int:
    """Ask for an archive of the account; its id. ArchiveRefused within a week of the last."""
    archive_id = rt.ids.next_id()

    async def unit(conn: Connection) -> None:
        now = now_ms()
        if await archive_rows.latest_since(conn, account_id, now - INTERVAL_MS) is not None:
            raise ArchiveRefused("You can request an archive once every 7 days")
        await archive_rows.insert(conn, archive_id, account_id, now)
        await ARCHIVE_BUILD.enqueue(conn, rt.ids, {"archive_id": archive_id})

    await rt.store.write(unit)
    return archive_id


async def archives_of(rt: Runtime, account_id: int) -> list[AccountArchiveRow]:
    """The account's archives, newest first (expired ones are gone)."""
    return await rt.store.read(archive_rows.archives_of, account_id)


@dataclass(frozen=True)
class Download:
    """How an archive reaches its owner: a signed URL to redirect to, or its bytes."""

    name: str
    url: str | None = None
    chunks: AsyncIterator[bytes] | None = None


async def download(rt: Runtime, account_id: int, archive_id: int, username: str) -> Download | None:
    """One of the account's ready archives, while it is kept; None for anyone else's."""
    row = await rt.store.read(archive_rows.archive_by_id, archive_id)
    if row is None or row["account_id"] != account_id or row["state"] != "ready":
        return None
    key = row["file_key"]
    if not key or (row["expires_at"] or 0) < now_ms():
        return None
    name = filename(row, username)
    if not is_valid_key(key):
        # Built before archives went through the media store: a file in the old folder.
        path = _legacy_folder(rt) / key
        if not await trio.Path(path).is_file():
            return None
        return Download(name, chunks=_file_chunks(path))
    store = rt.media.private
    url = await store.signed_url(key, SIGNED_SECONDS)
    if url is not None:
        return Download(name, url=url)
    if not await store.exists(key):
        return None
    return Download(name, chunks=store.read(key))


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await trio.open_file(path, "rb") as handle:
        while chunk := await handle.read(256 * 1024):
            yield chunk


def filename(row: AccountArchiveRow, username: str) -> str:
    """The name the download is saved under (Mastodon's `archive-<time>-<hash>.zip`)."""
    return f"archive-{username}-{row['id']}.zip"


# Building ----------------------------------------------------------------------------------------


class _Zip:
    """A zip written from async code: each write runs in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)

    async def entry(self, name: str) -> IO[bytes]:
        return await trio.to_thread.run_sync(lambda: self.zip.open(name, "w", force_zip64=True))

    async def write(self, handle: IO[bytes], data: str) -> None:
        await trio.to_thread.run_sync(handle.write, data.encode())

    async def close_entry(self, handle: IO[bytes]) -> None:
        await trio.to_thread.run_sync(handle.close)

    async def add_media(self, rt: Runtime, key: str, name: str) -> bool:
        """Copy a media file into the zip as it streams from the media store; False when
        the store has no such file (nothing is added then)."""
        handle: IO[bytes] | None = None
        try:
            async for chunk in rt.media.read(key):
                if handle is None:
                    handle = await self.entry(name)
                await trio.to_thread.run_sync(handle.write, chunk)
        except FileNotFoundError:
            return False
        finally:
            if handle is not None:
                await self.close_entry(handle)
        return handle is not None

    async def close(self) -> None:
        await trio.to_thread.run_sync(self.zip.close)


def _zip_path_of_media(key: str) -> str:
    """Where an attachment's file goes in the zip (and what its `url` says)."""
    return f"media_attachments/files/{key.removeprefix('media_attachments/')}"


async def _collection(
    zf: _Zip, name: str, skeleton: dict[str, Any], items: Any, render: Callable[[Any], Any]
) -> None:
    """A JSON OrderedCollection written item by item: the skeleton around the items."""
    skeleton = {**skeleton, "orderedItems": ["!PLACEHOLDER!"]}
    before, after = json.dumps(skeleton).split(_PLACEHOLDER)
    handle = await zf.entry(name)
    await zf.write(handle, before)
    first = True
    async for rows in items:
        parts = [json.dumps(render(row)) for row in rows]
        parts = [p for p in parts if p != "null"]
        if parts:
            await zf.write(handle, ("" if first else ",") + ",".join(parts))
            first = False
    await zf.write(handle, after)
    await zf.close_entry(handle)


def _with_local_media(activity: dict[str, Any], media_keys: dict[str, str]) -> dict[str, Any]:
    """A Create whose attachments' URLs are the paths of their files in the zip."""
    note = activity.get("object")
    if activity.get("type") != "Create" or not isinstance(note, dict):
        return activity
    attachments = note.get("attachment") or []
    for attachment in attachments:
        if isinstance(attachment, dict) and attachment.get("url") in media_keys:
            attachment["url"] = _zip_path_of_media(media_keys[attachment["url"]])
    return activity


async def _write_archive(rt: Runtime, account_id: int, path: Path) -> None:
    account = await rt.store.read(account_rows.account_by_id, account_id)
    if account is None:
        raise LookupError("the account is gone")
    actor_row = await rt.store.read(account_rows.local_actor, account["username"])
    if actor_row is None:
        raise LookupError("the account is not local")
    actor = cast(dict[str, Any], actor_row)
    zf = _Zip(path)
    try:
        # Media first: the outbox's attachments point at them.
        media_keys: dict[str, str] = {}

        async def media(conn: Connection, after: int, limit: int) -> list[Any]:
            return await export_rows.attached_media(conn, account_id, after, limit)

        async for rows in exports.pages(rt, media):
            for row in rows:
                if not await zf.add_media(rt, row["file_key"], _zip_path_of_media(row["file_key"])):
                    continue
                media_keys[rt.media.url(row["file_key"])] = row["file_key"]

        document = ap.actor_document(rt.config, actor, actor["public_key_pem"])
        for field, name, key in (
            ("icon", "avatar", actor["avatar_key"]),
            ("image", "header", actor["header_key"]),
        ):
            inside = f"{name}.{key.rpartition('.')[2]}" if key else ""
            if not key or not await zf.add_media(rt, key, inside):
                document.pop(field, None)
                continue
            if isinstance(document.get(field), dict):
                document[field]["url"] = inside
        document.update(outbox="outbox.json", likes="likes.json", bookmarks="bookmarks.json")
        handle = await zf.entry("actor.json")
        await zf.write(handle, json.dumps(document))
        await zf.close_entry(handle)

        async def statuses(conn: Connection, after: int, limit: int) -> list[Any]:
            rows = await export_rows.statuses(conn, account_id, after, limit)
            found: list[Any] = []
            for row in rows:
                activity = await activities.status_activity(
                    conn, rt.config, cast(dict[str, Any], row), actor
                )
                if activity is not None:
                    activity.pop("@context", None)
                    found.append({"id": row["id"], "activity": activity})
                else:
                    found.append({"id": row["id"], "activity": None})
            return found

        await _collection(
            zf,
            "outbox.json",
            {
                "@context": ap.NOTE_CONTEXT,
                "id": "outbox.json",
                "type": "OrderedCollection",
                "totalItems": account["statuses_count"],
            },
            exports.pages(rt, statuses),
            lambda item: (
                None
                if item["activity"] is None
                else _with_local_media(item["activity"], media_keys)
            ),
        )
        for name, read in (
            ("likes.json", export_rows.favourites),
            ("bookmarks.json", export_rows.bookmarks),
        ):

            async def uris(conn: Connection, after: int, limit: int, read: Any = read) -> list[Any]:
                return list(await read(conn, account_id, after, limit))

            await _collection(
                zf,
                name,
                {
                    "@context": ap.AS_CONTEXT,
                    "id": name,
                    "type": "OrderedCollection",
                },
                exports.pages(rt, uris),
                lambda row: row["uri"],
            )
    finally:
        await zf.close()


async def build(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: build an archive's zip, mark it ready and tell its owner."""
    archive_id = int(payload["archive_id"])
    row = await rt.store.read(archive_rows.archive_by_id, archive_id)
    if row is None or row["state"] != "building":
        return
    account = await rt.store.read(account_rows.account_by_id, row["account_id"])
    name = filename(row, account["username"] if account else "account")
    key = unique_key("application/zip", CATEGORY)
    store = rt.media.private
    # The zip is written to a temporary file, then stored streamed; the file goes in any case.
    with tempfile.TemporaryDirectory(prefix=".archive-", dir=rt.config.data_dir) as folder:
        path = Path(folder) / "archive.zip"
        try:
            await _write_archive(rt, row["account_id"], path)
        except LookupError:
            await rt.store.write(archive_rows.mark_failed, archive_id)
            return
        size = (await trio.Path(path).stat()).st_size
        try:
            await store.put_file(key, path, download_name=name)
        except BaseException:
            with trio.CancelScope(shield=True):
                await store.delete(key)
            raise

    async def unit(conn: Connection) -> bool:
        now = now_ms()
        if not await archive_rows.mark_ready(conn, archive_id, key, size, now, now + KEEP_MS):
            return False
        user = await user_rows.user_by_account(conn, row["account_id"])
        if user is not None and account_mail.mail_enabled(rt):
            link = f"{rt.config.base_url}/settings/export"
            message = mailer.archive_ready_message(
                instance=rt.config.domain, username=user["username"], link=link
            )
            await mailer.enqueue_mail(conn, rt.ids, user["email"], message)
        return True

    try:
        marked = await rt.store.write(unit)
    except BaseException:
        with trio.CancelScope(shield=True):
            await store.delete(key)
        raise
    if not marked:
        # The request went away (expired, or its account) while the zip was built.
        await store.delete(key)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


async def remove_expired(rt: Runtime) -> int:
    """Delete archives past their week (and any asked for more than two weeks ago)."""
    now = now_ms()
    rows = await rt.store.read(archive_rows.expired, now, now - 2 * KEEP_MS)
    for row in rows:
        key = row["file_key"]
        if key and is_valid_key(key):
            await rt.media.private.delete(key)
        elif key:
            await trio.to_thread.run_sync(_unlink, _legacy_folder(rt) / key)
        await rt.store.write(archive_rows.delete, row["id"])
    return len(rows)


def register(registry: JobRegistry) -> None:
    registry.register(ARCHIVE_BUILD, build)


__all__ = [
    "ARCHIVE_BUILD",
    "ArchiveRefused",
    "Download",
    "archives_of",
    "build",
    "download",
    "register",
    "remove_expired",
    "request",
]
