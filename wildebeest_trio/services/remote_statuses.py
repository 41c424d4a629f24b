"""Taking a remote status in: a Note (or Question, Article...) read from an inbound
activity or fetched from its origin becomes a status here once, through the one write
path (`statuses.create`), as the inbox, quote checks and search resolution all need."""

from __future__ import annotations

from typing import Any

from ..drafts import NewStatus
from ..federation.actors import ensure_account
from ..federation.notes import Audience, ParsedNote, audience, new_status, parse_note
from ..runtime import Runtime
from ..store import Connection, RowView, domain_blocks
from ..store import inbox as inbox_rows
from ..store import statuses as status_rows
from ..store.rows import StatusRow
from ..store.statuses import StatusBundle
from . import statuses


def related(new: NewStatus, people: Audience, has_follower: bool) -> bool:
    """Mastodon's "related to local activity": someone here follows, is addressed, is
    replied to or quoted."""
    local_people = any(a["domain"] is None for a in people.mentioned) or bool(
        people.local_addressed
    )
    quoted = new.quote.quoted if new.quote is not None else None
    if local_people or (quoted is not None and quoted["local"]):
        return True
    if new.visibility == "direct":
        return False
    return has_follower or (new.parent is not None and bool(new.parent["local"]))


async def store_note(
    rt: Runtime,
    note: ParsedNote,
    author: RowView,
    delivered_to: int | None,
    *,
    check: bool,
    depth: int = 0,
) -> tuple[StatusRow, StatusBundle] | None:
    """Create a remote status from a parsed note (once); the row and its bundle, or None
    when it exists, was deleted, or (with `check`) relates to nobody here. `depth`: how
    many quotes deep it was fetched."""

    async def unit(conn: Connection) -> tuple[StatusRow, StatusBundle] | None:
        people = await audience(conn, note, delivered_to)
        new = await new_status(conn, note, author, people, depth=depth)
        if check and not related(
            new, people, await inbox_rows.has_local_follower(conn, author["id"])
        ):
            return None
        block = await domain_blocks.block_for(conn, author["domain"])
        if block is not None and block["reject_media"]:
            new.remote_media = []  # the domain's media are refused
        row = await statuses.create(conn, rt, author, new)
        if row is None:
            return None
        return row, await status_rows.hydrate(conn, [row], None)

    return await rt.store.write(unit)


async def store_fetched_note(
    rt: Runtime, document: dict[str, Any], *, depth: int = 0
) -> StatusRow | None:
    """A Note fetched from its origin (or embedded by its own author), stored once with its
    author and shown live; its status row, or None when it cannot be taken (`depth`: how
    many quotes deep it was fetched).

    Raises NoteRefused for a document that is not a usable note.
    """
    note = parse_note(document)
    author = await ensure_account(rt, note.attributed_to)
    if author is None or author["domain"] is None or author["suspended_at"] is not None:
        return None
    await store_note(rt, note, author, None, check=False, depth=depth)
    return await rt.store.read(inbox_rows.status_by_uri, note.uri)
