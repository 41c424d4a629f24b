"""Media attachments and the raw uploads waiting for their processing job."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .base import Connection, Row, fetch_as, fetchrow_as, row_as
from .rows import CachedImageRow, CachedSizeRow, MediaAttachmentRow, RemoteImageRow

_KEY_COLUMNS = ("file_key", "preview_key", "thumbnail_key")


def _decoded(row: Row) -> MediaAttachmentRow:
    """The row with its `meta` and `thumbnail_meta` JSON texts turned into dicts."""
    for column in ("meta", "thumbnail_meta"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row_as(MediaAttachmentRow, row)


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


async def insert_attachment(conn: Connection, att: Mapping[str, Any]) -> None:
    """Insert an attachment row (`meta` and `thumbnail_meta` as dicts; missing optional
    columns are NULL)."""
    await conn.execute(
        "INSERT INTO media_attachments (id, account_id, type, processing, file_key, preview_key, "
        "thumbnail_key, description, focus_x, focus_y, meta, blurhash, thumbnail_blurhash, "
        "file_size, created_at, updated_at, status_id, remote_url, preview_remote_url, "
        "thumbnail_meta) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, "
        "$16, $17, $18, $19)",
        att["id"],
        att["account_id"],
        att["type"],
        att["processing"],
        att.get("file_key"),
        att.get("preview_key"),
        att.get("thumbnail_key"),
        att.get("description"),
        att.get("focus_x"),
        att.get("focus_y"),
        _json(att.get("meta") or {}),
        att.get("blurhash"),
        att.get("thumbnail_blurhash"),
        att.get("file_size"),
        att["created_at"],
        att.get("status_id"),
        att.get("remote_url"),
        att.get("preview_remote_url"),
        _json(att.get("thumbnail_meta")),
    )


async def insert_upload(conn: Connection, attachment_id: int, now: int, *, file_key: str) -> None:
    """Note the raw file of an upload (in the private store) until its job has run."""
    # `data` is for rows queued before raw files went to the store (0033).
    await conn.execute(
        "INSERT INTO media_uploads (attachment_id, data, created_at, file_key) "
        "VALUES ($1, $2, $3, $4)",
        attachment_id,
        b"",
        now,
        file_key,
    )


async def upload_source(conn: Connection, attachment_id: int) -> tuple[bytes, str | None] | None:
    """What waits for processing: the raw bytes of an older row, or the raw file's key."""
    row = await conn.fetchrow(
        "SELECT data, file_key FROM media_uploads WHERE attachment_id = $1", attachment_id
    )
    return None if row is None else (bytes(row["data"] or b""), row["file_key"])


async def attachment(conn: Connection, attachment_id: int) -> MediaAttachmentRow | None:
    """An attachment by id, `meta` decoded."""
    row = await conn.fetchrow("SELECT * FROM media_attachments WHERE id = $1", attachment_id)
    return None if row is None else _decoded(row)


async def complete(
    conn: Connection,
    attachment_id: int,
    *,
    type_: str,
    file_key: str,
    preview_key: str | None,
    meta: Mapping[str, Any],
    blurhash: str | None,
    file_size: int,
    now: int,
) -> bool:
    """Record a finished processing job and drop the raw bytes; False if the row is gone."""
    changed = await conn.execute(
        "UPDATE media_attachments SET processing = 'complete', file_key = $2, preview_key = $3, "
        "meta = $4, blurhash = $5, file_size = $6, error = NULL, updated_at = $7, type = $8 "
        "WHERE id = $1 AND processing = 'queued'",
        attachment_id,
        file_key,
        preview_key,
        _json(meta),
        blurhash,
        file_size,
        now,
        type_,
    )
    await conn.execute("DELETE FROM media_uploads WHERE attachment_id = $1", attachment_id)
    return changed == 1


async def fail(conn: Connection, attachment_id: int, error: str, now: int) -> None:
    """Record that an upload cannot be processed, and drop its raw bytes."""
    await conn.execute(
        "UPDATE media_attachments SET processing = 'failed', error = $2, updated_at = $3 "
        "WHERE id = $1 AND processing = 'queued'",
        attachment_id,
        error,
        now,
    )
    await conn.execute("DELETE FROM media_uploads WHERE attachment_id = $1", attachment_id)


