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
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import trio

from ..federation import activities
from ..ids import now_ms
from ..jobs import JobRegistry
from ..jobs.kinds import JobKind
from ..private_files import make_private_dir
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


class ArchiveRefused(ValueError):
    """An archive that cannot be asked for now, with the reason for the person."""


def _folder(rt: Runtime) -> Path:
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


async def archive_path(rt: Runtime, account_id: int, archive_id: int) -> Path | None:
    """The zip of one of the account's ready archives, while it is kept."""
    row = await rt.store.read(archive_rows.archive_by_id, archive_id)
    if row is None or row["account_id"] != account_id or row["state"] != "ready":
        return None
    if not row["file_key"] or (row["expires_at"] or 0) < now_ms():
        return None
    path = _folder(rt) / row["file_key"]
    return path if await trio.Path(path).is_file() else None


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
    folder = _folder(rt)
    await trio.to_thread.run_sync(make_private_dir, folder)
    name = f"{archive_id}-{secrets.token_hex(16)}.zip"
    path = folder / name
    try:
        await _write_archive(rt, row["account_id"], path)
    except LookupError:
        await trio.to_thread.run_sync(_unlink, path)
        await rt.store.write(archive_rows.mark_failed, archive_id)
        return
    except BaseException:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(_unlink, path)
        raise
    size = (await trio.Path(path).stat()).st_size

    async def unit(conn: Connection) -> None:
        now = now_ms()
        if not await archive_rows.mark_ready(conn, archive_id, name, size, now, now + KEEP_MS):
            return
        user = await user_rows.user_by_account(conn, row["account_id"])
        if user is not None and account_mail.mail_enabled(rt):
            link = f"{rt.config.base_url}/settings/export"
            message = mailer.archive_ready_message(
                instance=rt.config.domain, username=user["username"], link=link
            )
            await mailer.enqueue_mail(conn, rt.ids, user["email"], message)

    await rt.store.write(unit)


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
        if row["file_key"]:
            await trio.to_thread.run_sync(_unlink, _folder(rt) / row["file_key"])
        await rt.store.write(archive_rows.delete, row["id"])
    return len(rows)


def register(registry: JobRegistry) -> None:
    registry.register(ARCHIVE_BUILD, build)


__all__ = [
    "ARCHIVE_BUILD",
    "ArchiveRefused",
    "archive_path",
    "archives_of",
    "build",
    "register",
    "remove_expired",
    "request",
]
