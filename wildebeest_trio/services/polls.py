"""Polls: created with a status, voted on, reset by edits, and ended by a durable job.

A poll is written in the unit of the status that carries it, local or remote (`create`
takes a `PollState`: a client's draft, or a remote Question's options and counts). A
local poll's end is a `poll.end` job queued in that same unit for the moment it expires,
so an ending is never lost to a restart. When the job runs it notifies the author (sender
and recipient at once, as Mastodon's NotifyService allows for polls) and every local
voter, and records `poll.ended` for federation when the poll is local.

A vote is counted by `cast`, whoever votes: through the API (`vote`) or as a remote Note
named after an option (the inbox). It records `poll.voted` for federation in the vote's
unit. A remote poll's counts follow its server's Updates (`refresh`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..drafts import PollState
from ..ids import now_ms
from ..jobs import JobKind, JobRegistry, RetryLater
from ..serializers.instance import POLL_LIMITS
from ..store import Connection, RowView, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import polls as poll_rows
from ..store import statuses as status_rows
from ..store.rows import PollRow
from . import fanout, notifications
from .refusals import InvalidStatus, NotAllowed, StatusNotFound

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

MAX_OPTIONS: int = POLL_LIMITS["max_options"]
MAX_OPTION_CHARS: int = POLL_LIMITS["max_characters_per_option"]
MIN_EXPIRATION: int = POLL_LIMITS["min_expiration"]
MAX_EXPIRATION: int = POLL_LIMITS["max_expiration"]

POLL_END = JobKind("poll.end", max_attempts=10)


@dataclass
class PollDraft:
    """The `poll` of a status a client posts or edits."""

    options: list[str]
    expires_in: int | None
    multiple: bool = False
    hide_totals: bool = False


@dataclass
class PollView:
    """A poll and the viewer's votes in it (None for an anonymous viewer)."""

    poll: RowView
    viewer_id: int | None
    own_votes: list[int] | None


def clean_options(draft: PollDraft) -> list[str]:
    """The options as Mastodon keeps them: stripped, blank ones dropped."""
    return [o.strip() for o in draft.options if o.strip()]


def validate(draft: PollDraft) -> None:
    """Refuse what Mastodon's PollValidator refuses, with its messages."""
    options = clean_options(draft)
    if len(options) < 2:
        raise InvalidStatus("Validation failed: Poll options must have more than one item")
    if len(options) > MAX_OPTIONS:
        raise InvalidStatus(
            f"Validation failed: Poll options can't contain more than {MAX_OPTIONS} items"
        )
    if any(len(o) > MAX_OPTION_CHARS for o in options):
        raise InvalidStatus(
            "Validation failed: Poll options cannot be longer than "
            f"{MAX_OPTION_CHARS} characters each"
        )
    if len(set(options)) != len(options):
        raise InvalidStatus("Validation failed: Poll options contain duplicate items")
    if draft.expires_in is None or draft.expires_in > MAX_EXPIRATION:
        raise InvalidStatus("Validation failed: Poll expires at is too far into the future")
    if draft.expires_in < MIN_EXPIRATION:
        raise InvalidStatus("Validation failed: Poll expires at is too soon")


async def _schedule_end(conn: Connection, rt: Runtime, poll_id: int, expires_at: int) -> None:
    # One job per (poll, end time): an edit that moves the end queues another, and the
    # stale one finds the poll not due (or already ended) and does nothing.
    await POLL_END.enqueue(
        conn,
        rt.ids,
        {"poll_id": poll_id},
        delay=max(0.0, (expires_at - now_ms()) / 1000),
        dedupe_key=f"poll.end:{poll_id}:{expires_at}",
    )


def state_of(draft: PollDraft, now: int) -> PollState:
    """The poll a client's (validated) draft asks for, ending `expires_in` from now."""
    assert draft.expires_in is not None
    return PollState(
        options=clean_options(draft),
        multiple=draft.multiple,
        expires_at=now + draft.expires_in * 1000,
        hide_totals=draft.hide_totals,
    )


async def create(
    conn: Connection,
    rt: Runtime,
    *,
    status_id: int,
    account_id: int,
    poll: PollState,
    local: bool,
    now: int,
) -> int:
    """Attach a new poll to a status being written (in its unit); its id. A local poll's
    end is queued as a job; a remote one ends when its server says (or by `end_overdue`)."""
    poll_id = rt.ids.next_id()
    tallies = list(poll.tallies or [0] * len(poll.options))
    await poll_rows.insert_poll(
        conn,
        {
            "id": poll_id,
            "account_id": account_id,
            "status_id": status_id,
            "options": poll.options,
            "cached_tallies": tallies,
            "multiple": poll.multiple,
            "hide_totals": poll.hide_totals,
            "votes_count": sum(tallies),
            "voters_count": poll.voters_count,
            "expires_at": poll.expires_at,
            "created_at": now,
        },
    )
    await status_rows.set_poll(conn, status_id, poll_id)
    if local and poll.expires_at is not None:
        await _schedule_end(conn, rt, poll_id, poll.expires_at)
    return poll_id


