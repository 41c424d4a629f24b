"""Notifications: telling a local account that something happened to it.

`notify` runs inside the unit of work of the action that caused it (a local favourite,
an inbound Like), so the notification commits with the action or not at all. As
Mastodon's NotifyService, nothing is written when the recipient is remote, when the
sender is the recipient (except for `poll`, whose sender is the poll's author), when
the recipient blocks the sender or mutes them with notifications hidden, when the
recipient muted the conversation, or when their notification policy drops it. A policy
may instead *filter* it: stored with `filtered`, kept out of the lists, and (for
mentions) gathered into a notification request per sender.

Groups for `/api/v2/notifications` follow Mastodon 4.3: favourites and boosts of one
status, follows, and sign-ups share a group while they keep arriving within 12 hours of
the group's first hour; every other notification, and every filtered one, is a group of
its own.

Actions create notifications through a `Notifier` inside their unit of work: it records
each one, serializes it, queues its Web Push jobs and records the stream event, all of
which happen only if the unit commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ids import IdGenerator, now_ms
from ..serializers.notifications import NOTIFICATION_TYPES, STATUS_TYPES, notification_entity
from ..store import Connection, RowView, account_domain_blocks
from ..store import accounts as account_rows
from ..store import domain_blocks as block_rows
from ..store import follows as follow_rows
from ..store import markers as marker_rows
from ..store import moderators as moderator_rows
from ..store import notifications as notification_rows
from ..store import quotes as quote_rows
from ..store import reports as report_rows
from ..store import statuses as status_rows
from ..store.effects import Effect
from ..store.entities import EntityCache
from ..store.notifications import POLICY_FIELDS, Browse
from ..store.paging import Page
from ..store.rows import AccountRow, NotificationRow, ReportRow
from ..store.statuses import StatusBundle
from ..streaming.relay import StreamEvent
from . import filters, web_push

if TYPE_CHECKING:
    from ..config import Config
    from ..runtime import Runtime

TYPES = NOTIFICATION_TYPES
GROUPABLE = frozenset({"favourite", "reblog", "follow", "admin.sign_up"})
GROUP_SPAN_HOURS = 12
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS

# Mastodon's Notification::PROPERTIES `filterable`: only these may be filtered or dropped
# by the policy.
FILTERABLE = frozenset({"mention", "reblog", "follow", "follow_request", "favourite", "quote"})
POLICY_VALUES = ("accept", "filter", "drop")
DEFAULT_POLICY: dict[str, str] = {
    "for_not_following": "accept",
    "for_not_followers": "accept",
    "for_new_accounts": "accept",
    "for_private_mentions": "filter",
    "for_limited_accounts": "filter",
}
NEW_ACCOUNT_MS = 30 * DAY_MS
NEW_FOLLOWER_MS = 3 * DAY_MS


@dataclass(frozen=True)
class NotificationMade(Effect):
    """A notification was written (not filtered): once committed, whatever follows one
    (its e-mail) is queued by the handler bound in `assembly`."""

    notification_id: int
    type: str


class NotificationNotFound(LookupError):
    """No such notification, group or request of the caller's."""


class InvalidPolicy(ValueError):
    """A policy value outside accept/filter/drop."""


# Creating --------------------------------------------------------------------------------


async def notify(
    conn: Connection,
    ids: IdGenerator,
    *,
    account_id: int,
    type: str,
    from_account_id: int,
    status_id: int | None = None,
    report_id: int | None = None,
) -> int | None:
    """Record a notification for a local account, unless it must not be sent; its id."""
    made = await _record(
        conn,
        ids,
        account_id=account_id,
        type=type,
        from_account_id=from_account_id,
        status_id=status_id,
        report_id=report_id,
    )
    return None if made is None else made[0]