async def update_attachment(
    conn: Connection, attachment_id: int, changes: Mapping[str, Any], now: int
) -> MediaAttachmentRow | None:
    """Set the given columns (description, focus, thumbnail) of an unattached attachment.

    Returns the row before the change (so a replaced thumbnail's file can be released),
    or None when it no longer exists or has been attached meanwhile.
    """
    allowed = {
        "description",
        "focus_x",
        "focus_y",
        "thumbnail_key",
        "thumbnail_blurhash",
        "thumbnail_meta",
    }
    before = await conn.fetchrow(
        "SELECT * FROM media_attachments WHERE id = $1 AND status_id IS NULL", attachment_id
    )
    if before is None:
        return None
    names = [n for n in changes if n in allowed]
    if names:
        sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=3))
        await conn.execute(
            f"UPDATE media_attachments SET {sets}, updated_at = $2 WHERE id = $1",
            attachment_id,
            now,
            *(_json(changes[n]) if n == "thumbnail_meta" else changes[n] for n in names),
        )
    return _decoded(before)


async def unattached_before(conn: Connection, cutoff: int, limit: int) -> list[MediaAttachmentRow]:
    """Unattached uploads created before `cutoff` (milliseconds), oldest first.

    Uploads a scheduled status will attach when it is published are not unattached.
    """
    rows = await conn.fetch(
        "SELECT * FROM media_attachments WHERE status_id IS NULL AND created_at < $1 "
        "AND NOT EXISTS (SELECT 1 FROM scheduled_status_media ssm "
        "WHERE ssm.media_attachment_id = media_attachments.id) "
        "ORDER BY created_at LIMIT $2",
        cutoff,
        limit,
    )
    return [_decoded(r) for r in rows]


async def delete_attachments(conn: Connection, ids: list[int]) -> set[str]:
    """Delete rows (their raw uploads go with them); the file keys they named (raw ones
    too)."""
    if not ids:
        return set()
    marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
    rows = await conn.fetch(
        f"SELECT file_key, preview_key, thumbnail_key FROM media_attachments WHERE id IN ({marks})",
        *ids,
    )
    raw = await conn.fetch(
        f"SELECT file_key FROM media_uploads WHERE attachment_id IN ({marks}) "
        "AND file_key IS NOT NULL",
        *ids,
    )
    await conn.execute(f"DELETE FROM media_attachments WHERE id IN ({marks})", *ids)
    return {r[c] for r in rows for c in _KEY_COLUMNS if r[c]} | {r["file_key"] for r in raw}


# Every column that names a media store key; a file is deleted only when none of them does.
KEY_REFERENCES: tuple[tuple[str, str], ...] = (
    ("media_attachments", "file_key"),
    ("media_attachments", "preview_key"),
    ("media_attachments", "thumbnail_key"),
    ("accounts", "avatar_key"),
    ("accounts", "header_key"),
    ("custom_emojis", "image_key"),
    ("custom_emojis", "static_image_key"),
    ("preview_cards", "image_key"),
    # The private side: raw uploads waiting for their job, and archives.
    ("media_uploads", "file_key"),
    ("account_archives", "file_key"),
)


