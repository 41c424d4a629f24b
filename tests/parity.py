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

from tests.inbox_support import rows
from tests.social import User, get
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.streaming.hub import Subscription
from wildebeest_trio.streaming.relay import publish

ACTOR = "ACTOR"
MARKER = "parity.marker"


@dataclass
class StreamTap:
    """A subscription to some of the author's channels, collecting what reaches them."""

    rt: Runtime
    channels: dict[str, list[str]]
    subscription: Subscription = field(default_factory=Subscription)
    markers: int = 0

    def __post_init__(self) -> None:
        for channel, label in self.channels.items():
            self.rt.streams.subscribe(self.subscription, channel, label)

    async def take(self) -> list[tuple[str, str, Any]]:
        """Everything received so far, once all that was published before has arrived:
        on PostgreSQL events come back through NOTIFY, later than the write returned, so
        a marker is published to one of the channels and awaited behind them."""
        self.markers += 1
        marker = f"parity-marker-{self.markers}"
        await publish(self.rt, next(iter(self.channels)), MARKER, marker)
        found = []
        with trio.fail_after(10):
            while True:
                message = await self.subscription.receive.receive()
                if message.event == MARKER:
                    if message.payload == marker:
                        return found
                    continue
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
    return roles.normalize(
        {
            "post": await status_counts(api, author, status_id),
            "author": await account_counts(api, author),
            "notifications": [
                n for n in await notifications(api, author) if n["status"] in (None, status_id)
            ],
            "streams": stream_summary(await tap.take()),
            "rows": await table_counts(rt, int(status_id)),
        }
    )