async def _record(
    conn: Connection,
    ids: IdGenerator,
    *,
    account_id: int,
    type: str,
    from_account_id: int,
    status_id: int | None,
    report_id: int | None,
) -> tuple[int, bool] | None:
    """`notify`, also telling whether the notification was filtered."""
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    if from_account_id == account_id and type != "poll":
        return None
    recipient = await account_rows.account_by_id(conn, account_id)
    if recipient is None or recipient["domain"] is not None:
        return None
    now = now_ms()
    if await notification_rows.silenced_by(conn, account_id, from_account_id, now):
        return None
    if await account_domain_blocks.blocks_account(conn, account_id, from_account_id):
        return None  # the recipient blocks the sender's whole domain
    if status_id is not None and await notification_rows.conversation_muted(
        conn, account_id, status_id
    ):
        return None
    verdict = await _verdict(conn, account_id, type, from_account_id, status_id, now)
    if verdict == "drop":
        return None
    filtered = verdict == "filter"
    notification_id = ids.next_id()
    if filtered:
        group_key = f"ungrouped-{notification_id}"  # filtered ones are never grouped
    else:
        group_key = await _group_key(conn, account_id, type, status_id, notification_id, now)
    await notification_rows.insert(
        conn,
        notification_id=notification_id,
        account_id=account_id,
        from_account_id=from_account_id,
        type=type,
        status_id=status_id,
        report_id=report_id,
        group_key=group_key,
        created_at=now,
        filtered=filtered,
    )
    if filtered and type == "mention":
        await notification_rows.upsert_request(
            conn, ids.next_id(), account_id, from_account_id, status_id, now
        )
    if not filtered:
        conn.effects.add(NotificationMade(notification_id, type))
    return notification_id, filtered


async def _verdict(
    conn: Connection,
    account_id: int,
    type: str,
    sender_id: int,
    status_id: int | None,
    now: int,
) -> str:
    """accept, filter or drop, by the recipient's policy (Mastodon's Drop- and
    FilterCondition)."""
    if type not in FILTERABLE:
        return "accept"
    facts = await notification_rows.sender_facts(conn, account_id, sender_id)
    if facts["permitted"]:
        return "accept"
    stored = await notification_rows.policy(conn, account_id)
    policy = dict(stored) if stored is not None else DEFAULT_POLICY
    if all(policy[f] == "accept" for f in POLICY_FIELDS):
        return "accept"
    not_following = facts["following"] is None
    since = facts["follower_since"]
    not_follower = since is None or since > now - NEW_FOLLOWER_MS

    async def limited() -> bool:
        if not not_following:
            return False
        if facts["silenced_at"] is not None:
            return True
        block = await block_rows.block_for(conn, facts["domain"])
        return block is not None and block["severity"] == "silence"

    async def private_mention() -> bool:
        if not not_following or type != "mention" or status_id is None:
            return False
        status = await status_rows.status_by_id(conn, status_id)
        if status is None or status["visibility"] != "direct":
            return False
        return not await notification_rows.direct_mention_upthread(
            conn, status_id, account_id, sender_id
        )

    async def holds(name: str) -> bool:
        if name == "for_not_following":
            return not_following
        if name == "for_not_followers":
            return not_follower
        if name == "for_new_accounts":
            return not_following and facts["created_at"] > now - NEW_ACCOUNT_MS
        if name == "for_private_mentions":
            return await private_mention()
        return await limited()

    for verdict in ("drop", "filter"):
        for name in ("for_limited_accounts", *POLICY_FIELDS[:4]):
            if policy[name] == verdict and await holds(name):
                return verdict
    return "accept"


async def _group_key(
    conn: Connection,
    account_id: int,
    type: str,
    status_id: int | None,
    notification_id: int,
    now: int,
) -> str:
    if type not in GROUPABLE:
        return f"ungrouped-{notification_id}"
    prefix = f"{type}-{status_id}" if type in ("favourite", "reblog") else type
    bucket = now // HOUR_MS
    previous = await notification_rows.latest_group_key(conn, account_id, prefix)
    if previous is not None:
        previous_bucket = int(previous.rsplit("-", 1)[1])
        # Keep adding to the open group while it spans less than GROUP_SPAN_HOURS.
        if bucket < previous_bucket + GROUP_SPAN_HOURS:
            bucket = previous_bucket
    return f"{prefix}-{bucket}"


async def withdraw(
    conn: Connection,
    *,
    account_id: int,
    from_account_id: int,
    type: str,
    status_id: int | None = None,
) -> int:
    """Delete what an undone action caused (inside its unit); how many went."""
    gone = await notification_rows.withdraw(conn, account_id, from_account_id, type, status_id)
    if gone:
        await notification_rows.reconsider_request(conn, account_id, from_account_id)
    return len(gone)


