"""What a web page reads, in one crossing to the store where the page needs several reads.

The public profile and status pages read the account their address names and its posts
(or the post and its thread) in one unit, where they took two and three. The signed-in
home page needs the browser's session, a page of its home feed (hydrated)
and the unread notification count; each was its own crossing (on SQLite, a hop to the
store's thread and back, the largest cost of the page after its rendering). Here they are
one read unit; what may follow it (the session's once-a-minute use mark, a feed's rebuild
or touch) stays as the services it comes from do it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import statuses as status_rows
from ..store import users as user_rows
from ..store.notifications import Browse
from ..store.paging import Page
from ..store.rows import SessionAccountRow
from ..store.statuses import StatusBundle
from . import home_feed, notifications, profiles, sessions, statuses, timelines
from .types import Row


@dataclass(frozen=True)
class HomePage:
    """The signed-in home page's reads: who, their home feed's page, their unread count."""

    viewer: SessionAccountRow
    bundle: StatusBundle
    unread: int


async def home_page(
    rt: Runtime, token: str | None, ip: str, page: Page, unread: Browse, unread_limit: int
) -> HomePage | None:
    """The home page of the browser whose session cookie is `token` (None if it signs no
    one in): `timelines.home` and the grouped `notifications.unread_count`, read with the
    session in one unit."""
    digest = sessions.token_digest(token)
    if digest is None:
        return None
    now = now_ms()

    async def unit(
        conn: Connection,
    ) -> tuple[SessionAccountRow, home_feed.Reading, StatusBundle | None, int] | None:
        row = await user_rows.session_account(conn, digest)
        if row is None or not sessions.usable(rt, row, now):
            return None
        me = row["account_id"]
        reading = await home_feed.read(conn, me, page, now)
        bundle = None
        if reading.rows is not None:
            bundle = await status_rows.hydrate(conn, reading.rows, me, rt.entities)
        count = await notifications.count_unread(conn, me, unread, unread_limit, grouped=True)
        return row, reading, bundle, count

    found = await rt.store.read(unit)
    if found is None:
        return None
    row, reading, bundle, count = found
    await sessions.mark_seen(rt, row, ip, now)
    if bundle is None:
        # A feed never built (or dropped while its owner was away): built by a write.
        bundle = await timelines.home(rt, row["account_id"], page)
    else:
        await home_feed.after_read(rt, row["account_id"], reading)
    return HomePage(row, bundle, count)


async def profile_page(
    rt: Runtime, acct: str, viewer_id: int | None, page: Page, filters: timelines.AccountFilter
) -> tuple[Row, StatusBundle] | None:
    """A public profile page's account (`profiles.public_profile`, None if there is none to
    show) and its statuses (`timelines.account`), in one unit."""

    async def unit(conn: Connection) -> tuple[Row, StatusBundle] | None:
        account = await profiles.public_profile_in(conn, rt.config.domain, acct)
        if account is None:
            return None
        bundle = await timelines.account_in(
            conn, rt.entities, account["id"], viewer_id, page, filters
        )
        return account, bundle

    return await rt.store.read(unit)


@dataclass(frozen=True)
class StatusPage:
    """A status page's reads: the account of its address, the status, and its thread."""

    account: Row
    bundle: StatusBundle
    thread: statuses.Context


async def status_page(
    rt: Runtime, acct: str, status_id: int, viewer_id: int | None
) -> StatusPage | None:
    """The account `acct` names (`profiles.public_profile`), its status `status_id` as the
    viewer may see it (`statuses.show`) and the thread around it (`statuses.context`), in
    one unit; None if there is no such account. Raises `statuses.StatusNotFound`."""

    async def unit(conn: Connection) -> StatusPage | None:
        account = await profiles.public_profile_in(conn, rt.config.domain, acct)
        if account is None:
            return None
        bundle, thread = await statuses.page_in(conn, rt.entities, status_id, viewer_id)
        return StatusPage(account, bundle, thread)

    return await rt.store.read(unit)
