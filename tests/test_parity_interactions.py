"""Parity: favourites and boosts leave the same trace from the API and from the inbox."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import accept_our_request, account_id_of, rows
from tests.parity import ACTOR, BOOST, Roles, StreamTap, observe, user_tap
from tests.social import User, act, follow, make_user, post
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import interactions
from wildebeest_trio.store import Connection
from wildebeest_trio.store import statuses as status_rows

pytest_plugins = ("tests.fakes.fixtures",)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class Sides:
    """Alice's two posts, one acted on by Bob through the API, one by Carol by the inbox."""

    def __init__(
        self, api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
    ) -> None:
        self.api, self.local, self.remote, self.nursery = api, local, remote, nursery
        self.carol = remote.actor("carol")
        self.roles = Roles()

    async def start(self, *, readers: bool = False, text: str = "", **fields: Any) -> None:
        """Alice, Bob and Carol, and Alice's two posts (`text` and `fields`). With `readers`,
        Bob and Carol follow Alice (so they see her followers-only posts) and she follows
        them (so their boosts reach her home)."""
        self.alice = await make_user(self.local, self.api, "alice")
        self.bob: User = await make_user(self.local, self.api, "bob")
        await refresh_actor(self.local, self.carol.uri)
        self.carol_id = await account_id_of(self.local, self.carol.uri)
        self.roles.add(self.bob.id, ACTOR)
        self.roles.add(self.carol_id, ACTOR)
        if readers:
            await self._follow_each_other()
        self.by_api = await post(self.api, self.alice, f"{text} for the local side", **fields)
        self.by_inbox = await post(self.api, self.alice, f"{text} for the remote side", **fields)
        self.roles.add(self.by_api["id"], "POST")
        self.roles.add(self.by_inbox["id"], "POST")
        self.tap: StreamTap = user_tap(self.local, self.alice)
        # On PostgreSQL the posts' own events come back through NOTIFY and may reach the
        # tap after it subscribed: they belong to no step.
        await self.tap.take()

    async def _follow_each_other(self) -> None:
        await follow(self.api, self.bob, self.alice)
        alice_uri = f"{self.local.config.base_url}/users/alice"
        followed = self.remote.activity(self.carol, "Follow", alice_uri)
        assert await deliver(self.api, self.local, self.carol, followed) == 202
        await drain(self.local)
        await follow(self.api, self.alice, self.bob)
        code, body = await act(self.api, self.alice, f"/api/v1/accounts/{self.carol_id}/follow")
        assert code == 200 and body["requested"], body
        await accept_our_request(self.local, int(self.alice.id), self.carol_id)

    async def by_bob(self, action: str, expect: int = 200) -> dict[str, Any]:
        """Bob acts on his post through the API; what Alice and the database then show."""
        await self.tap.take()
        code, body = await act(self.api, self.bob, f"/api/v1/statuses/{self.by_api['id']}/{action}")
        assert code == expect, body
        return await self._seen(self.by_api)

    async def by_carol(self, activity: dict[str, Any]) -> dict[str, Any]:
        """Carol's activity arrives at the inbox; what Alice and the database then show."""
        await self.tap.take()
        assert await deliver(self.api, self.local, self.carol, activity) == 202
        await drain(self.local)
        return await self._seen(self.by_inbox)

    def announce(self) -> dict[str, Any]:
        """A new public Announce of Carol's post, as Mastodon addresses it."""
        return self.remote.activity(
            self.carol, "Announce", self.by_inbox["uri"], to=[PUBLIC], cc=[self.carol.followers]
        )

    async def _seen(self, status: dict[str, Any]) -> dict[str, Any]:
        return await observe(self.api, self.local, self.alice, status["id"], self.tap, self.roles)


def _about_the_post(seen: dict[str, Any]) -> list[dict[str, Any]]:
    """The author's notifications about the post (not those of the follows made)."""
    return [n for n in seen["notifications"] if n["status"] == "POST"]