@dataclass
class Notifier:
    """Makes notifications inside units of work, and has them streamed once committed.

    `notify` records one; unless it was filtered it serializes it for its recipient,
    queues its Web Push jobs and records a `StreamEvent` for the recipient's
    notification stream, so a unit that rolls back streams and pushes nothing.
    """

    rt: Runtime

    async def notify(
        self,
        conn: Connection,
        *,
        account_id: int,
        type: str,
        from_account_id: int,
        status_id: int | None = None,
        report_id: int | None = None,
    ) -> int | None:
        """`notify` inside the unit, then serialize, queue the pushes and stream it."""
        made = await _record(
            conn,
            self.rt.ids,
            account_id=account_id,
            type=type,
            from_account_id=from_account_id,
            status_id=status_id,
            report_id=report_id,
        )
        if made is None:
            return None
        notification_id, filtered = made
        if filtered:
            return notification_id  # waits in requests: no stream, no push (as Mastodon)
        row = await notification_rows.by_id(conn, notification_id)
        assert row is not None
        entity = await entity_for(conn, self.rt.config, row)
        if entity is None:
            return notification_id  # about a status the recipient's filters hide
        await web_push.queue_push(conn, self.rt.ids, account_id=account_id, notification=entity)
        conn.effects.add(
            StreamEvent.to(
                f"timeline:{account_id}:notifications", "notification", json.dumps(entity)
            )
        )
        return notification_id


# What actions call (inside their units) -------------------------------------------------


async def _about(
    conn: Connection, notifier: Notifier, type: str, status: RowView, recipients: list[int]
) -> None:
    """`type` about a status, from its author, to each of `recipients`."""
    for account_id in recipients:
        await notifier.notify(
            conn,
            account_id=account_id,
            type=type,
            from_account_id=status["account_id"],
            status_id=status["id"],
        )


async def status_posted(
    conn: Connection, notifier: Notifier, status: RowView, mentioned: list[int]
) -> None:
    """A new status, local or remote: `mention` to each local account it tags (silent
    mentions are not told), `status` to followers who asked for it (not for boosts,
    direct statuses, or replies to others); both, to a follower it mentions, as Mastodon."""
    if status["reblog_of_id"] is not None:
        return
    author = status["account_id"]
    await _about(conn, notifier, "mention", status, mentioned)
    reply_to_other = status["in_reply_to_account_id"] not in (None, author)
    if status["visibility"] == "direct" or reply_to_other:
        return
    await _about(
        conn, notifier, "status", status, await notification_rows.notify_followers(conn, author)
    )


async def status_edited(
    conn: Connection, notifier: Notifier, status: RowView, newly_mentioned: list[int]
) -> None:
    """An edited status: `update` to the local accounts that boosted it and `quoted_update`
    to those who quoted it (each replacing the one an earlier edit left, as Mastodon's
    LocalNotificationWorker), and `mention` to the accounts the edit tags for the first
    time."""
    boosters = await notification_rows.local_boosters(conn, status["id"])
    await _replacing(conn, notifier, "update", status, boosters)
    await _about(conn, notifier, "mention", status, newly_mentioned)
    # Those whose approved quotes show it hear of the edit too (Mastodon 4.5).
    quoters = await quote_rows.accepted_local_quoters(conn, status["id"])
    await _replacing(conn, notifier, "quoted_update", status, quoters)


async def _replacing(
    conn: Connection, notifier: Notifier, type: str, status: RowView, recipients: list[int]
) -> None:
    """`type` about a status to each of `recipients`, in place of the one they had."""
    for account_id in recipients:
        await withdraw(
            conn,
            account_id=account_id,
            from_account_id=status["account_id"],
            type=type,
            status_id=status["id"],
        )
    await _about(conn, notifier, type, status, recipients)


async def status_removed(conn: Connection, status_id: int) -> None:
    """A deleted status: every notification about it goes (Mastodon destroys them with
    it), and requests left without a filtered notification with them."""
    for gone in await notification_rows.delete_about_status(conn, status_id):
        if gone["filtered"]:
            await notification_rows.reconsider_request(
                conn, gone["account_id"], gone["from_account_id"]
            )


