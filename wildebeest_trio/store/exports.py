"""What an account's CSV exports list, a page at a time: the accounts it follows, blocks
and mutes, the domains it hides, its bookmarks and its lists' members. Each reader pages
by the relationship's id (`after`, ascending) so that an export of any size is streamed."""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import (
    BookmarkExportRow,
    DomainExportRow,
    ExportAccountRow,
    FollowExportRow,
    ListExportRow,
    MediaAttachmentRow,
    MuteExportRow,
    StatusRow,
)


async def follows(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[FollowExportRow]:
    """The accounts followed, with the follow's settings."""
    return await fetch_as(
        conn,
        FollowExportRow,
        "SELECT f.id, a.id AS account_id, a.username, a.domain, f.show_reblogs, f.notify, "
        "f.languages FROM follows f JOIN accounts a ON a.id = f.target_account_id "
        "WHERE f.account_id = $1 AND f.id > $2 ORDER BY f.id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def follow_requests(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[ExportAccountRow]:
    """The accounts asked to be followed, not answered yet."""
    return await fetch_as(
        conn,
        ExportAccountRow,
        "SELECT r.id, a.id AS account_id, a.username, a.domain FROM follow_requests r "
        "JOIN accounts a ON a.id = r.target_account_id "
        "WHERE r.account_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def blocks(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[ExportAccountRow]:
    """The accounts blocked."""
    return await fetch_as(
        conn,
        ExportAccountRow,
        "SELECT b.id, a.id AS account_id, a.username, a.domain FROM blocks b "
        "JOIN accounts a ON a.id = b.target_account_id "
        "WHERE b.account_id = $1 AND b.id > $2 ORDER BY b.id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def mutes(
    conn: Connection, account_id: int, now: int, after: int, limit: int
) -> list[MuteExportRow]:
    """The accounts muted (mutes that have not run out)."""
    return await fetch_as(
        conn,
        MuteExportRow,
        "SELECT m.id, a.id AS account_id, a.username, a.domain, m.hide_notifications "
        "FROM mutes m JOIN accounts a ON a.id = m.target_account_id "
        "WHERE m.account_id = $1 AND (m.expires_at IS NULL OR m.expires_at > $2) "
        "AND m.id > $3 ORDER BY m.id LIMIT $4",
        account_id,
        now,
        after,
        limit,
    )


async def domain_blocks(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[DomainExportRow]:
    """The domains the account hides."""
    return await fetch_as(
        conn,
        DomainExportRow,
        "SELECT id, domain FROM account_domain_blocks WHERE account_id = $1 AND id > $2 "
        "ORDER BY id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def bookmarks(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[BookmarkExportRow]:
    """The statuses bookmarked (deleted ones left out)."""
    return await fetch_as(
        conn,
        BookmarkExportRow,
        "SELECT b.id, s.id AS status_id, s.uri, s.url FROM bookmarks b "
        "JOIN statuses s ON s.id = b.status_id "
        "WHERE b.account_id = $1 AND s.deleted_at IS NULL AND b.id > $2 "
        "ORDER BY b.id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def list_members(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[ListExportRow]:
    """The members of the account's lists, with each list's title."""
    return await fetch_as(
        conn,
        ListExportRow,
        "SELECT la.id, l.id AS list_id, l.title, a.id AS account_id, a.username, a.domain "
        "FROM list_accounts la JOIN lists l ON l.id = la.list_id "
        "JOIN accounts a ON a.id = la.account_id "
        "WHERE l.account_id = $1 AND la.id > $2 ORDER BY la.id LIMIT $3",
        account_id,
        after,
        limit,
    )


# The archive -------------------------------------------------------------------------------------


async def statuses(conn: Connection, account_id: int, after: int, limit: int) -> list[StatusRow]:
    """The account's statuses and boosts, every visibility, oldest first."""
    return await fetch_as(
        conn,
        StatusRow,
        "SELECT * FROM statuses WHERE account_id = $1 AND deleted_at IS NULL AND id > $2 "
        "ORDER BY id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def favourites(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[BookmarkExportRow]:
    """The statuses the account favourited (deleted ones left out)."""
    return await fetch_as(
        conn,
        BookmarkExportRow,
        "SELECT f.id, s.id AS status_id, s.uri, s.url FROM favourites f "
        "JOIN statuses s ON s.id = f.status_id "
        "WHERE f.account_id = $1 AND s.deleted_at IS NULL AND f.id > $2 "
        "ORDER BY f.id LIMIT $3",
        account_id,
        after,
        limit,
    )


async def attached_media(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[MediaAttachmentRow]:
    """The account's media attachments that belong to a status and are stored here."""
    return await fetch_as(
        conn,
        MediaAttachmentRow,
        "SELECT * FROM media_attachments WHERE account_id = $1 AND status_id IS NOT NULL "
        "AND file_key IS NOT NULL AND id > $2 ORDER BY id LIMIT $3",
        account_id,
        after,
        limit,
    )