async def test_favourite_and_unfavourite(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start()
    like = remote.activity(sides.carol, "Like", sides.by_inbox["uri"])

    local_side = await sides.by_bob("favourite")
    assert local_side == await sides.by_carol(like)
    assert local_side["notifications"] == [
        {"type": "favourite", "account": ACTOR, "status": "POST"}
    ]
    assert local_side["post"]["favourites_count"] == 1

    local_side = await sides.by_bob("unfavourite")
    assert local_side == await sides.by_carol(remote.activity(sides.carol, "Undo", like))
    assert local_side["notifications"] == []
    assert local_side["post"]["favourites_count"] == 0


async def test_boost_and_unboost(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start(readers=True)
    announce = sides.announce()

    local_side = await sides.by_bob("reblog")
    remote_side = await sides.by_carol(announce)
    assert _about_the_post(remote_side) == [{"type": "reblog", "account": ACTOR, "status": "POST"}]
    # The boost reaches the home of those following its booster, and the author hears.
    assert sorted(remote_side["streams"]) == [
        ["user", "update", BOOST],
        ["user:notification", "notification", ["reblog", ACTOR]],
    ]
    assert local_side["post"]["reblogs_count"] == 1 and local_side["rows"]["statuses"] == 1
    assert local_side == remote_side

    local_side = await sides.by_bob("unreblog")
    remote_side = await sides.by_carol(remote.activity(sides.carol, "Undo", announce))
    # Undoing a boost withdraws its notification and its place in homes, whichever side.
    assert _about_the_post(remote_side) == []
    assert remote_side["streams"] == [["user", "delete", BOOST]]
    assert remote_side["post"]["reblogs_count"] == 0 and remote_side["rows"]["statuses"] == 0
    assert local_side == remote_side


@pytest.mark.parametrize(
    ("visibility", "text"), [("private", "followers only"), ("direct", "@bob just us")]
)
async def test_followers_only_and_direct_posts_are_not_boosted(
    api: Any,
    local: Runtime,
    remote: RemoteServer,
    nursery: trio.Nursery,
    visibility: str,
    text: str,
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start(readers=True, visibility=visibility, text=text)
    before = await sides._seen(sides.by_api)
    # Bob sees the post (a follower, or mentioned) but may not boost it: 403.
    local_side = await sides.by_bob("reblog", expect=403)
    remote_side = await sides.by_carol(sides.announce())
    assert local_side == remote_side
    assert remote_side["post"] == before["post"] and remote_side["post"]["reblogs_count"] == 0
    assert remote_side["rows"]["statuses"] == 0 and remote_side["streams"] == []
    assert _about_the_post(remote_side) == []


async def test_a_repeated_favourite_or_boost_counts_once(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start(readers=True)
    await sides.by_bob("favourite")
    await sides.by_bob("reblog")
    await sides.by_carol(remote.activity(sides.carol, "Like", sides.by_inbox["uri"]))
    await sides.by_carol(sides.announce())

    # Again, each under a new activity id from the remote side.
    local_side = await sides.by_bob("favourite")
    assert local_side == await sides.by_carol(
        remote.activity(sides.carol, "Like", sides.by_inbox["uri"])
    )
    local_side = await sides.by_bob("reblog")
    remote_side = await sides.by_carol(sides.announce())
    assert local_side == remote_side
    assert remote_side["post"] == {"replies_count": 0, "reblogs_count": 1, "favourites_count": 1}
    assert remote_side["rows"] == {
        "favourites": 1,
        "bookmarks": 0,
        "statuses": 1,
        "notifications": 2,
    }
    assert remote_side["streams"] == []


async def test_undoing_what_was_never_done_changes_nothing(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start(readers=True)
    untouched = await sides._seen(sides.by_api)
    never_liked = remote.activity(sides.carol, "Like", sides.by_inbox["uri"])
    assert await sides.by_bob("unfavourite") == untouched
    assert await sides.by_carol(remote.activity(sides.carol, "Undo", never_liked)) == untouched
    assert await sides.by_bob("unreblog") == untouched
    never_boosted = sides.announce()
    assert await sides.by_carol(remote.activity(sides.carol, "Undo", never_boosted)) == untouched
    assert untouched["post"]["reblogs_count"] == untouched["post"]["favourites_count"] == 0


async def test_boosts_go_with_the_status_they_boost(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = Sides(api, local, remote, nursery)
    await sides.start(readers=True)
    await sides.by_bob("reblog")
    await sides.by_carol(sides.announce())
    bob_before = await _statuses_count(local, int(sides.bob.id))
    carol_before = await _statuses_count(local, sides.carol_id)

    async def remove_boosts_of(post: dict[str, Any]) -> dict[str, Any]:
        await sides.tap.take()

        async def unit(conn: Connection) -> None:
            status = await status_rows.status_by_id(conn, int(post["id"]))
            assert status is not None
            await interactions.remove_boosts_of(conn, local, status, now_ms())

        await local.store.write(unit)
        return await sides._seen(post)

    local_side = await remove_boosts_of(sides.by_api)
    remote_side = await remove_boosts_of(sides.by_inbox)
    assert local_side == remote_side
    assert remote_side["streams"] == [["user", "delete", BOOST]]
    assert _about_the_post(remote_side) == [] and remote_side["post"]["reblogs_count"] == 0
    assert await _statuses_count(local, int(sides.bob.id)) == bob_before - 1
    assert await _statuses_count(local, sides.carol_id) == carol_before - 1
    # Bob's followers hear his boost is gone; Carol's server is not ours to speak for.
    undone = await rows(local, "SELECT account_id FROM outbox WHERE event = 'reblog.deleted'")
    assert [r["account_id"] for r in undone] == [int(sides.bob.id)]


async def _statuses_count(rt: Runtime, account_id: int) -> int:
    found = await rows(rt, "SELECT statuses_count FROM accounts WHERE id = $1", account_id)
    return int(found[0]["statuses_count"])