async def favourited(
    conn: Connection, notifier: Notifier, account_id: int, status: RowView, on: bool
) -> None:
    """A favourite (or its undoing) of `status` by `account_id`."""
    if on:
        await notifier.notify(
            conn,
            account_id=status["account_id"],
            type="favourite",
            from_account_id=account_id,
            status_id=status["id"],
        )
    else:
        await withdraw(
            conn,
            account_id=status["account_id"],
            from_account_id=account_id,
            type="favourite",
            status_id=status["id"],
        )


async def reblogged(conn: Connection, notifier: Notifier, account_id: int, status: RowView) -> None:
    """A boost of `status` (the boosted one) by `account_id`."""
    await notifier.notify(
        conn,
        account_id=status["account_id"],
        type="reblog",
        from_account_id=account_id,
        status_id=status["id"],
    )


async def quoted(
    conn: Connection, notifier: Notifier, status: RowView, quoted_status: RowView
) -> None:
    """`quote` to the quoted post's author: `status` quotes it with their approval."""
    await notifier.notify(
        conn,
        account_id=quoted_status["account_id"],
        type="quote",
        from_account_id=status["account_id"],
        status_id=status["id"],
    )


async def boost_removed(conn: Connection, boost: RowView) -> None:
    """A boost was deleted (unreblog, or a DELETE of the boost): its `reblog` goes."""
    original = await status_rows.status_by_id(conn, boost["reblog_of_id"])
    if original is not None:
        await withdraw(
            conn,
            account_id=original["account_id"],
            from_account_id=boost["account_id"],
            type="reblog",
            status_id=boost["reblog_of_id"],
        )


async def followed(
    conn: Connection, notifier: Notifier, account_id: int, target_id: int, *, requested: bool
) -> None:
    """`follow` (or `follow_request` for a locked account) to the target."""
    await notifier.notify(
        conn,
        account_id=target_id,
        type="follow_request" if requested else "follow",
        from_account_id=account_id,
    )


async def unfollowed(conn: Connection, account_id: int, target_id: int) -> None:
    """An unfollow (or a withdrawn request): the follow and follow_request ones go."""
    for type in ("follow", "follow_request"):
        await withdraw(conn, account_id=target_id, from_account_id=account_id, type=type)


async def request_answered(conn: Connection, account_id: int, requester_id: int) -> None:
    """The caller authorized or rejected a request: its `follow_request` goes."""
    await withdraw(conn, account_id=account_id, from_account_id=requester_id, type="follow_request")


async def blocked(conn: Connection, account_id: int, target_id: int) -> None:
    """A block clears what the blocked account caused (Mastodon's AfterBlockService)."""
    await notification_rows.delete_from(conn, account_id, target_id)
    await notification_rows.delete_request(conn, account_id, target_id)


async def signed_up(conn: Connection, notifier: Notifier, account_id: int) -> None:
    """`admin.sign_up` to every admin and moderator."""
    for staff_id in await moderator_rows.staff_account_ids(conn):
        await notifier.notify(
            conn, account_id=staff_id, type="admin.sign_up", from_account_id=account_id
        )


# Reading -----------------------------------------------------------------------------------


@dataclass
class Listing:
    """Notifications and what their entities refer to, as their recipient sees them."""

    rows: Sequence[RowView]
    accounts: dict[int, AccountRow]
    bundle: StatusBundle
    reports: dict[int, ReportRow]
    # Statuses the recipient's `hide` filters remove from notifications.
    hidden: set[int] = field(default_factory=set)

    def shown(self, row: RowView) -> bool:
        """Whether a notification is listed (not about a status a filter hides)."""
        return row["status_id"] not in self.hidden or row["type"] not in STATUS_TYPES

    def entities(self, config: Config) -> list[dict[str, Any]]:
        return [
            notification_entity(config, r, self.accounts, self.bundle, self.reports)
            for r in self.rows
            if self.shown(r)
        ]


