"""The parity harness: one action done by a local account through the API and by a remote
account through the inbox must leave the same trace.

Each parity test makes the same world twice (a local author and a post of theirs), lets
the action happen once from each side, and compares what the author and their readers
can observe: counters, notifications, stream events and the rows the action wrote. The
acting account differs (a local user on one side, a remote actor on the other), so every
observation names it as `ACTOR`, and the boosts of the post as `BOOST`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import trio

from tests.fakes.rows import rows
from tests.social import User, get
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.streaming.hub import StreamMessage, Subscription
from wildebeest_trio.streaming.relay import publish

ACTOR = "ACTOR"
MARKER = "parity.marker"
BOOST = "BOOST"


@dataclass
class StreamTap:
    """A subscription to some of the author's channels, collecting what reaches them."""

    rt: Runtime
    channels: dict[str, list[str]]
    subscription: Subscription = field(default_factory=Subscription)
    received: list[StreamMessage] = field(default_factory=list)
    markers: int = 0

    def __post_init__(self) -> None:
        for channel, label in self.channels.items():
            self.rt.streams.subscribe(self.subscription, channel, label)
        self.marker_channel = f"parity:marker:{id(self)}"
        self.rt.streams.subscribe(self.subscription, self.marker_channel, ["marker"])

    async def settle(self) -> None:
        """Wait until every event published so far has reached the tap. On PostgreSQL
        events come back through NOTIFY, in commit order: a marker sent now arrives after
        them all."""
        self.markers += 1
        token = str(self.markers)
        await publish(self.rt, self.marker_channel, MARKER, token)
        with trio.fail_after(10):
            while True:
                message = await self.subscription.receive.receive()
                if message.event == MARKER and message.payload == token:
                    return
                self.received.append(message)

    async def take(self) -> list[tuple[str, str, Any]]:
        """Everything received since the last take: (stream, event, decoded payload)."""
        await self.settle()
        found = []
        for message in self.received:
            if message.event == MARKER:
                continue  # an earlier marker that was not waited for
            try:
                payload = json.loads(message.payload)
            except ValueError:
                payload = message.payload
            found.append((":".join(message.stream), message.event, payload))
        self.received.clear()
        return found


def user_tap(rt: Runtime, user: User) -> StreamTap:
    """The author's user stream and notification stream, as an app follows them (the
    `local` fixture runs the stream relay, so PostgreSQL's events come back)."""
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


async def account_counts(api: Any, user: User, account_id: str | None = None) -> dict[str, Any]:
    """The counters of the viewer's profile, or (`account_id`) of another account."""
    path = "/api/v1/accounts/" + (account_id or "verify_credentials")
    code, body = await get(api, user, path)
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


async def thread(api: Any, viewer: User, status_id: str) -> dict[str, Any]:
    """A post's context as the viewer sees it: ancestors and descendants."""
    code, body = await get(api, viewer, f"/api/v1/statuses/{status_id}/context")
    assert code == 200, body
    return {k: [s["id"] for s in body[k]] for k in ("ancestors", "descendants")}


async def conversations(api: Any, user: User) -> list[dict[str, Any]]:
    """The user's direct conversations: who, the last post, whether unread."""
    code, body = await get(api, user, "/api/v1/conversations")
    assert code == 200, body
    return [
        {
            "accounts": sorted(a["id"] for a in c["accounts"]),
            "last_status": (c.get("last_status") or {}).get("id"),
            "unread": c["unread"],
        }
        for c in body
    ]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def history(api: Any, viewer: User, status_id: str) -> list[dict[str, Any]]:
    """A post's versions, oldest first, as text (the HTML of a local and a remote post
    differ in their links)."""
    code, body = await get(api, viewer, f"/api/v1/statuses/{status_id}/history")
    assert code == 200, body
    return [
        {
            "text": _text(v["content"]),
            "spoiler_text": v["spoiler_text"],
            "sensitive": v["sensitive"],
        }
        for v in body
    ]


async def poll_counts(api: Any, viewer: User, poll_id: str) -> dict[str, Any]:
    """A poll's counts as its viewer sees them."""
    code, body = await get(api, viewer, f"/api/v1/polls/{poll_id}")
    assert code == 200, body
    return {
        "votes_count": body["votes_count"],
        "voters_count": body["voters_count"],
        "options": [o["votes_count"] for o in body["options"]],
    }


async def vote_rows(rt: Runtime, poll_id: int) -> list[dict[str, Any]]:
    """Who chose what in a poll."""
    found = await rows(
        rt, "SELECT account_id, choice FROM poll_votes WHERE poll_id = $1 ORDER BY id", poll_id
    )
    return [{"account": str(r["account_id"]), "choice": r["choice"]} for r in found]


async def federated(rt: Runtime, status_id: int) -> list[str]:
    """The outbox events about a post (what goes out to other servers because of it)."""
    found = await rows(rt, "SELECT event FROM outbox WHERE object_id = $1 ORDER BY id", status_id)
    return [r["event"] for r in found]


async def table_counts(rt: Runtime, status_id: int, recipient: int) -> dict[str, int]:
    """How many rows about the post each interaction table holds; of notifications, those
    `recipient` got (the acting account's own differ by side: a remote one gets none)."""
    queries: dict[str, tuple[str, tuple[int, ...]]] = {
        "favourites": ("SELECT count(*) AS n FROM favourites WHERE status_id = $1", ()),
        "bookmarks": ("SELECT count(*) AS n FROM bookmarks WHERE status_id = $1", ()),
        "statuses": (
            "SELECT count(*) AS n FROM statuses WHERE reblog_of_id = $1 AND deleted_at IS NULL",
            (),
        ),
        "notifications": (
            "SELECT count(*) AS n FROM notifications WHERE status_id = $1 AND account_id = $2",
            (recipient,),
        ),
    }
    counts = {}
    for table, (sql, args) in queries.items():
        found = await rows(rt, sql, status_id, *args)
        counts[table] = int(found[0]["n"])
    return counts


async def observe(
    api: Any,
    rt: Runtime,
    author: User,
    status_id: str,
    tap: StreamTap,
    roles: Roles,
    *,
    related: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Everything the author and the database show about the post, normalized; and about
    `related` posts (a reply to it), their notifications and rows."""
    about = (None, status_id, *related)
    # Boosts, live or undone, are statuses with ids of their own on each side.
    for boost in await rows(rt, "SELECT id FROM statuses WHERE reblog_of_id = $1", int(status_id)):
        roles.add(boost["id"], BOOST)
    return roles.normalize(
        {
            "post": await status_counts(api, author, status_id),
            "author": await account_counts(api, author),
            "notifications": [n for n in await notifications(api, author) if n["status"] in about],
            "streams": stream_summary(await tap.take()),
            "rows": await table_counts(rt, int(status_id), int(author.id)),
            "rows of related": [await table_counts(rt, int(r), int(author.id)) for r in related],
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


async def observe_account(
    api: Any, rt: Runtime, user: User, other_id: int | str, tap: StreamTap, roles: Roles
) -> dict[str, Any]:
    """Everything `user` and the database show about one other account, normalized:
    counters, the relationship, notifications, follow requests, stream events, rows."""
    return roles.normalize(
        {
            "account": await account_counts(api, user),
            "relationship": await relationship(api, user, other_id),
            "notifications": await notifications(api, user),
            "requests": await account_ids(api, user, "/api/v1/follow_requests"),
            "streams": stream_summary(await tap.take()),
            "rows": await graph_counts(rt, user.id, other_id),
        }
    )
