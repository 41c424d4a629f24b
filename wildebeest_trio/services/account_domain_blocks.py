"""A user hiding a whole domain (Mastodon's user-level domain block).

As Mastodon's AfterBlockDomainFromAccountService: blocking ends the follows and follow
requests between the user and that domain's accounts in both directions (the user's
are undone, theirs rejected, each recorded for federation) and forgets the
notifications those accounts sent. From then on the domain's statuses stay out of the
user's timelines and its accounts' notifications are not written.
"""

from __future__ import annotations

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import account_domain_blocks as block_rows
from ..store import accounts as account_rows
from ..store import notifications as notification_rows
from ..store.paging import Page
from ..store.rows import DomainPageRow
from . import follows, home_feed
from .domain_blocks import InvalidDomainBlock, normalize_domain

__all__ = ["InvalidDomainBlock", "block", "blocked_domains", "unblock"]


def account_domain(domain: str) -> str:
    """A domain as accounts store it: a normalized host name, with its port if it has one
    (servers on a non-default port keep it in their accounts' domain)."""
    host, colon, port = domain.strip().rpartition(":") if ":" in domain else (domain, "", "")
    if colon and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise InvalidDomainBlock("Domain is not a valid host name")
    normalized = normalize_domain(host)
    return f"{normalized}:{int(port)}" if colon else normalized


def _domain(rt: Runtime, domain: str) -> str:
    host = account_domain(domain)
    if host == rt.config.domain.lower():
        raise InvalidDomainBlock("You cannot block your own server")
    return host


async def _sever(rt: Runtime, conn: Connection, account_id: int, domain: str) -> None:
    me = await account_rows.account_by_id(conn, account_id)
    assert me is not None
    for link in await block_rows.follows_with_domain(conn, account_id, domain):
        source, target = link["account_id"], link["target_account_id"]
        other = await account_rows.account_by_id(conn, target if source == account_id else source)
        if other is None:
            continue
        # Ours are undone, theirs refused: the account ends them, so they are federated.
        follower, followed = (me, other) if source == account_id else (other, me)
        await follows.unfollow_in(conn, rt, follower, followed, by=account_id)


async def block(rt: Runtime, account_id: int, domain: str) -> None:
    """Hide a domain from the account (idempotent)."""
    host = _domain(rt, domain)

    async def unit(conn: Connection) -> None:
        await block_rows.insert(conn, rt.ids.next_id(), account_id, host, now_ms())
        await _sever(rt, conn, account_id, host)
        await notification_rows.delete_from_domain(conn, account_id, host)
        await home_feed.domain_hidden(conn, account_id)

    await rt.store.write(unit)


async def unblock(rt: Runtime, account_id: int, domain: str) -> None:
    """Stop hiding a domain (idempotent; follows are not restored, as in Mastodon); boosts
    of its accounts' statuses come back to the home feed, which is rebuilt for them."""
    host = account_domain(domain)

    async def unit(conn: Connection) -> None:
        if await block_rows.delete(conn, account_id, host):
            await home_feed.feeds_stale(conn, [account_id])

    await rt.store.write(unit)


async def blocked_domains(rt: Runtime, account_id: int, page: Page) -> list[DomainPageRow]:
    """The account's blocked domains, newest first (each with its `page_id`)."""
    return await rt.store.read(block_rows.blocks_page, account_id, page)