async def _accounts(conn: Connection, ids: set[int]) -> dict[int, AccountRow]:
    if not ids:
        return {}
    return {r["id"]: r for r in await follow_rows.accounts_by_ids(conn, list(ids))}


async def _load(
    conn: Connection,
    account_id: int,
    rows: Sequence[RowView],
    cache: EntityCache | None = None,
) -> Listing:
    """Accounts, statuses (hydrated for the recipient; `cache` in read units only) and
    reports of notifications."""
    status_ids = list(
        {r["status_id"] for r in rows if r["status_id"] is not None and r["type"] in STATUS_TYPES}
    )
    statuses = await status_rows.visible_statuses(conn, status_ids, account_id)
    bundle = await status_rows.hydrate(conn, statuses, account_id, cache)
    report_ids = list({r["report_id"] for r in rows if r["report_id"] is not None})
    reports: dict[int, ReportRow] = {}
    if report_ids:
        reports = {r["id"]: r for r in await report_rows.by_ids(conn, report_ids)}
    wanted = {r["from_account_id"] for r in rows}
    wanted |= {r["target_account_id"] for r in reports.values()}
    hidden = filters.hidden_ids(bundle, "notifications")
    return Listing(rows, await _accounts(conn, wanted), bundle, reports, hidden)


async def entity_for(conn: Connection, config: Config, row: RowView) -> dict[str, Any] | None:
    """A notification's entity as its recipient sees it; None when their filters hide it."""
    shown = (await _load(conn, row["account_id"], [row])).entities(config)
    return shown[0] if shown else None


async def page(rt: Runtime, account_id: int, browse: Browse, page: Page) -> Listing:
    """`GET /api/v1/notifications`: one page, newest first."""

    async def unit(conn: Connection) -> Listing:
        rows = await notification_rows.page(conn, account_id, browse, page)
        return await _load(conn, account_id, rows, rt.entities)

    return await rt.store.read(unit)


async def show(rt: Runtime, account_id: int, notification_id: int) -> Listing:
    """One of the caller's notifications."""

    async def unit(conn: Connection) -> Listing:
        row = await notification_rows.visible_one(conn, account_id, notification_id)
        if row is None:
            raise NotificationNotFound()
        return await _load(conn, account_id, [row], rt.entities)

    return await rt.store.read(unit)


async def dismiss(rt: Runtime, account_id: int, notification_id: int) -> None:
    """Delete one of the caller's notifications."""

    async def unit(conn: Connection) -> None:
        gone = await notification_rows.dismiss(conn, account_id, notification_id)
        if gone is None:
            raise NotificationNotFound()
        if gone["filtered"]:
            await notification_rows.reconsider_request(conn, account_id, gone["from_account_id"])

    await rt.store.write(unit)


async def clear(rt: Runtime, account_id: int) -> None:
    """Delete all of the caller's notifications."""
    await rt.store.write(notification_rows.clear, account_id)


async def unread_count(
    rt: Runtime, account_id: int, browse: Browse, limit: int, *, grouped: bool
) -> int:
    """Notifications (or groups) after the caller's `notifications` marker, up to `limit`."""
    return await rt.store.read(count_unread, account_id, browse, limit, grouped)


async def count_unread(
    conn: Connection, account_id: int, browse: Browse, limit: int, grouped: bool
) -> int:
    """`unread_count`'s read, for a unit that reads more beside it (a web page's)."""
    markers = await marker_rows.markers_of(conn, account_id)
    after = next((m["last_read_id"] for m in markers if m["timeline"] == "notifications"), None)
    if grouped:
        return await notification_rows.count_groups_after(conn, account_id, browse, after, limit)
    return await notification_rows.count_after(conn, account_id, browse, after, limit)


# Groups (v2) -------------------------------------------------------------------------------


@dataclass
class Group:
    """One notification group: its representative notification and its figures."""

    row: RowView
    key: str
    count: int
    most_recent_id: int
    sample_ids: list[int]
    page: tuple[int, int, int] | None


@dataclass
class Grouped:
    """A page of groups and what they refer to."""

    groups: list[Group]
    listing: Listing


