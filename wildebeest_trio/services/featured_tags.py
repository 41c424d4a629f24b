"""Featured hashtags: the tags an account puts on its profile, and which to suggest.

As Mastodon: at most ten per account, any valid hashtag name (made if unknown), each
shown with how many of the account's public and unlisted statuses use it and when the
last one was written; suggestions are the account's most used tags not yet featured.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import featured_tags as featured_rows
from ..store import tags as tag_rows
from .follows import AccountNotFound
from .tags import TAG_NAME_RE, TagView, view

MAX_FEATURED = 10
SUGGESTIONS = 10


class FeaturedTagError(ValueError):
    """A tag that cannot be featured (answered 422)."""


class FeaturedTagNotFound(LookupError):
    """No such featured tag of the caller."""


@dataclass(frozen=True)
class FeaturedTag:
    """A featured tag row with its owner's account row."""

    row: RowView
    account: RowView


async def featured(rt: Runtime, account_id: int) -> list[FeaturedTag]:
    """An account's featured tags, oldest first."""

    async def unit(conn: Connection) -> list[FeaturedTag]:
        account = await account_rows.account_by_id(conn, account_id)
        if account is None or account["suspended_at"] is not None:
            raise AccountNotFound()
        return [FeaturedTag(r, account) for r in await featured_rows.of_account(conn, account_id)]

    return await rt.store.read(unit)


async def feature(rt: Runtime, account_id: int, name: str) -> FeaturedTag:
    """Feature a tag on the account's profile; the featured tag."""
    clean = name.strip().lstrip("#")
    if not TAG_NAME_RE.match(clean) or len(clean) > 200:
        raise FeaturedTagError("Validation failed: Tag is invalid")

    async def unit(conn: Connection) -> FeaturedTag:
        account = await account_rows.account_by_id(conn, account_id)
        assert account is not None
        now = now_ms()
        tag = await tag_rows.ensure_tag(conn, rt.ids.next_id(), clean, now)
        if await featured_rows.count_of(conn, account_id) >= MAX_FEATURED:
            if not await featured_rows.of_account(conn, account_id, tag["id"]):
                raise FeaturedTagError(
                    f"Validation failed: You can feature at most {MAX_FEATURED} hashtags"
                )
        if not await featured_rows.insert(conn, rt.ids.next_id(), account_id, tag["id"], now):
            raise FeaturedTagError("Validation failed: Tag has already been taken")
        (row,) = await featured_rows.of_account(conn, account_id, tag["id"])
        return FeaturedTag(row, account)

    return await rt.store.write(unit)


async def unfeature(rt: Runtime, account_id: int, featured_id: int) -> None:
    """Stop featuring one of the account's tags."""
    if not await rt.store.write(featured_rows.delete, featured_id, account_id):
        raise FeaturedTagNotFound()


async def suggestions(rt: Runtime, account_id: int) -> list[TagView]:
    """The account's most used tags that it does not feature yet."""

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        rows = await featured_rows.most_used(conn, account_id, SUGGESTIONS)
        return [await view(conn, r, account_id, now) for r in rows]

    return await rt.store.read(unit)
