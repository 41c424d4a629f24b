"""Scheduled statuses: kept with what the client posted, published by a durable job.

`schedule` checks the draft as a post would be checked, reserves its uploads, and queues a
`scheduled.publish` job for the time, all in one unit. The job posts through
`statuses.post` (so a scheduled status is an ordinary one once out, its media attached
then), which deletes the scheduled row in the post's own unit: a status is published once
even if the job runs again. Limits as Mastodon: at least 5 minutes ahead, 300 pending per
account, 25 per day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..ids import now_ms
from ..jobs import JobKind, JobRegistry, RetryLater
from ..store import Connection, IntegrityError, RowView
from ..store import accounts as account_rows
from ..store import media as media_rows
from ..store import scheduled as scheduled_rows
from ..store import statuses as status_rows
from ..store.paging import Page
from ..store.rows import ScheduledStatusRow
from ..store.statuses import StatusBundle
from . import quotes, statuses
from .polls import PollDraft
from .refusals import InvalidStatus, StatusNotFound
from .statuses import Draft

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

MIN_OFFSET_MS = 5 * 60 * 1000
TOTAL_LIMIT = 300
DAILY_LIMIT = 25
DAY_MS = 24 * 3600 * 1000
MAX_AHEAD_MS = 10 * 365 * DAY_MS

PUBLISH = JobKind("scheduled.publish", max_attempts=10)


class ScheduledNotFound(LookupError):
    """No such scheduled status among the caller's."""


@dataclass
class ScheduledView:
    """A scheduled status and the uploads it will attach."""

    row: RowView
    media: Sequence[RowView]


# What Mastodon answers (422) when posting with a `scheduled_at` it cannot parse: its
# PostStatusService raises a bare `ActiveRecord::RecordInvalid`. Clients check the words.
UNPARSEABLE_ON_POST = "Record invalid"


