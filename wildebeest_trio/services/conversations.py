"""Direct-message conversations (`/api/v1/conversations`), kept per local participant.

They are written in the unit of work that posts or deletes a direct status, so a
conversation is never out of step with its statuses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime import Runtime
from ..serializers.statuses import conversation_entity
from ..store import Connection, Effect, RowView
from ..store import conversations as conversation_rows
from ..store import follows as follow_rows
from ..store import statuses as status_rows
from ..store.entities import EntityCache
from ..store.paging import Page
from ..store.rows import AccountRow
from ..store.statuses import StatusBundle
from ..streaming.relay import StreamEvent, publish_events


class ConversationNotFound(LookupError):
    """No such conversation in the caller's list."""

    def __init__(self) -> None:
        super().__init__("Record not found")


@dataclass(frozen=True)
class ConversationUpdated(Effect):
    """A local participant's conversation has a new status."""

    account_id: int
    conversation_id: int
    participant_ids: str
    author_id: int


async def publish_conversations(rt: Runtime, updated: list[ConversationUpdated]) -> None:
    """The `ConversationUpdated` handler: each participant's `direct` streams get the
    Conversation as that participant sees it (`conversation` event)."""

    async def unit(conn: Connection) -> list[StreamEvent]:
        events = []
        for effect in updated:
            row = await conversation_rows.conversation_of(
                conn, effect.account_id, effect.conversation_id, effect.participant_ids
            )
            if row is None:
                continue  # removed meanwhile
            found = await _load(conn, [dict(row)], effect.account_id)
            accounts = {i: dict(a) for i, a in found.accounts.items()}
            entity = conversation_entity(rt.config, row, accounts, found.statuses)
            events.append(
                StreamEvent.to(
                    f"timeline:direct:{effect.account_id}",
                    "conversation",
                    json.dumps(entity),
                    author_id=effect.author_id,
                )
            )
        return events

    await publish_events(rt, await rt.store.read(unit))


async def record_direct(
    conn: Connection,
    rt: Runtime,
    *,
    status_id: int,
    conversation_id: int,
    author_id: int,
    participants: list[tuple[int, bool]],
) -> None:
    """Add a new direct status to the conversation of each local participant:
    `participants` are `(account_id, is_local)` of the author and the mentioned."""
    everyone = sorted({account_id for account_id, _ in participants})
    for account_id, local in participants:
        if not local:
            continue  # remote accounts read their conversations on their own server
        others = json.dumps([i for i in everyone if i != account_id])
        await conversation_rows.touch(
            conn,
            rt.ids.next_id(),
            account_id,
            conversation_id,
            others,
            status_id,
            account_id != author_id,
        )
        # Its `direct` streams hear of the conversation (Mastodon's `conversation` event).
        conn.effects.add(ConversationUpdated(account_id, conversation_id, others, author_id))


async def forget_status(conn: Connection, status: RowView) -> None:
    """After a direct status is deleted: point conversations that ended with it at their
    previous status, or drop them when none is left."""
    for row in await conversation_rows.rows_ending_with(conn, status["id"]):
        previous = await conversation_rows.latest_direct_status(
            conn, row["conversation_id"], row["account_id"]
        )
        if previous is None:
            await conversation_rows.remove(conn, row["id"], row["account_id"])
        else:
            await conversation_rows.set_last_status(conn, row["id"], previous)


@dataclass
class Conversations:
    """Conversation rows with their participants and last statuses, for one viewer."""

    rows: Sequence[RowView]
    accounts: dict[int, AccountRow]
    statuses: StatusBundle


async def _load(
    conn: Connection,
    rows: Sequence[RowView],
    viewer_id: int,
    cache: EntityCache | None = None,
) -> Conversations:
    wanted = {viewer_id}
    for row in rows:
        wanted.update(json.loads(row["participant_ids"]))
    accounts = {a["id"]: a for a in await follow_rows.accounts_by_ids(conn, sorted(wanted))}
    lasts = await status_rows.visible_statuses(conn, [r["last_status_id"] for r in rows], viewer_id)
    bundle = await status_rows.hydrate(conn, lasts, viewer_id, cache)
    return Conversations(rows, accounts, bundle)


async def page(rt: Runtime, viewer_id: int, cursor: Page) -> Conversations:
    """The caller's conversations, most recently active first."""

    async def unit(conn: Connection) -> Conversations:
        rows = await conversation_rows.page_of(conn, viewer_id, cursor)
        return await _load(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)


async def read(rt: Runtime, viewer_id: int, conversation_id: int) -> Conversations:
    """Mark one of the caller's conversations read."""

    async def unit(conn: Connection) -> Conversations:
        row = await conversation_rows.mark_read(conn, conversation_id, viewer_id)
        if row is None:
            raise ConversationNotFound()
        return await _load(conn, [row], viewer_id)

    return await rt.store.write(unit)


async def remove(rt: Runtime, viewer_id: int, conversation_id: int) -> None:
    """Take a conversation off the caller's list (the statuses stay)."""

    async def unit(conn: Connection) -> None:
        if not await conversation_rows.remove(conn, conversation_id, viewer_id):
            raise ConversationNotFound()

    await rt.store.write(unit)