async def apply_edit(
    conn: Connection, rt: Runtime, status: RowView, draft: PollDraft | None, now: int
) -> bool:
    """Make a status's poll what an edit asks (in the edit's unit): create, change or
    remove it. Votes are dropped when the options or `multiple` change, as Mastodon's
    UpdateStatusService does. Whether anything changed."""
    current = await poll_rows.poll_of_status(conn, status["id"])
    if draft is None:
        if current is None:
            return False
        await poll_rows.delete_poll(conn, current["id"])
        await status_rows.set_poll(conn, status["id"], None)
        return True
    wanted = state_of(draft, now)
    if current is None:
        await create(
            conn,
            rt,
            status_id=status["id"],
            account_id=status["account_id"],
            poll=wanted,
            local=True,
            now=now,
        )
        return True
    assert wanted.expires_at is not None
    reset = wanted.options != current["options"] or wanted.multiple != current["multiple"]
    await poll_rows.update_poll(
        conn,
        current["id"],
        options=wanted.options,
        multiple=wanted.multiple,
        hide_totals=wanted.hide_totals,
        expires_at=wanted.expires_at,
        reset_votes=reset,
        now=now,
    )
    await _schedule_end(conn, rt, current["id"], wanted.expires_at)
    return True


async def refresh(conn: Connection, status: RowView, fresh: PollState, now: int) -> bool:
    """Take a remote poll's counts (and options, if they changed) as its server now
    reports them, in the unit of the Update that brought them; whether it changed (those
    who see the status live then get it again)."""
    poll = await poll_rows.poll_of_status(conn, status["id"])
    if poll is None or status["local"]:
        return False
    tallies = list(fresh.tallies or [0] * len(fresh.options))
    if fresh.options != poll["options"] or fresh.multiple != bool(poll["multiple"]):
        await poll_rows.update_poll(
            conn,
            poll["id"],
            options=fresh.options,
            multiple=fresh.multiple,
            hide_totals=False,
            expires_at=fresh.expires_at,
            reset_votes=True,
            now=now,
        )
    elif tallies == poll["cached_tallies"] and fresh.voters_count == poll["voters_count"]:
        return False
    await poll_rows.set_tallies(conn, poll["id"], tallies, sum(tallies), fresh.voters_count, now)
    conn.effects.add(fanout.StatusPublished(status["id"], "status.update"))
    return True


def is_expired(poll: RowView, now: int | None = None) -> bool:
    """Whether voting has closed."""
    return poll["expires_at"] is not None and poll["expires_at"] <= (now or now_ms())


async def _visible_poll(conn: Connection, poll_id: int, viewer_id: int | None) -> PollRow:
    """A poll whose status the viewer may see (404 otherwise, as for the status)."""
    poll = await poll_rows.poll_by_id(conn, poll_id, for_update=viewer_id is not None)
    if poll is None:
        raise StatusNotFound()
    status = await status_rows.visible_status(conn, poll["status_id"], viewer_id)
    if status is None or status["poll_id"] != poll_id:
        raise StatusNotFound()
    return poll


async def show(rt: Runtime, poll_id: int, viewer_id: int | None) -> PollView:
    """`GET /api/v1/polls/:id`."""

    async def unit(conn: Connection) -> PollView:
        poll = await poll_rows.poll_by_id(conn, poll_id)
        if poll is None:
            raise StatusNotFound()
        status = await status_rows.visible_status(conn, poll["status_id"], viewer_id)
        if status is None or status["poll_id"] != poll_id:
            raise StatusNotFound()
        votes = None
        if viewer_id is not None:
            votes = (await poll_rows.own_votes(conn, viewer_id, [poll_id])).get(poll_id, [])
        return PollView(poll, viewer_id, votes)

    return await rt.store.read(unit)


