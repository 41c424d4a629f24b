"""The parity harness: one action done by a local account through the API and by a remote
account through the inbox must leave the same trace.

Each parity test makes the same world twice (a local author and a post of theirs), lets
the action happen once from each side, and compares what the author and their readers
can observe: counters, notifications, stream events and the rows the action wrote. The
acting account differs (a local user on one side, a remote actor on the other), so every
observation names it as `ACTOR`, and ids of things the action created as `NEW`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.lowlevel

from tests.inbox_support import rows
from tests.social import User, get
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.streaming.hub import Subscription
from wildebeest_trio.streaming.relay import publish

ACTOR = "ACTOR"


@dataclass
class StreamTap:
    """A subscription to some of the author's channels, collecting what reaches them."""

    rt: Runtime
    channels: dict[str, list[str]]
    subscription: Subscription = field(default_factory=Subscription)

    def __post_init__(self) -> None:
        for channel, label in self.channels.items():
            self.rt.streams.subscribe(self.subscription, channel, label)

    def take(self) -> list[tuple[str, str, Any]]:
        """Everything received so far: (stream, event, decoded payload)."""
        found = []
        while True:
            try:
                message = self.subscription.receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return found
            try:
                payload = json.loads(message.payload)
            except ValueError:
                payload = message.payload
            found.append((":".join(message.stream), message.event, payload))


def user_tap(rt: Runtime, user: User) -> StreamTap:
    """The author's user stream and notification stream, as an app follows them."""
    return StreamTap(
        rt,
        {
            f"timeline:{user.id}": ["user"],
            f"timeline:{user.id}:notifications": ["user:notification"],
        },
    )