async def _groups(
    conn: Connection,
    account_id: int,
    rows: Sequence[RowView],
    browse: Browse,
    span: tuple[int | None, int | None] | None,
) -> Grouped:
    grouped_types = set(browse.grouped_types)
    base = Browse(include_filtered=browse.include_filtered)
    groups: list[Group] = []
    for row in rows:
        key = row["group_key"]
        if row["type"] in grouped_types and not key.startswith("ungrouped-"):
            low, high = span if span is not None else (None, None)
            stats, samples = await notification_rows.group_data(
                conn, account_id, key, base, low, high
            )
            most_recent = int(stats["max_id"] or row["id"])
            latest_at = samples[0]["created_at"] if samples else row["created_at"]
            groups.append(
                Group(
                    row=row,
                    key=key,
                    count=int(stats["count"]) or 1,
                    most_recent_id=most_recent,
                    sample_ids=list(dict.fromkeys(s["from_account_id"] for s in samples))
                    or [row["from_account_id"]],
                    page=(int(stats["min_id"] or row["id"]), most_recent, latest_at)
                    if span is not None
                    else None,
                )
            )
        else:
            groups.append(
                Group(
                    row=row,
                    key=f"ungrouped-{row['id']}",
                    count=1,
                    most_recent_id=row["id"],
                    sample_ids=[row["from_account_id"]],
                    page=(row["id"], row["id"], row["created_at"]) if span is not None else None,
                )
            )
    listing = await _load(conn, account_id, rows)
    extra = {i for g in groups for i in g.sample_ids}
    extra |= {r["account_id"] for r in listing.bundle.statuses.values()}
    extra -= set(listing.accounts)
    listing.accounts.update(await _accounts(conn, extra))
    return Grouped(groups, listing)


async def grouped_page(rt: Runtime, account_id: int, browse: Browse, page: Page) -> Grouped:
    """`GET /api/v2/notifications`: one page of groups, as Mastodon pages them."""

    async def unit(conn: Connection) -> Grouped:
        rows = await notification_rows.group_page(conn, account_id, browse, page)
        if not rows:
            return Grouped([], Listing([], {}, StatusBundle(order=[]), {}))
        # The range the page covers (Mastodon's pagination_range): a short page reaches
        # to the end of the list in the direction it was read.
        low: int | None = rows[-1]["id"]
        high: int | None = rows[0]["id"]
        if len(rows) < page.limit:
            if page.min_id is not None:
                high = page.max_id - 1 if page.max_id is not None else None
            else:
                low = page.since_id + 1 if page.since_id is not None else None
        return await _groups(conn, account_id, rows, browse, (low, high))

    return await rt.store.read(unit)


async def group(rt: Runtime, account_id: int, group_key: str, browse: Browse) -> Grouped:
    """`GET /api/v2/notifications/:group_key`."""

    async def unit(conn: Connection) -> Grouped:
        row = await notification_rows.newest_of_group(conn, account_id, group_key, browse)
        if row is None:
            raise NotificationNotFound()
        return await _groups(conn, account_id, [row], browse, None)

    return await rt.store.read(unit)


async def group_accounts(
    rt: Runtime, account_id: int, group_key: str, page: Page
) -> tuple[list[AccountRow], list[NotificationRow]]:
    """The accounts of a group's notifications, newest first; and the notifications (for
    the pagination cursors)."""

    async def unit(conn: Connection) -> tuple[list[AccountRow], list[NotificationRow]]:
        browse = Browse(include_filtered=True)
        if await notification_rows.newest_of_group(conn, account_id, group_key, browse) is None:
            raise NotificationNotFound()
        rows = await notification_rows.group_senders_page(conn, account_id, group_key, browse, page)
        accounts = await _accounts(conn, {r["from_account_id"] for r in rows})
        return [accounts[r["from_account_id"]] for r in rows], rows

    return await rt.store.read(unit)


async def dismiss_group(rt: Runtime, account_id: int, group_key: str) -> None:
    """`POST /api/v2/notifications/:group_key/dismiss`."""

    async def unit(conn: Connection) -> None:
        gone = await notification_rows.dismiss_group(conn, account_id, group_key)
        if not gone:
            raise NotificationNotFound()
        for sender in {g["from_account_id"] for g in gone if g["filtered"]}:
            await notification_rows.reconsider_request(conn, account_id, sender)

    await rt.store.write(unit)