async def cast(
    conn: Connection, rt: Runtime, poll: RowView, voter: RowView, choices: list[int], now: int
) -> None:
    """Count a vote, local or remote, in a poll whose row the caller has locked: the vote
    rows, the cached tallies (which for a remote poll also hold its server's counts) and
    the voters; InvalidStatus for what Mastodon's VoteValidator refuses (an ended poll, no
    such option, a choice already made, a second vote in a single-choice poll).

    What federates: a local voter's choices go to a remote poll's server; a local poll's
    new tallies go to those who saw it as an Update of the Question, signed by its author,
    whoever voted (Mastodon's DistributePollUpdateWorker).
    """
    if is_expired(poll, now):
        raise InvalidStatus("Validation failed: The poll has already ended")
    if any(c < 0 or c >= len(poll["options"]) for c in choices):
        raise InvalidStatus("Validation failed: The chosen vote option does not exist")
    earlier = (await poll_rows.own_votes(conn, voter["id"], [poll["id"]])).get(poll["id"], [])
    if (
        len(set(choices)) != len(choices)
        or set(choices) & set(earlier)
        or (not poll["multiple"] and len(earlier) + len(choices) > 1)
    ):
        raise InvalidStatus("Validation failed: You have already voted on this poll")
    await poll_rows.insert_votes(
        conn, poll["id"], voter["id"], [(rt.ids.next_id(), c) for c in choices], now
    )
    tallies = list(poll["cached_tallies"]) + [0] * (
        len(poll["options"]) - len(poll["cached_tallies"])
    )
    for choice in choices:
        tallies[choice] += 1
    voters = poll["voters_count"]
    if voters is not None and not earlier:
        voters += 1
    await poll_rows.set_tallies(
        conn, poll["id"], tallies, int(poll["votes_count"]) + len(choices), voters, now
    )
    status = await status_rows.status_by_id(conn, poll["status_id"])
    assert status is not None
    if voter["domain"] is None or status["local"]:
        await outbox.record(
            conn,
            rt.ids,
            "poll.voted",
            voter["id"] if voter["domain"] is None else poll["account_id"],
            status["id"],
            {"poll_id": poll["id"], "choices": choices, "status_uri": status["uri"]},
        )


async def vote(rt: Runtime, account_id: int, poll_id: int, choices: list[int]) -> PollView:
    """`POST /api/v1/polls/:id/votes`: vote once, with Mastodon's refusals."""
    if not choices:
        raise InvalidStatus("Validation failed: Choices can't be blank")

    async def unit(conn: Connection) -> PollView:
        poll = await _visible_poll(conn, poll_id, account_id)
        now = now_ms()
        if is_expired(poll, now):
            raise InvalidStatus("Validation failed: The poll has already ended")
        if any(c < 0 or c >= len(poll["options"]) for c in choices):
            raise InvalidStatus("Validation failed: The chosen vote option does not exist")
        if poll["account_id"] == account_id:
            raise InvalidStatus("Validation failed: You cannot vote in your own polls")
        if await follow_rows.blocked_either_way(conn, account_id, poll["account_id"]):
            raise NotAllowed()  # Mastodon's PollPolicy#vote?
        if (await poll_rows.own_votes(conn, account_id, [poll_id])).get(poll_id):
            # Stricter than the validator `cast` applies: a client votes all at once.
            raise InvalidStatus("Validation failed: You have already voted on this poll")
        voter = await account_rows.account_by_id(conn, account_id)
        assert voter is not None
        await cast(conn, rt, poll, voter, choices, now)
        fresh = await poll_rows.poll_by_id(conn, poll_id)
        assert fresh is not None
        return PollView(fresh, account_id, sorted(choices))

    view = await rt.store.write(unit)
    return view


async def end_poll(rt: Runtime, payload: dict[str, Any]) -> None:
    """The `poll.end` job: once a poll is over, notify its author and local voters."""
    poll_id = int(payload["poll_id"])
    notifier = notifications.Notifier(rt)

    async def unit(conn: Connection) -> float | None:
        poll = await poll_rows.poll_by_id(conn, poll_id)
        if poll is None or poll["expires_at"] is None or poll["ended_at"] is not None:
            return None
        now = now_ms()
        if poll["expires_at"] > now:
            return (poll["expires_at"] - now) / 1000  # woken early (clock skew): wait
        if not await poll_rows.mark_ended(conn, poll_id, now):
            return None
        status = await status_rows.status_by_id(conn, poll["status_id"])
        author = await account_rows.account_by_id(conn, poll["account_id"])
        if status is None or author is None:
            return None  # deleted meanwhile: nobody to tell
        recipients = await poll_rows.local_voter_ids(conn, poll_id)
        if author["domain"] is None:
            recipients.insert(0, author["id"])
            await outbox.record(
                conn, rt.ids, "poll.ended", author["id"], status["id"], {"poll_id": poll_id}
            )
        for recipient in recipients:
            await notifier.notify(
                conn,
                account_id=recipient,
                type="poll",
                from_account_id=author["id"],
                status_id=status["id"],
            )
        return None

    wait = await rt.store.write(unit)
    if wait is not None:
        raise RetryLater(wait + 0.05, "poll not over yet")


OVERDUE_GRACE_MS = 10 * 60 * 1000


async def end_overdue(rt: Runtime, *, now: int | None = None) -> int:
    """End the polls past their end by more than a grace period whose end was never
    handled (their job parked or lost); how many."""
    cutoff = (now_ms() if now is None else now) - OVERDUE_GRACE_MS
    poll_ids = await rt.store.read(poll_rows.ended_unhandled, cutoff, 100)
    for poll_id in poll_ids:
        await end_poll(rt, {"poll_id": poll_id})
    return len(poll_ids)


def register(registry: JobRegistry) -> None:
    """Bind the poll job kinds to their handlers."""
    registry.register(POLL_END, end_poll)
