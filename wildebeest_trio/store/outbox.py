"""The outbox: domain events recorded in the transaction of the action they describe.

The federation layer reads pending rows in id order, turns each into activities and
marks it dispatched. Events so far (`object_id` and payload):

- `status.created` (status id; visibility), `status.updated` (status id),
  `status.deleted` (status id; uri, visibility): Create / Update / Delete of a Note;
- `reblog.created` (boost id; reblog_of_id, status_uri, visibility),
  `reblog.deleted` (boost id; uri, reblog_of_id): Announce / Undo Announce;
- `favourite.created`, `favourite.deleted` (status id; status_uri): Like / Undo Like;
- `pin.created`, `pin.deleted` (status id): the featured collection changed;
- `follow.created`, `follow.requested` (follow or request id; target_account_id),
  `follow.deleted` (id; target_account_id, uri): Follow / Undo Follow;
- `follow_request.authorized`, `follow_request.rejected` (request id; requester_id,
  uri): Accept / Reject. A user's domain block also records `follow_request.rejected`
  for each accepted follow from that domain it removes (`object_id` is the removed
  follow's id): a Reject of that Follow, as Mastodon sends.
- `report.created` (report id; report_id, target_account_uri, status_uris, comment): a
  report the reporter asked to forward to the remote account's server, as a Flag (sent
  by the instance actor, as Mastodon does, so the reporter stays anonymous).
- `block.created`, `block.deleted` (block id; target_account_id): Block / Undo Block;
- `account.updated` (account id): Update of the actor (profile changes);
- `account.moved` (the target account's id): Move of the followers;
- `poll.voted` (the poll's status id; poll_id, choices (option indices), status_uri): a
  vote was counted. By a local account in a remote poll: one Create of a Note named after
  each chosen option to its author. In a local poll, whoever voted (`account_id` is then
  the poll's author when the voter is remote): an Update of the Question with new tallies;
- `poll.ended` (status id; poll_id): a local poll closed: an Update of the Question.
- `quote.requested` (quote id): a local account quoted a remote post: a QuoteRequest to
  its author. `quote.authorized` (quote id; `account_id` is the quoted local author): an
  Accept of a remote account's QuoteRequest with the QuoteAuthorization stamp;
  `quote.rejected` (quote id or none; activity_uri, instrument, requester_id,
  quoted_uri): a Reject of it. `quote.revoked` (quote id): a local author took an approval
  back: a Delete of the stamp. `quote.updated` (the quoting status id): a local account's
  quote was approved: an Update of its Note, now naming the stamp.

- `collection.added`, `collection.updated`, `collection.removed`, `collection.item_added`,
  `collection.item_removed` (no object; activity): a collection change, its activity
  built when it was made, to the owner's followers; `collection.feature_requested` (no
  object; activity, to_account_id): a FeatureRequest to a remote featured account;
  `collection.feature_answered` (no object; activity, to_account_id): a local account's
  Accept or Reject of a remote FeatureRequest, to the collection's owner.

`account_id` is always the local actor. Bookmarks and conversation mutes are private
and record nothing.
"""

from __future__ import annotations

import json
from typing import Any

from ..ids import IdGenerator, now_ms
from .base import Connection, fetch_as, fetchval_as
from .effects import WORK_QUEUED
from .rows import OutboxRow


async def record(
    conn: Connection,
    ids: IdGenerator,
    event: str,
    account_id: int,
    object_id: int | None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append an event inside the caller's unit (so it commits with the change); its id."""
    event_id = ids.next_id()
    await conn.execute(
        "INSERT INTO outbox (id, event, account_id, object_id, payload, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        event_id,
        event,
        account_id,
        object_id,
        json.dumps(payload or {}, separators=(",", ":")),
        now_ms(),
    )
    conn.effects.add(WORK_QUEUED)
    return event_id


async def mark_dispatched(conn: Connection, event_ids: list[int], now: int) -> None:
    """Mark events as handed to federation."""
    await conn.executemany(
        "UPDATE outbox SET dispatched_at = $1 WHERE id = $2", [(now, i) for i in event_ids]
    )


_PENDING = "SELECT * FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1"


async def pending(conn: Connection, limit: int = 100) -> list[OutboxRow]:
    """Events not yet dispatched, oldest first."""
    return await fetch_as(conn, OutboxRow, _PENDING, limit)


async def claim_pending(conn: Connection, limit: int) -> list[OutboxRow]:
    """Pending events, oldest first, locked for this unit (other consumers skip them)."""
    sql = _PENDING + (" FOR UPDATE SKIP LOCKED" if conn.dialect == "postgres" else "")
    return await fetch_as(conn, OutboxRow, sql, limit)


async def latest_event_id(
    conn: Connection, event: str, account_id: int, object_id: int, before: int
) -> int | None:
    """The newest earlier event of a kind about the same object (the activity an Undo undoes)."""
    return await fetchval_as(
        conn,
        int,
        "SELECT max(id) FROM outbox WHERE event = $1 AND account_id = $2 AND object_id = $3 "
        "AND id < $4",
        event,
        account_id,
        object_id,
        before,
    )


async def purge_dispatched(conn: Connection, before: int) -> int:
    """Forget events dispatched before `before` (their deliveries are queued); how many."""
    return await conn.execute(
        "DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < $1", before
    )
