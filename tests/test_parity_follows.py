"""Parity: follows, follow requests, blocks and moves leave the same trace from the API and
from the inbox.

Each test has two local accounts alike, `alice` and `alice2`: local Bob acts on the first
through the API, remote Carol on the second through the inbox, and what each of them
(and the database) then shows is compared, with Bob and Carol both named `ACTOR`.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import account_id_of
from tests.parity import (
    ACTOR,
    Roles,
    StreamTap,
    account_ids,
    moved_to,
    notifications,
    observe_account,
    relationship,
    user_tap,
)
from tests.social import User, act, make_user
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import moves
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)

ALICE = "ALICE"


class Sides:
    """`alice` for local Bob and the API, `alice2` for remote Carol and the inbox."""

    def __init__(
        self, api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
    ) -> None:
        self.api, self.local, self.remote, self.nursery = api, local, remote, nursery
        self.carol = remote.actor("carol")
        self.roles = Roles()

    async def start(self, *, locked: bool = False) -> Sides:
        self.alice = await make_user(self.local, self.api, "alice")
        self.alice2 = await make_user(self.local, self.api, "alice2")
        self.bob = await make_user(self.local, self.api, "bob")
        await refresh_actor(self.local, self.carol.uri)
        self.carol_id = await account_id_of(self.local, self.carol.uri)
        for user in (self.alice, self.alice2):
            self.roles.add(user.id, ALICE)
            if locked:
                await self.lock(user)
        self.roles.add(self.bob.id, ACTOR)
        self.roles.add(self.carol_id, ACTOR)
        self.taps: dict[str, StreamTap] = {
            u.id: user_tap(self.local, u) for u in (self.alice, self.alice2)
        }
        return self

    async def lock(self, user: User) -> None:
        response = await self.api.patch(
            "/api/v1/accounts/update_credentials", headers=user.headers, json={"locked": True}
        )
        assert response.status_code == 200

    def uri(self, user: User) -> str:
        return f"{self.local.config.base_url}/users/{user.name}"

    async def by_bob(self, action: str) -> dict[str, Any]:
        """Bob acts on Alice through the API; what Alice and the database then show."""
        await self.taps[self.alice.id].take()
        code, body = await act(self.api, self.bob, f"/api/v1/accounts/{self.alice.id}/{action}")
        assert code == 200, body
        return await self.seen_by(self.alice, self.bob.id)

    async def by_carol(self, activity: dict[str, Any]) -> dict[str, Any]:
        """Carol's activity reaches Alice2's inbox; what Alice2 and the database show."""
        await self.taps[self.alice2.id].take()
        await self.deliver(activity)
        return await self.seen_by(self.alice2, self.carol_id)

    async def deliver(self, activity: dict[str, Any]) -> None:
        path = f"/users/{self.alice2.name}/inbox"
        assert await deliver(self.api, self.local, self.carol, activity, path=path) == 202
        await drain(self.local)

    async def by_alices(self, path: str, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Each Alice acts on her side's actor (`{id}` in `path`) through the API."""
        seen = []
        for user, other in ((self.alice, self.bob.id), (self.alice2, self.carol_id)):
            await self.taps[user.id].take()
            code, body = await act(self.api, user, path.format(id=other), **fields)
            assert code == 200, body
            seen.append(await self.seen_by(user, other))
        return seen[0], seen[1]

    async def carol_accepts(self) -> None:
        """Carol's server accepts Alice2's follow request (naming the Follow embedded)."""
        follow = {"type": "Follow", "actor": self.uri(self.alice2), "object": self.carol.uri}
        await self.deliver(self.remote.activity(self.carol, "Accept", follow))

    async def seen_by(self, user: User, other: int | str) -> dict[str, Any]:
        return await observe_account(
            self.api, self.local, user, other, self.taps[user.id], self.roles
        )


def _notified(*types: str) -> list[dict[str, Any]]:
    return [{"type": t, "account": ACTOR, "status": None} for t in types]