# Policy and requests ----------------------------------------------------------------------


async def _policy(conn: Connection, account_id: int) -> tuple[dict[str, str], tuple[int, int]]:
    stored: RowView | None = await notification_rows.policy(conn, account_id)
    values = {f: stored[f] for f in POLICY_FIELDS} if stored else dict(DEFAULT_POLICY)
    return values, await notification_rows.pending_summary(conn, account_id)


async def get_policy(rt: Runtime, account_id: int) -> tuple[dict[str, str], tuple[int, int]]:
    """The caller's policy and a summary of what waits in requests."""
    return await rt.store.read(_policy, account_id)


async def update_policy(
    rt: Runtime, account_id: int, changes: dict[str, str]
) -> tuple[dict[str, str], tuple[int, int]]:
    """Change some of the policy's fields; the policy after."""
    for name, value in changes.items():
        if name not in POLICY_FIELDS:
            raise InvalidPolicy(f"unknown policy field {name}")
        if value not in POLICY_VALUES:
            raise InvalidPolicy(f"{name} must be one of {', '.join(POLICY_VALUES)}")

    async def unit(conn: Connection) -> tuple[dict[str, str], tuple[int, int]]:
        values, _ = await _policy(conn, account_id)
        values.update(changes)
        await notification_rows.save_policy(conn, account_id, values, now_ms())
        return await _policy(conn, account_id)

    return await rt.store.write(unit)


@dataclass
class Requests:
    """Notification requests and what their entities refer to."""

    rows: Sequence[RowView]
    accounts: dict[int, AccountRow]
    bundle: StatusBundle
    counts: dict[int, int]


async def _load_requests(
    conn: Connection, account_id: int, rows: Sequence[RowView], cache: EntityCache
) -> Requests:
    status_ids = [r["last_status_id"] for r in rows if r["last_status_id"] is not None]
    statuses = await status_rows.visible_statuses(conn, status_ids, account_id)
    senders = [r["from_account_id"] for r in rows]
    return Requests(
        rows,
        await _accounts(conn, set(senders)),
        await status_rows.hydrate(conn, statuses, account_id, cache),
        await notification_rows.filtered_counts(conn, account_id, senders),
    )


async def requests(rt: Runtime, account_id: int, page: Page) -> Requests:
    """`GET /api/v1/notifications/requests`."""

    async def unit(conn: Connection) -> Requests:
        rows = await notification_rows.requests_page(conn, account_id, page)
        return await _load_requests(conn, account_id, rows, rt.entities)

    return await rt.store.read(unit)


async def request(rt: Runtime, account_id: int, request_id: int) -> Requests:
    """`GET /api/v1/notifications/requests/:id`."""

    async def unit(conn: Connection) -> Requests:
        row = await notification_rows.request_by_id(conn, account_id, request_id)
        if row is None:
            raise NotificationNotFound()
        return await _load_requests(conn, account_id, [row], rt.entities)

    return await rt.store.read(unit)


async def answer_requests(
    rt: Runtime, account_id: int, request_ids: list[int], *, accept: bool, strict: bool
) -> None:
    """Accept (let the sender through from now on, and move their filtered notifications
    into the list) or dismiss (discard them) requests; `strict`: 404 unless all exist."""

    async def unit(conn: Connection) -> int:
        rows = await notification_rows.requests_by_ids(conn, account_id, request_ids)
        if strict and len(rows) != len(set(request_ids)):
            raise NotificationNotFound()
        now = now_ms()
        for row in rows:
            sender = row["from_account_id"]
            if accept:
                await notification_rows.permit(conn, account_id, sender, now)
                await notification_rows.unfilter_from(conn, account_id, sender)
            else:
                await notification_rows.delete_filtered_from(conn, account_id, sender)
            await notification_rows.delete_request(conn, account_id, sender)
        if accept and rows:
            # Mastodon 4.3 tells the web client to reload its list once requests are merged.
            conn.effects.add(
                StreamEvent.to(f"timeline:{account_id}:notifications", "notifications_merged", "1")
            )
        return len(rows)

    await rt.store.write(unit)
