"""Parity: posting, replying, editing, deleting and voting leave the same trace whether the
author is local (the API) or remote (the inbox).

Alice follows local Bob and remote Carol, asking to be told of their posts (the bell).
Bob acts through the API, Carol by signed deliveries to the inbox, and what Alice and the
database then show must be the same, with the acting account named `ACTOR`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakes.instance import drain
from tests.fakes.remote import PUBLIC, RemoteServer, deliver
from tests.fakes.rows import accept_our_request, account_id_of, rows
from tests.parity import (
    ACTOR,
    Roles,
    StreamTap,
    account_counts,
    conversations,
    federated,
    history,
    observe,
    poll_counts,
    thread,
    user_tap,
    vote_rows,
)
from tests.social import User, act, make_user, post
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)

POLL = {"options": ["tea", "coffee", "water"], "expires_in": 3600}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


class Sides:
    """Alice, who follows Bob (local, acting through the API) and Carol (remote, acting
    through the inbox), and what she sees of each one's actions."""

    def __init__(self, api: Any, local: Runtime, remote: RemoteServer) -> None:
        self.api, self.local, self.remote = api, local, remote
        self.carol = remote.actor("carol")
        self.roles = Roles()
        self.started = now_ms() - 60_000

    async def start(self) -> None:
        self.alice = await make_user(self.local, self.api, "alice")
        self.bob: User = await make_user(self.local, self.api, "bob")
        code, body = await act(self.api, self.alice, f"/api/v1/accounts/{self.bob.id}/follow")
        assert code == 200, body
        await refresh_actor(self.local, self.carol.uri)
        self.carol_id = str(await account_id_of(self.local, self.carol.uri))
        code, body = await act(self.api, self.alice, f"/api/v1/accounts/{self.carol_id}/follow")
        assert code == 200 and body["requested"], body
        await accept_our_request(self.local, int(self.alice.id), int(self.carol_id))
        for account_id in (self.bob.id, self.carol_id):
            code, body = await act(
                self.api, self.alice, f"/api/v1/accounts/{account_id}/follow", notify=True
            )
            assert code == 200 and body["following"] and body["notifying"], body
        self.roles.add(self.bob.id, ACTOR)
        self.roles.add(self.carol_id, ACTOR)
        self.alice_uri = f"{self.local.config.base_url}/users/alice"
        self.tap: StreamTap = user_tap(self.local, self.alice)

    async def by_bob(self, method: str, path: str, **fields: Any) -> dict[str, Any]:
        """Bob's API call; its answer."""
        await self.tap.take()
        call = getattr(self.api, method)
        response = await call(
            path, headers=self.bob.headers, **({"json": fields} if fields else {})
        )
        body = await response.get_json()
        assert response.status_code == 200, body
        return body  # type: ignore[no-any-return]

    async def by_carol(self, activity: dict[str, Any]) -> None:
        """Carol's activity arrives at the inbox and is applied."""
        await self.tap.take()
        assert await deliver(self.api, self.local, self.carol, activity) == 202
        await drain(self.local)

    def note(self, content: str, *, mention: bool = True, **extra: Any) -> dict[str, Any]:
        """A note of Carol's (served at its id), tagging Alice unless told not to."""
        fields: dict[str, Any] = {"published": _iso(self.started)}
        if mention:
            fields["tag"] = [{"type": "Mention", "href": self.alice_uri, "name": "@alice"}]
            fields["cc"] = [self.carol.followers, self.alice_uri]
        fields.update(extra)
        return self.remote.note(self.carol, content, **fields)

    def create(self, note: dict[str, Any]) -> dict[str, Any]:
        return self.remote.activity(
            self.carol, "Create", note, to=note.get("to"), cc=note.get("cc", [])
        )

    async def status_id(self, uri: str) -> str:
        found = await rows(self.local, "SELECT id FROM statuses WHERE uri = $1", uri)
        assert found, uri
        return str(found[0]["id"])

    async def seen(self, status_id: str, *related: str) -> dict[str, Any]:
        """What Alice and the database show about a post (and posts related to it)."""
        return await observe(
            self.api, self.local, self.alice, status_id, self.tap, self.roles, related=related
        )

    async def alices_posts(self, text: str, **fields: Any) -> tuple[dict[str, Any], ...]:
        """Two posts of Alice's, one for each side to act on, both named `POST`."""
        made = (
            await post(self.api, self.alice, f"{text} (Bob's)", **fields),
            await post(self.api, self.alice, f"{text} (Carol's)", **fields),
        )
        for status in made:
            self.roles.add(status["id"], "POST")
        return made

    async def actor_counts(self, account_id: str) -> dict[str, Any]:
        return self.roles.normalize(await account_counts(self.api, self.alice, account_id))