async def test_follow_and_unfollow(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = await Sides(api, local, remote, nursery).start()
    follow = remote.activity(sides.carol, "Follow", sides.uri(sides.alice2))

    local_side = await sides.by_bob("follow")
    assert local_side == await sides.by_carol(follow)
    assert local_side["account"]["followers_count"] == 1
    assert local_side["relationship"]["followed_by"] is True
    assert local_side["notifications"] == _notified("follow")
    assert local_side["streams"] == [["user:notification", "notification", ["follow", ACTOR]]]

    local_side = await sides.by_bob("unfollow")
    assert local_side == await sides.by_carol(remote.activity(sides.carol, "Undo", follow))
    assert local_side["account"]["followers_count"] == 0
    assert local_side["relationship"]["followed_by"] is False
    # The undone follow's notification goes with it.
    assert local_side["notifications"] == []


async def test_follow_request_withdrawn_then_accepted(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = await Sides(api, local, remote, nursery).start(locked=True)
    follow = remote.activity(sides.carol, "Follow", sides.uri(sides.alice2))

    local_side = await sides.by_bob("follow")
    assert local_side == await sides.by_carol(follow)
    assert local_side["requests"] == [ACTOR]
    assert local_side["relationship"]["requested_by"] is True
    assert local_side["account"]["followers_count"] == 0
    assert local_side["notifications"] == _notified("follow_request")

    # Withdrawn: the request and its notification go, whichever side withdrew it.
    local_side = await sides.by_bob("unfollow")
    assert local_side == await sides.by_carol(remote.activity(sides.carol, "Undo", follow))
    assert local_side["requests"] == []
    assert local_side["notifications"] == []

    await sides.by_bob("follow")
    await sides.by_carol(remote.activity(sides.carol, "Follow", sides.uri(sides.alice2)))
    local_side, remote_side = await sides.by_alices("/api/v1/follow_requests/{id}/authorize")
    assert local_side == remote_side
    assert local_side["relationship"]["followed_by"] is True
    assert local_side["account"]["followers_count"] == 1
    assert local_side["requests"] == []


async def test_blocked_by_a_local_or_a_remote_account(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = await Sides(api, local, remote, nursery).start()
    # Mutual follows first: Bob and Carol follow their Alice, and each Alice follows back.
    await sides.by_bob("follow")
    await sides.by_carol(remote.activity(sides.carol, "Follow", sides.uri(sides.alice2)))
    await sides.by_alices("/api/v1/accounts/{id}/follow")
    await sides.carol_accepts()
    local_side = await sides.seen_by(sides.alice, sides.bob.id)
    assert local_side == await sides.seen_by(sides.alice2, sides.carol_id)
    assert local_side["account"]["followers_count"] == 1
    assert local_side["account"]["following_count"] == 1

    block = remote.activity(sides.carol, "Block", sides.uri(sides.alice2))
    local_side = await sides.by_bob("block")
    assert local_side == await sides.by_carol(block)
    # Follows end both ways, and with them the follow notification (as on Mastodon).
    assert local_side["account"]["followers_count"] == 0
    assert local_side["account"]["following_count"] == 0
    rel = local_side["relationship"]
    assert (rel["following"], rel["followed_by"], rel["blocked_by"]) == (False, False, True)
    assert local_side["notifications"] == []
    assert local_side["rows"]["blocks b->a"] == 1

    local_side = await sides.by_bob("unblock")
    assert local_side == await sides.by_carol(remote.activity(sides.carol, "Undo", block))
    assert local_side["relationship"]["blocked_by"] is False
    assert local_side["rows"]["blocks b->a"] == 0


async def _set_aliases(local: Runtime, user: User, aliases: list[str]) -> None:
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE accounts SET also_known_as = $1, updated_at = $2 WHERE id = $3",
            json.dumps(aliases),
            now_ms(),
            int(user.id),
        )

    await local.store.write(unit)


async def test_move_local_or_remote(
    api: Any, local: Runtime, remote: RemoteServer, nursery: trio.Nursery
) -> None:
    sides = await Sides(api, local, remote, nursery).start()
    # Each Alice follows her side's actor, showing no boosts and asking for notifications.
    await sides.by_alices("/api/v1/accounts/{id}/follow", reblogs=False, notify=True)
    await sides.carol_accepts()
    # Bob moves to local Erin, Carol to local Frank: both new accounts are locked, and
    # name the old one as an alias.
    erin = await make_user(local, api, "erin")
    frank = await make_user(local, api, "frank")
    for user, old in ((erin, sides.uri(sides.bob)), (frank, sides.carol.uri)):
        await sides.lock(user)
        await _set_aliases(local, user, [old])
        sides.roles.add(user.id, "NEW")

    await moves.start_move(local, "bob", "erin")
    await sides.deliver(
        remote.activity(sides.carol, "Move", sides.carol.uri, target=f"{sides.uri(frank)}")
    )

    seen = []
    for user, old, new in (
        (sides.alice, sides.bob.id, erin),
        (sides.alice2, sides.carol_id, frank),
    ):
        observed = await sides.seen_by(user, old)
        observed["new relationship"] = sides.roles.normalize(await relationship(api, user, new.id))
        observed["following"] = sides.roles.normalize(
            await account_ids(api, user, f"/api/v1/accounts/{user.id}/following")
        )
        observed["moved"] = sides.roles.normalize(await moved_to(api, user, old))
        # What the new account is told (as on Mastodon: a follow, bypassing its lock).
        observed["new notifications"] = sides.roles.normalize(await notifications(api, new))
        seen.append(observed)
    local_side, remote_side = seen
    assert local_side == remote_side
    assert local_side["moved"] == "NEW"
    assert local_side["following"] == ["NEW"]
    assert local_side["relationship"]["following"] is False
    new_rel = local_side["new relationship"]
    # The follow moved with its options.
    assert (new_rel["following"], new_rel["showing_reblogs"], new_rel["notifying"]) == (
        True,
        False,
        True,
    )
    assert local_side["new notifications"] == [{"type": "follow", "account": ALICE, "status": None}]
    assert local_side["account"]["following_count"] == 1
