"""Who to follow: accounts followed by the people one follows (friends of friends),
then the most followed discoverable local accounts; never oneself, anyone already
followed or requested, blocked either way, muted, or dismissed."""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import suggestions as suggestion_rows
from .follows import AccountNotFound

# Mastodon's v2 `sources` and the deprecated single `source` each maps to.
LEGACY_SOURCE = {"friends_of_friends": "past_interactions", "most_followed": "global"}


@dataclass(frozen=True)
class Suggestion:
    """An account to suggest and why."""

    account: RowView
    sources: tuple[str, ...]

    @property
    def source(self) -> str:
        return LEGACY_SOURCE[self.sources[0]]


async def suggestions(rt: Runtime, viewer_id: int, limit: int) -> list[Suggestion]:
    """Up to `limit` suggestions, best first."""

    async def unit(conn: Connection) -> list[Suggestion]:
        now = now_ms()
        found: dict[int, Suggestion] = {}
        for row in await suggestion_rows.friends_of_friends(conn, viewer_id, now, limit):
            found[row["id"]] = Suggestion(row, ("friends_of_friends",))
        if len(found) < limit:
            # Ask for enough that the accounts already found still leave a full page.
            for popular in await suggestion_rows.most_followed_local(
                conn, viewer_id, now, limit * 2
            ):
                if popular["id"] in found:
                    found[popular["id"]] = Suggestion(
                        found[popular["id"]].account, ("friends_of_friends", "most_followed")
                    )
                elif len(found) < limit:
                    found[popular["id"]] = Suggestion(popular, ("most_followed",))
        return list(found.values())[:limit]

    return await rt.store.read(unit)


async def dismiss(rt: Runtime, viewer_id: int, target_id: int) -> None:
    """Stop suggesting an account to the viewer."""

    async def unit(conn: Connection) -> None:
        if await account_rows.account_by_id(conn, target_id) is None:
            raise AccountNotFound()
        await suggestion_rows.dismiss(conn, viewer_id, target_id, now_ms())

    await rt.store.write(unit)