async def referenced_keys(conn: Connection, keys: Iterable[str]) -> set[str]:
    """Which of `keys` some row still names (content-addressed files are shared)."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    marks = ", ".join(f"${i}" for i in range(1, len(wanted) + 1))
    found: set[str] = set()
    for table, column in KEY_REFERENCES:
        rows = await conn.fetch(
            f"SELECT DISTINCT {column} AS k FROM {table} WHERE {column} IN ({marks})", *wanted
        )
        found.update(r["k"] for r in rows)
    return found


def _marks(values: list[Any], start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + len(values)))


async def detach_local(conn: Connection, status_ids: list[int], now: int) -> int:
    """Give local uploads of deleted statuses back to their uploader, for a redraft.

    They count as uploaded now, so the day unattached uploads are kept starts again
    (Mastodon keeps them "approximately 24 hours so they can be re-used").
    """
    if not status_ids:
        return 0
    return await conn.execute(
        "UPDATE media_attachments SET status_id = NULL, created_at = $1, updated_at = $1 "
        f"WHERE remote_url IS NULL AND status_id IN ({_marks(status_ids, 2)})",
        now,
        *status_ids,
    )


async def of_status_ids(conn: Connection, status_ids: list[int], *, remote_only: bool) -> list[int]:
    """Ids of the attachments of some statuses (only remote ones, if asked)."""
    if not status_ids:
        return []
    remote = " AND remote_url IS NOT NULL" if remote_only else ""
    rows = await conn.fetch(
        f"SELECT id FROM media_attachments WHERE status_id IN ({_marks(status_ids)}){remote}",
        *status_ids,
    )
    return [int(r["id"]) for r in rows]


async def of_account(conn: Connection, account_id: int) -> list[int]:
    """Ids of every attachment of an account."""
    rows = await conn.fetch("SELECT id FROM media_attachments WHERE account_id = $1", account_id)
    return [int(r["id"]) for r in rows]


async def attach(conn: Connection, attachment_ids: list[int], status_id: int) -> int:
    """Give unattached uploads to a status; how many were attached."""
    attached = 0
    for attachment_id in attachment_ids:
        attached += await conn.execute(
            "UPDATE media_attachments SET status_id = $1 WHERE id = $2 AND status_id IS NULL",
            status_id,
            attachment_id,
        )
    return attached


async def of_statuses(conn: Connection, status_ids: list[int]) -> list[MediaAttachmentRow]:
    """The attachments of several statuses, in upload order, `meta` decoded."""
    if not status_ids:
        return []
    marks = ", ".join(f"${i}" for i in range(1, len(status_ids) + 1))
    rows = await conn.fetch(
        f"SELECT * FROM media_attachments WHERE status_id IN ({marks}) ORDER BY id", *status_ids
    )
    return [_decoded(r) for r in rows]


# The remote media cache -----------------------------------------------------------------------

# Processing states of remote attachments besides `complete` (cached): not fetched yet, or
# never to be fetched (a reject-media domain, or a file that could not be processed).
REMOTE = "remote"
FETCHING = "fetching"  # claimed by one request, which fetches and processes it
REJECTED = "rejected"


async def claim_fetch(conn: Connection, attachment_id: int, now: int, stale_before: int) -> bool:
    """Claim a remote attachment for fetching; False if another request holds a fresh claim.

    One fetch per file however many viewers arrive at once (each would run ffmpeg);
    a claim older than `stale_before` (its holder died) may be taken over.
    """
    changed = await conn.execute(
        "UPDATE media_attachments SET processing = 'fetching', updated_at = $2 WHERE id = $1 "
        "AND (processing = 'remote' OR (processing = 'fetching' AND updated_at < $3))",
        attachment_id,
        now,
        stale_before,
    )
    return changed == 1


async def unclaim_fetch(conn: Connection, attachment_id: int, now: int) -> None:
    """Give up a claim (the origin failed): the next view tries again."""
    await conn.execute(
        "UPDATE media_attachments SET processing = 'remote', updated_at = $2 "
        "WHERE id = $1 AND processing = 'fetching'",
        attachment_id,
        now,
    )


async def cache_remote(
    conn: Connection,
    attachment_id: int,
    *,
    type_: str,
    file_key: str,
    preview_key: str | None,
    meta: Mapping[str, Any],
    blurhash: str | None,
    file_size: int,
    cached_bytes: int,
    now: int,
) -> bool:
    """Record the cached copy of a remote attachment; False if it was cached (or went) meanwhile."""
    changed = await conn.execute(
        "UPDATE media_attachments SET processing = 'complete', type = $2, file_key = $3, "
        "preview_key = $4, meta = $5, blurhash = $6, file_size = $7, cached_bytes = $8, "
        "cached_at = $9, updated_at = $9, error = NULL WHERE id = $1 "
        "AND processing IN ('remote', 'fetching')",
        attachment_id,
        type_,
        file_key,
        preview_key,
        _json(meta),
        blurhash,
        file_size,
        cached_bytes,
        now,
    )
    return changed == 1


async def reject_remote(conn: Connection, attachment_id: int, error: str, now: int) -> None:
    """Never fetch a remote attachment again: it is shown as a link to its origin."""
    await conn.execute(
        "UPDATE media_attachments SET processing = 'rejected', type = 'unknown', error = $2, "
        "updated_at = $3 WHERE id = $1 AND processing IN ('remote', 'fetching')",
        attachment_id,
        error,
        now,
    )


async def cached_before(conn: Connection, cutoff: int, limit: int) -> list[int]:
    """Ids of remote attachments cached before `cutoff`, oldest first."""
    rows = await conn.fetch(
        "SELECT id FROM media_attachments WHERE cached_at IS NOT NULL AND cached_at < $1 "
        "ORDER BY cached_at LIMIT $2",
        cutoff,
        limit,
    )
    return [int(r["id"]) for r in rows]


async def oldest_cached(conn: Connection, limit: int) -> list[CachedSizeRow]:
    """The oldest cached remote attachments, with their sizes."""
    return await fetch_as(
        conn,
        CachedSizeRow,
        "SELECT id, cached_bytes FROM media_attachments WHERE cached_at IS NOT NULL "
        "ORDER BY cached_at LIMIT $1",
        limit,
    )


async def cache_total(conn: Connection) -> int:
    """Bytes the cached remote attachments take (shared files counted per row)."""
    value = await conn.fetchval(
        "SELECT COALESCE(SUM(cached_bytes), 0) FROM media_attachments WHERE cached_at IS NOT NULL"
    )
    return int(value or 0)


async def uncache(conn: Connection, ids: list[int], now: int) -> set[str]:
    """Drop the cached copies of remote attachments (they go back to `remote`); their keys."""
    if not ids:
        return set()
    marks = _marks(ids, 2)
    rows = await conn.fetch(
        f"SELECT file_key, preview_key FROM media_attachments WHERE id IN ({_marks(ids)}) "
        "AND cached_at IS NOT NULL",
        *ids,
    )
    await conn.execute(
        "UPDATE media_attachments SET processing = 'remote', file_key = NULL, preview_key = NULL, "
        f"cached_at = NULL, cached_bytes = NULL, updated_at = $1 WHERE id IN ({marks}) "
        "AND cached_at IS NOT NULL",
        now,
        *ids,
    )
    return {r[c] for r in rows for c in ("file_key", "preview_key") if r[c]}


async def account_domain(conn: Connection, account_id: int) -> str | None:
    """The domain of an account (None for a local one, or no such account)."""
    value = await conn.fetchval("SELECT domain FROM accounts WHERE id = $1", account_id)
    return str(value) if value is not None else None


async def reject_domain(conn: Connection, domain: str, now: int) -> set[str]:
    """Stop showing cached media of a domain's statuses (a reject-media block); the keys."""
    accounts = await conn.fetch("SELECT id FROM accounts WHERE domain = $1", domain)
    account_ids = [int(r["id"]) for r in accounts]
    if not account_ids:
        return set()
    rows = await conn.fetch(
        f"SELECT id FROM media_attachments WHERE account_id IN ({_marks(account_ids)}) "
        "AND remote_url IS NOT NULL AND processing IN ('remote', 'fetching', 'complete')",
        *account_ids,
    )
    ids = [int(r["id"]) for r in rows]
    keys = await uncache(conn, ids, now)
    for attachment_id in ids:
        await reject_remote(conn, attachment_id, "media from this domain is rejected", now)
    return keys