async def test_post_mentioning_a_follower(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()

    mine = await sides.by_bob("post", "/api/v1/statuses", status="hello @alice")
    sides.roles.add(mine["id"], "NEW")
    local_side = await sides.seen(mine["id"])
    local_side["actor"] = await sides.actor_counts(sides.bob.id)

    note = sides.note(f'<p>hello <a href="{sides.alice_uri}">@alice</a></p>')
    await sides.by_carol(sides.create(note))
    theirs = await sides.status_id(note["id"])
    sides.roles.add(theirs, "NEW")
    remote_side = await sides.seen(theirs)
    remote_side["actor"] = await sides.actor_counts(sides.carol_id)

    # Alice is mentioned and asked to hear of the author's posts: she is told both ways,
    # as Mastodon tells her (a mention, and the post of someone she rings the bell for).
    assert local_side["notifications"] == [
        {"type": "status", "account": ACTOR, "status": "NEW"},
        {"type": "mention", "account": ACTOR, "status": "NEW"},
    ]
    assert ["user", "update", "NEW"] in local_side["streams"]
    assert local_side["actor"]["statuses_count"] == 1
    assert local_side == remote_side


async def test_reply_to_a_post(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()
    for_bob, for_carol = await sides.alices_posts("to answer")

    reply = await sides.by_bob(
        "post", "/api/v1/statuses", status="@alice yes", in_reply_to_id=for_bob["id"]
    )
    sides.roles.add(reply["id"], "REPLY")
    local_side = await sides.seen(for_bob["id"], reply["id"])
    local_side["thread"] = sides.roles.normalize(await thread(api, sides.alice, for_bob["id"]))

    note = sides.note("<p>@alice yes</p>", inReplyTo=for_carol["uri"])
    await sides.by_carol(sides.create(note))
    theirs = await sides.status_id(note["id"])
    sides.roles.add(theirs, "REPLY")
    remote_side = await sides.seen(for_carol["id"], theirs)
    remote_side["thread"] = sides.roles.normalize(await thread(api, sides.alice, for_carol["id"]))

    assert local_side["post"]["replies_count"] == 1
    assert local_side["notifications"] == [{"type": "mention", "account": ACTOR, "status": "REPLY"}]
    assert local_side["thread"] == {"ancestors": [], "descendants": ["REPLY"]}
    assert local_side == remote_side


async def test_direct_reply(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()

    for_bob = await post(api, sides.alice, "@bob for you", visibility="direct")
    sides.roles.add(for_bob["id"], "POST")
    reply = await sides.by_bob(
        "post",
        "/api/v1/statuses",
        status="@alice psst",
        in_reply_to_id=for_bob["id"],
        visibility="direct",
    )
    sides.roles.add(reply["id"], "REPLY")
    local_side = await sides.seen(for_bob["id"], reply["id"])
    local_side["conversation"] = sides.roles.normalize(await conversations(api, sides.alice))[0]
    local_side["actor"] = await sides.actor_counts(sides.bob.id)

    # Carol answers a direct post Alice sent her (its id is all the reply needs).
    for_carol = await post(api, sides.alice, "for Carol", visibility="direct")
    sides.roles.add(for_carol["id"], "POST")
    note = sides.note("<p>@alice psst</p>", inReplyTo=for_carol["uri"], to=[sides.alice_uri], cc=[])
    await sides.by_carol(sides.create(note))
    theirs = await sides.status_id(note["id"])
    sides.roles.add(theirs, "REPLY")
    remote_side = await sides.seen(for_carol["id"], theirs)
    remote_side["conversation"] = sides.roles.normalize(await conversations(api, sides.alice))[0]
    remote_side["actor"] = await sides.actor_counts(sides.carol_id)

    # Direct posts count nowhere; Alice's conversation with the author, most recent
    # first, ends with the reply and is unread.
    assert local_side["post"]["replies_count"] == 0
    assert local_side["actor"]["statuses_count"] == 0
    assert local_side["notifications"] == [{"type": "mention", "account": ACTOR, "status": "REPLY"}]
    assert local_side["conversation"] == {
        "accounts": [ACTOR],
        "last_status": "REPLY",
        "unread": True,
    }
    assert local_side == remote_side


async def test_edit_of_a_boosted_post(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()
    mine = await sides.by_bob("post", "/api/v1/statuses", status="first")
    note = sides.note("<p>first</p>", mention=False)
    await sides.by_carol(sides.create(note))
    theirs = await sides.status_id(note["id"])
    for status_id in (mine["id"], theirs):
        sides.roles.add(status_id, "POST")
        code, boost = await act(api, sides.alice, f"/api/v1/statuses/{status_id}/reblog")
        assert code == 200, boost
        sides.roles.add(boost["id"], "BOOST")

    await sides.by_bob("put", f"/api/v1/statuses/{mine['id']}", status="second")
    await sides.by_bob("put", f"/api/v1/statuses/{mine['id']}", status="third @alice")
    local_side = await sides.seen(mine["id"])
    local_side["history"] = await history(api, sides.alice, mine["id"])

    mention = {"type": "Mention", "href": sides.alice_uri, "name": "@alice"}
    for content, updated, tags in (
        ("<p>second</p>", now_ms() - 20_000, []),
        (f'<p>third <a href="{sides.alice_uri}">@alice</a></p>', now_ms() - 10_000, [mention]),
    ):
        edited = {**note, "content": content, "updated": _iso(updated), "tag": tags}
        sides.remote.put(edited)
        await sides.by_carol(sides.remote.activity(sides.carol, "Update", edited))
    remote_side = await sides.seen(theirs)
    remote_side["history"] = await history(api, sides.alice, theirs)

    # Alice boosted the post: she hears of each edit, the latest replacing the earlier
    # one (as Mastodon); the edit that tags her mentions her; her home shows it again.
    assert local_side["notifications"] == [
        {"type": "mention", "account": ACTOR, "status": "POST"},
        {"type": "update", "account": ACTOR, "status": "POST"},
        {"type": "status", "account": ACTOR, "status": "POST"},
    ]
    assert ["user", "status.update", "POST"] in local_side["streams"]
    assert [v["text"] for v in local_side["history"]] == ["first", "second", "third @alice"]
    assert local_side == remote_side


async def test_delete_of_a_boosted_reply(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()
    for_bob, for_carol = await sides.alices_posts("to answer")

    async def liked_and_boosted(status_id: str) -> None:
        sides.roles.add(status_id, "REPLY")
        for action in ("favourite", "reblog"):
            code, body = await act(api, sides.alice, f"/api/v1/statuses/{status_id}/{action}")
            assert code == 200, body
        sides.roles.add(body["id"], "BOOST")

    reply = await sides.by_bob(
        "post", "/api/v1/statuses", status="@alice yes", in_reply_to_id=for_bob["id"]
    )
    await liked_and_boosted(reply["id"])
    await sides.by_bob("delete", f"/api/v1/statuses/{reply['id']}")
    local_side = await sides.seen(for_bob["id"], reply["id"])
    local_side["actor"] = await sides.actor_counts(sides.bob.id)

    note = sides.note("<p>@alice yes</p>", inReplyTo=for_carol["uri"])
    await sides.by_carol(sides.create(note))
    theirs = await sides.status_id(note["id"])
    await liked_and_boosted(theirs)
    tombstone = {"id": note["id"], "type": "Tombstone"}
    await sides.by_carol(sides.remote.activity(sides.carol, "Delete", tombstone, to=[PUBLIC]))
    remote_side = await sides.seen(for_carol["id"], theirs)
    remote_side["actor"] = await sides.actor_counts(sides.carol_id)

    # The reply's counts are undone, Alice's boost of it goes, the notifications about
    # it go with it (as Mastodon destroys them), and her home hears of both deletions.
    assert local_side["post"]["replies_count"] == 0
    assert local_side["author"]["statuses_count"] == 2
    assert local_side["actor"]["statuses_count"] == 0
    assert local_side["notifications"] == []
    assert local_side["rows of related"] == [
        {"favourites": 1, "bookmarks": 0, "statuses": 0, "notifications": 0}
    ]
    assert ["user", "delete", "REPLY"] in local_side["streams"]
    assert ["user", "delete", "BOOST"] in local_side["streams"]
    assert local_side == remote_side


async def test_poll_vote(api: Any, local: Runtime, remote: RemoteServer) -> None:
    sides = Sides(api, local, remote)
    await sides.start()
    for_bob, for_carol = await sides.alices_posts("Which?", poll=POLL)

    async def polled(status: dict[str, Any]) -> dict[str, Any]:
        seen = await sides.seen(status["id"])
        seen["poll"] = await poll_counts(api, sides.alice, status["poll"]["id"])
        seen["votes"] = sides.roles.normalize(await vote_rows(local, int(status["poll"]["id"])))
        seen["federated"] = await federated(local, int(status["id"]))
        return seen

    await sides.by_bob("post", f"/api/v1/polls/{for_bob['poll']['id']}/votes", choices=[1])
    local_side = await polled(for_bob)

    vote = sides.remote.note(
        sides.carol,
        "",
        name="coffee",
        inReplyTo=for_carol["uri"],
        to=[sides.alice_uri],
        cc=[],
    )
    del vote["content"]
    await sides.by_carol(sides.create(vote))
    remote_side = await polled(for_carol)

    # Counted the same; the vote is no post; the poll's new counts go out to those who
    # saw it (an Update of the Question, as Mastodon distributes after any vote).
    assert local_side["poll"] == {"votes_count": 1, "voters_count": 1, "options": [0, 1, 0]}
    assert local_side["votes"] == [{"account": ACTOR, "choice": 1}]
    assert local_side["federated"] == ["status.created", "poll.voted"]
    assert local_side["notifications"] == []
    assert local_side == remote_side
    assert not await rows(local, "SELECT id FROM statuses WHERE uri = $1", vote["id"])
