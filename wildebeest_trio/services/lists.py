"""Lists: named sets of followed accounts, each read as a timeline of its own.

The members of an `exclusive` list are read in it only, not in the home timeline: each
change to who they are tells the owner's home feed (`home_feed`).
"""

from __future__ import annotations

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import follows as follow_rows
from ..store import lists as list_rows
from ..store import statuses as status_rows
from ..store.paging import Page
from ..store.rows import AccountPageRow, ListRow
from ..store.statuses import StatusBundle
from . import home_feed

REPLIES_POLICIES = ("followed", "list", "none")
MAX_TITLE = 200


class ListNotFound(LookupError):
    """No such list among the caller's."""

    def __init__(self) -> None:
        super().__init__("Record not found")


class InvalidList(ValueError):
    """A list change Mastodon refuses with 422."""


def _validate(title: str, replies_policy: str) -> None:
    if not title.strip():
        raise InvalidList("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE:
        raise InvalidList(f"Validation failed: Title is too long (maximum is {MAX_TITLE})")
    if replies_policy not in REPLIES_POLICIES:
        raise InvalidList("Validation failed: Replies policy is not included in the list")


async def _own(conn: Connection, list_id: int, account_id: int) -> ListRow:
    row = await list_rows.list_of(conn, list_id, account_id)
    if row is None:
        raise ListNotFound()
    return row


async def _exclusive_changed(
    conn: Connection, account_id: int, member_ids: list[int], exclusive: bool
) -> None:
    """These accounts joined (`exclusive`) or left an exclusive list of the owner's: their
    statuses leave or rejoin the owner's home (unless another exclusive list holds them)."""
    if exclusive:
        await home_feed.accounts_hidden(conn, [account_id], member_ids)
    else:
        await home_feed.accounts_shown(conn, account_id, member_ids)


async def all_lists(rt: Runtime, account_id: int) -> list[ListRow]:
    """The caller's lists."""
    return await rt.store.read(list_rows.lists_of, account_id)


async def show(rt: Runtime, account_id: int, list_id: int) -> ListRow:
    """One of the caller's lists."""
    return await rt.store.read(_own, list_id, account_id)


async def create(
    rt: Runtime, account_id: int, title: str, replies_policy: str, exclusive: bool
) -> ListRow:
    """Make a list."""
    _validate(title, replies_policy)

    async def unit(conn: Connection) -> ListRow:
        list_id = rt.ids.next_id()
        await list_rows.insert_list(
            conn, list_id, account_id, title.strip(), replies_policy, exclusive, now_ms()
        )
        return await _own(conn, list_id, account_id)

    return await rt.store.write(unit)


async def update(
    rt: Runtime,
    account_id: int,
    list_id: int,
    title: str | None,
    replies_policy: str | None,
    exclusive: bool | None,
) -> ListRow:
    """Change a list; None leaves a setting as it is."""

    async def unit(conn: Connection) -> ListRow:
        row = await _own(conn, list_id, account_id)
        new_title = row["title"] if title is None else title.strip()
        policy = row["replies_policy"] if replies_policy is None else replies_policy
        _validate(new_title, policy)
        was_exclusive = bool(row["exclusive"])
        now_exclusive = was_exclusive if exclusive is None else exclusive
        await list_rows.update_list(conn, list_id, new_title, policy, now_exclusive)
        if now_exclusive != was_exclusive:
            members = await list_rows.member_ids(conn, list_id)
            await _exclusive_changed(conn, account_id, members, now_exclusive)
        return await _own(conn, list_id, account_id)

    return await rt.store.write(unit)


async def delete(rt: Runtime, account_id: int, list_id: int) -> None:
    """Delete a list."""

    async def unit(conn: Connection) -> None:
        row = await _own(conn, list_id, account_id)
        members = await list_rows.member_ids(conn, list_id)
        await list_rows.delete_list(conn, list_id)
        if row["exclusive"]:
            await _exclusive_changed(conn, account_id, members, False)

    await rt.store.write(unit)


async def add(rt: Runtime, account_id: int, list_id: int, member_ids: list[int]) -> None:
    """Add accounts the caller follows, or has asked to follow, to a list (422 for any
    other; Mastodon 4.3 lists accounts whose follow request waits)."""

    async def unit(conn: Connection) -> None:
        row = await _own(conn, list_id, account_id)
        facts = await follow_rows.relationship_facts(conn, account_id, member_ids)
        for member in member_ids:
            if member not in facts["following"] and member not in facts["requested"]:
                raise InvalidList("Validation failed: Account has not been followed")
        await list_rows.add_members(conn, list_id, [(rt.ids.next_id(), m) for m in member_ids])
        if row["exclusive"]:
            await _exclusive_changed(conn, account_id, member_ids, True)

    await rt.store.write(unit)


async def remove(rt: Runtime, account_id: int, list_id: int, member_ids: list[int]) -> None:
    """Take accounts off a list."""

    async def unit(conn: Connection) -> None:
        row = await _own(conn, list_id, account_id)
        await list_rows.remove_members(conn, list_id, member_ids)
        if row["exclusive"]:
            await _exclusive_changed(conn, account_id, member_ids, False)

    await rt.store.write(unit)


async def members(rt: Runtime, account_id: int, list_id: int, page: Page) -> list[AccountPageRow]:
    """A list's members."""

    async def unit(conn: Connection) -> list[AccountPageRow]:
        await _own(conn, list_id, account_id)
        return await list_rows.members_page(conn, list_id, page)

    return await rt.store.read(unit)


async def containing(rt: Runtime, account_id: int, member_id: int) -> list[ListRow]:
    """The caller's lists that include an account."""
    return await rt.store.read(list_rows.lists_with, account_id, member_id)


async def timeline(rt: Runtime, account_id: int, list_id: int, page: Page) -> StatusBundle:
    """A list's timeline."""

    async def unit(conn: Connection) -> StatusBundle:
        row = await _own(conn, list_id, account_id)
        rows = await status_rows.list_page(conn, row, account_id, page, now_ms())
        return await status_rows.hydrate(conn, rows, account_id, rt.entities)

    return await rt.store.read(unit)