@dataclass
class Roles:
    """What to call the ids that differ between the two sides."""

    names: dict[str, str] = field(default_factory=dict)

    def add(self, value: Any, name: str) -> None:
        if value is not None:
            self.names[str(value)] = name

    def normalize(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.normalize(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.normalize(v) for v in value]
        if isinstance(value, int | str) and not isinstance(value, bool):
            return self.names.get(str(value), value)
        return value


async def status_counts(api: Any, viewer: User, status_id: str) -> dict[str, Any]:
    """The counters apps show under a post."""
    code, body = await get(api, viewer, f"/api/v1/statuses/{status_id}")
    assert code == 200, body
    return {k: body[k] for k in ("replies_count", "reblogs_count", "favourites_count")}


async def account_counts(api: Any, user: User) -> dict[str, Any]:
    code, body = await get(api, user, "/api/v1/accounts/verify_credentials")
    assert code == 200, body
    return {k: body[k] for k in ("statuses_count", "followers_count", "following_count")}


async def notifications(api: Any, user: User) -> list[dict[str, Any]]:
    """The author's notifications as an app lists them: type, who, about which post."""
    code, body = await get(api, user, "/api/v1/notifications")
    assert code == 200, body
    return [
        {
            "type": n["type"],
            "account": n["account"]["id"],
            "status": (n.get("status") or {}).get("id"),
        }
        for n in body
    ]


def stream_summary(events: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """Stream events reduced to what tells them apart: the stream, the event, and the
    notification type or status id it carries."""
    summary = []
    for stream, event, payload in events:
        if isinstance(payload, dict) and "type" in payload and "account" in payload:
            what: Any = (payload["type"], payload["account"]["id"])
        elif isinstance(payload, dict) and "id" in payload:
            what = payload["id"]
        else:
            what = payload
        summary.append((stream, event, what))
    return summary


async def table_counts(rt: Runtime, status_id: int) -> dict[str, int]:
    """How many rows about the post each interaction table holds."""
    counts = {}
    for table, column in (
        ("favourites", "status_id"),
        ("bookmarks", "status_id"),
        ("statuses", "reblog_of_id"),
        ("notifications", "status_id"),
    ):
        extra = " AND deleted_at IS NULL" if table == "statuses" else ""
        found = await rows(
            rt, f"SELECT count(*) AS n FROM {table} WHERE {column} = $1{extra}", status_id
        )
        counts[table] = int(found[0]["n"])
    return counts


async def observe(
    api: Any, rt: Runtime, author: User, status_id: str, tap: StreamTap, roles: Roles
) -> dict[str, Any]:
    """Everything the author and the database show about the post, normalized."""
    # Effects run before the write returns; a checkpoint lets the taps see them.
    await trio.lowlevel.checkpoint()
    return roles.normalize(
        {
            "post": await status_counts(api, author, status_id),
            "author": await account_counts(api, author),
            "notifications": [
                n for n in await notifications(api, author) if n["status"] in (None, status_id)
            ],
            "streams": stream_summary(tap.take()),
            "rows": await table_counts(rt, int(status_id)),
        }
    )


# Between two accounts: follows, follow requests, blocks and moves ----------------------------


async def relationship(api: Any, viewer: User, account_id: int | str) -> dict[str, Any]:
    """The viewer's relationship to an account, as apps read it."""
    code, body = await get(api, viewer, f"/api/v1/accounts/relationships?id[]={account_id}")
    assert code == 200 and len(body) == 1, body
    return dict(body[0])


async def account_ids(api: Any, viewer: User, path: str) -> list[str]:
    """The ids of the accounts an account list endpoint answers (follow requests,
    followers, following)."""
    code, body = await get(api, viewer, path)
    assert code == 200, body
    return [a["id"] for a in body]


async def moved_to(api: Any, viewer: User, account_id: int | str) -> str | None:
    """The id of the account an account moved to, as its entity shows it."""
    code, body = await get(api, viewer, f"/api/v1/accounts/{account_id}")
    assert code == 200, body
    return (body.get("moved") or {}).get("id")


async def graph_counts(rt: Runtime, a: int | str, b: int | str) -> dict[str, int]:
    """How many rows lie between two accounts, each way: follows, follow requests, blocks
    and mutes; and how many notifications `b` caused `a`."""
    counts = {}
    for table in ("follows", "follow_requests", "blocks", "mutes"):
        for label, (source, target) in (("a->b", (a, b)), ("b->a", (b, a))):
            found = await rows(
                rt,
                f"SELECT count(*) AS n FROM {table} "
                "WHERE account_id = $1 AND target_account_id = $2",
                int(source),
                int(target),
            )
            counts[f"{table} {label}"] = int(found[0]["n"])
    # Only `a`'s: a remote `b` is never notified here.
    found = await rows(
        rt,
        "SELECT count(*) AS n FROM notifications WHERE account_id = $1 AND from_account_id = $2",
        int(a),
        int(b),
    )
    counts["notifications a<-b"] = int(found[0]["n"])
    return counts


FENCE = "parity.fence"


async def take_settled(tap: StreamTap) -> list[tuple[str, str, Any]]:
    """`tap.take()` once every event published before the call has arrived: on PostgreSQL
    events come through the relay a little later, so a fence event is sent the same way
    (NOTIFYs arrive in commit order) and the take ends when it comes."""
    await publish(tap.rt, next(iter(tap.channels)), FENCE, "")
    found: list[tuple[str, str, Any]] = []
    with trio.fail_after(10):
        while not any(event == FENCE for _, event, _ in found):
            await trio.sleep(0.005)
            found += tap.take()
    return [item for item in found if item[1] != FENCE]


async def observe_account(
    api: Any, rt: Runtime, user: User, other_id: int | str, tap: StreamTap, roles: Roles
) -> dict[str, Any]:
    """Everything `user` and the database show about one other account, normalized:
    counters, the relationship, notifications, follow requests, stream events, rows."""
    await trio.lowlevel.checkpoint()
    return roles.normalize(
        {
            "account": await account_counts(api, user),
            "relationship": await relationship(api, user, other_id),
            "notifications": await notifications(api, user),
            "requests": await account_ids(api, user, "/api/v1/follow_requests"),
            "streams": stream_summary(await take_settled(tap)),
            "rows": await graph_counts(rt, user.id, other_id),
        }
    )