def parse_time(
    text: str, *, unparseable: str = "Validation failed: Scheduled at is not a valid time"
) -> int:
    """An ISO 8601 time (a naive one is UTC) in milliseconds; `InvalidStatus(unparseable)`
    for anything else."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidStatus(unparseable) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _params(draft: Draft) -> dict[str, Any]:
    poll = None
    if draft.poll is not None:
        poll = {
            "options": draft.poll.options,
            "expires_in": draft.poll.expires_in,
            "multiple": draft.poll.multiple,
            "hide_totals": draft.poll.hide_totals,
        }
    return {
        "text": draft.text,
        "spoiler_text": draft.spoiler_text,
        "sensitive": draft.sensitive,
        "visibility": draft.visibility,
        "language": draft.language,
        "in_reply_to_id": draft.in_reply_to_id,
        "poll": poll,
        "quoted_status_id": draft.quoted_status_id,
        "quote_approval_policy": draft.quote_approval_policy,
    }


def _draft(params: dict[str, Any], media_ids: list[int]) -> Draft:
    poll = params.get("poll")
    return Draft(
        text=params["text"],
        spoiler_text=params["spoiler_text"],
        sensitive=params["sensitive"],
        visibility=params["visibility"],
        language=params["language"],
        in_reply_to_id=params["in_reply_to_id"],
        media_ids=[str(m) for m in media_ids],
        poll=PollDraft(**poll) if poll else None,
        quoted_status_id=params.get("quoted_status_id"),
        quote_approval_policy=params.get("quote_approval_policy"),
    )


def _check_time(at: int, now: int) -> None:
    if at < now + MIN_OFFSET_MS:
        raise InvalidStatus(
            "Validation failed: Scheduled at must be at least 5 minutes in the future"
        )
    if at > now + MAX_AHEAD_MS:
        raise InvalidStatus("Validation failed: Scheduled at is too far in the future")


async def _check_limits(
    conn: Connection, account_id: int, at: int, excluding: int | None = None
) -> None:
    if excluding is None and await scheduled_rows.pending_count(conn, account_id) >= TOTAL_LIMIT:
        raise InvalidStatus(
            f"Validation failed: You have exceeded the limit of {TOTAL_LIMIT} scheduled posts"
        )
    day = at - at % DAY_MS
    if await scheduled_rows.count_between(conn, account_id, day, day + DAY_MS, excluding) >= (
        DAILY_LIMIT
    ):
        raise InvalidStatus(
            f"Validation failed: You have exceeded the limit of {DAILY_LIMIT} "
            "scheduled posts for that day"
        )


async def _enqueue(conn: Connection, rt: Runtime, scheduled_id: int, at: int) -> None:
    # One job per (scheduled status, time): a reschedule queues another, and the stale
    # one sees the time changed and does nothing.
    await PUBLISH.enqueue(
        conn,
        rt.ids,
        {"scheduled_status_id": scheduled_id, "scheduled_at": at},
        delay=max(0.0, (at - now_ms()) / 1000),
        dedupe_key=f"scheduled.publish:{scheduled_id}:{at}",
    )


async def _view(conn: Connection, row: RowView) -> ScheduledView:
    ids = (await scheduled_rows.media_of(conn, [row["id"]])).get(row["id"], [])
    media = [m for m in [await media_rows.attachment(conn, i) for i in ids] if m is not None]
    return ScheduledView(row, media)


async def post_or_schedule(
    rt: Runtime,
    account_id: int,
    draft: Draft,
    *,
    application_id: int | None,
    idempotency_key: str | None = None,
) -> StatusBundle | ScheduledView:
    """`POST /api/v1/statuses` (and the web app's compose form): kept for later when
    `scheduled_at` is in the future, else posted at once (a time already past posts at
    once, as Mastodon does)."""
    if draft.scheduled_at:
        at = parse_time(draft.scheduled_at, unparseable=UNPARSEABLE_ON_POST)
        if at > now_ms():
            return await schedule(
                rt,
                account_id,
                draft,
                at,
                application_id=application_id,
                idempotency_key=idempotency_key,
            )
        draft.scheduled_at = None
    return await statuses.post(
        rt, account_id, draft, application_id=application_id, idempotency_key=idempotency_key
    )


async def schedule(
    rt: Runtime,
    account_id: int,
    draft: Draft,
    at: int,
    *,
    application_id: int | None,
    idempotency_key: str | None = None,
) -> ScheduledView:
    """Keep a post for later (`POST /api/v1/statuses` with a future `scheduled_at`); a
    repeat with the same Idempotency-Key within an hour returns the first."""
    statuses.validate(draft)
    _check_time(at, now_ms())
    media_ids = statuses.parse_media_ids(draft.media_ids)

    async def unit(conn: Connection) -> ScheduledView:
        if idempotency_key:
            done = await scheduled_rows.by_idempotency_key(conn, account_id, idempotency_key)
            if done is not None and done["created_at"] >= now_ms() - statuses.IDEMPOTENCY_MS:
                return await _view(conn, done)
            if done is not None:
                await scheduled_rows.forget_idempotency_key(conn, done["id"])
        await _check_limits(conn, account_id, at)
        if draft.in_reply_to_id is not None:
            parent = await status_rows.visible_status(conn, draft.in_reply_to_id, account_id)
            if parent is None or parent["reblog_of_id"] is not None:
                raise StatusNotFound(
                    "The post you are trying to reply to does not appear to exist."
                )
        if draft.quoted_status_id is not None:
            author = await account_rows.account_by_id(conn, account_id)
            assert author is not None
            await quotes.quotable(conn, draft.quoted_status_id, author)
        for media_id in media_ids:
            attachment = await media_rows.attachment(conn, media_id)
            if (
                attachment is None
                or attachment["account_id"] != account_id
                or attachment["status_id"] is not None
            ):
                raise InvalidStatus("Validation failed: Media attachment not found")
        if await scheduled_rows.reserved_elsewhere(conn, media_ids):
            raise InvalidStatus("Validation failed: Media attachment not found")
        scheduled_id = rt.ids.next_id()
        await scheduled_rows.insert(
            conn,
            {
                "id": scheduled_id,
                "account_id": account_id,
                "scheduled_at": at,
                "params": _params(draft),
                "application_id": application_id,
                "idempotency_key": idempotency_key,
                "created_at": now_ms(),
            },
            media_ids,
        )
        await _enqueue(conn, rt, scheduled_id, at)
        row = await scheduled_rows.by_id(conn, scheduled_id)
        assert row is not None
        return await _view(conn, row)

    try:
        return await rt.store.write(unit)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer with its row.
        return await rt.store.write(unit)


async def _own(conn: Connection, account_id: int, scheduled_id: int) -> ScheduledStatusRow:
    row = await scheduled_rows.by_id(conn, scheduled_id)
    if row is None or row["account_id"] != account_id:
        raise ScheduledNotFound()
    return row


async def page(rt: Runtime, account_id: int, page: Page) -> list[ScheduledView]:
    """`GET /api/v1/scheduled_statuses`."""

    async def unit(conn: Connection) -> list[ScheduledView]:
        return [await _view(conn, r) for r in await scheduled_rows.page_of(conn, account_id, page)]

    return await rt.store.read(unit)


async def show(rt: Runtime, account_id: int, scheduled_id: int) -> ScheduledView:
    """`GET /api/v1/scheduled_statuses/:id`."""

    async def unit(conn: Connection) -> ScheduledView:
        return await _view(conn, await _own(conn, account_id, scheduled_id))

    return await rt.store.read(unit)


async def reschedule(rt: Runtime, account_id: int, scheduled_id: int, at: int) -> ScheduledView:
    """`PUT /api/v1/scheduled_statuses/:id` (`scheduled_at`)."""
    _check_time(at, now_ms())

    async def unit(conn: Connection) -> ScheduledView:
        await _own(conn, account_id, scheduled_id)
        await _check_limits(conn, account_id, at, excluding=scheduled_id)
        await scheduled_rows.reschedule(conn, scheduled_id, at)
        await _enqueue(conn, rt, scheduled_id, at)
        return await _view(conn, await _own(conn, account_id, scheduled_id))

    return await rt.store.write(unit)


async def cancel(rt: Runtime, account_id: int, scheduled_id: int) -> None:
    """`DELETE /api/v1/scheduled_statuses/:id`."""

    async def unit(conn: Connection) -> None:
        await _own(conn, account_id, scheduled_id)
        await scheduled_rows.delete(conn, scheduled_id)

    await rt.store.write(unit)


async def publish(rt: Runtime, payload: dict[str, Any]) -> None:
    """The `scheduled.publish` job: post the status through the ordinary path."""
    scheduled_id = int(payload["scheduled_status_id"])

    async def load(conn: Connection) -> tuple[ScheduledStatusRow, list[int]] | None:
        row = await scheduled_rows.by_id(conn, scheduled_id)
        if row is None:
            return None
        return row, (await scheduled_rows.media_of(conn, [scheduled_id])).get(scheduled_id, [])

    found = await rt.store.read(load)
    if found is None:
        return  # published or cancelled
    row, media_ids = found
    if row["scheduled_at"] != payload.get("scheduled_at", row["scheduled_at"]):
        return  # rescheduled: the job for the new time publishes it
    wait = row["scheduled_at"] - now_ms()
    if wait > 0:
        raise RetryLater(wait / 1000 + 0.05, "not due yet")
    try:
        await statuses.post(
            rt,
            row["account_id"],
            _draft(row["params"], media_ids),
            application_id=row["application_id"],
            scheduled_status_id=scheduled_id,
        )
    except (InvalidStatus, StatusNotFound) as exc:
        # It can never be posted now (its reply target or media went away): drop it, as
        # Mastodon's worker does.
        if await rt.store.write(scheduled_rows.delete, scheduled_id):
            log.warning("scheduled status %d dropped: %s", scheduled_id, exc)


def register(registry: JobRegistry) -> None:
    """Bind the scheduled-status job kinds to their handlers."""
    registry.register(PUBLISH, publish)