# The remote images cached here: an account's avatar and header, an emoji's image. The
# cache keeps their `<which>_key`, `<which>_cached_url` and `<which>_cached_at` columns.
_IMAGE_COLUMNS = {("accounts", "avatar"), ("accounts", "header"), ("custom_emojis", "image")}


async def remote_image(
    conn: Connection, table: str, row_id: int, which: str
) -> RemoteImageRow | None:
    """One image of a remote account (`accounts`: `avatar`, `header`) or emoji
    (`custom_emojis`: `image`): where it is, and the copy cached here."""
    assert (table, which) in _IMAGE_COLUMNS
    return await fetchrow_as(
        conn,
        RemoteImageRow,
        f"SELECT id, domain, {which}_key AS key, {which}_remote_url AS remote_url, "
        f"{which}_cached_url AS cached_url FROM {table} WHERE id = $1",
        row_id,
    )


async def image_copy_if_remote(
    conn: Connection, table: str, row_id: int, which: str, url: str
) -> tuple[bool, str | None]:
    """Whether `url` is still the remote image's URL (a copy of it may be recorded), and
    the key of the copy cached before, if any. The table's module records the copy
    (`accounts.set_image_copy`, `custom_emojis.set_image_copy`)."""
    assert (table, which) in _IMAGE_COLUMNS
    before = await conn.fetchrow(
        f"SELECT {which}_key AS k FROM {table} WHERE id = $1 AND {which}_remote_url = $2",
        row_id,
        url,
    )
    return (False, None) if before is None else (True, before["k"])


async def image_copies_before(
    conn: Connection, table: str, which: str, cutoff: int, limit: int
) -> list[CachedImageRow]:
    """The oldest copies of remote images cached before `cutoff`: the row's id and the
    copy's key."""
    assert (table, which) in _IMAGE_COLUMNS
    return await fetch_as(
        conn,
        CachedImageRow,
        f"SELECT id, {which}_key AS key FROM {table} WHERE {which}_cached_at IS NOT NULL "
        f"AND {which}_cached_at < $1 ORDER BY {which}_cached_at LIMIT $2",
        cutoff,
        limit,
    )
