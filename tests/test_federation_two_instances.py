"""Two live instances on 127.0.0.1 federating over real HTTP with real signatures.

Instance A runs on each test backend; instance B on SQLite. Every action is made
through one instance's Mastodon API and checked through the other's, as a person
using two apps on two servers would see it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.fakes.peers import (
    Instance,
    eventually,
    follow_accepted,
    follow_across,
    peer_config,
    relationship_with,
    resolve,
    status_on,
    true_when,
)
from tests.social import act, get, make_user, post

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def test_follow_post_reply_interact_edit_delete(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    remote_alice = await follow_across(b, bob, a, alice)
    await eventually(
        lambda: true_when(lambda: relationship_with(b, bob, remote_alice), "following", True),
        "the Accept of bob's follow",
    )
    code, followers = await get(a.client, alice, f"/api/v1/accounts/{alice.id}/followers")
    assert [f["acct"] for f in followers] == [f"bob@{b.host}"]

    # Public and private posts reach the follower; a direct one only whom it mentions.
    public = await post(a.client, alice, "Hello from A #federation")
    unlisted = await post(a.client, alice, "quietly public", visibility="unlisted")
    private = await post(a.client, alice, "followers only", visibility="private")
    for sent in (public, unlisted, private):
        seen = await eventually(lambda s=sent: status_on(b, bob, s["uri"]), "a post on B")
        # The same text; links get the receiving server's safe `rel`, as on Mastodon.
        assert _text(seen["content"]) == _text(sent["content"])
        assert seen["visibility"] == sent["visibility"]
        assert seen["account"]["acct"] == f"alice@{a.host}"

    # A reply from B threads under the post on A and notifies its author.
    remote_public = await status_on(b, bob, public["uri"])
    assert remote_public is not None
    reply = await post(
        b.client,
        bob,
        f"@alice@{a.host} welcome!",
        in_reply_to_id=remote_public["id"],
    )

    async def replied() -> list[Any]:
        _code, context = await get(a.client, alice, f"/api/v1/statuses/{public['id']}/context")
        return [s for s in context["descendants"] if s["uri"] == reply["uri"]]

    await eventually(replied, "the reply on A")

    async def mentioned() -> list[Any]:
        _code, notes = await get(a.client, alice, "/api/v1/notifications?types[]=mention")
        return notes

    notes = await eventually(mentioned, "the mention notification on A")
    assert notes[0]["account"]["acct"] == f"bob@{b.host}"

    # Favourite and boost from B count on A.
    for action in ("favourite", "reblog"):
        code, _ = await act(b.client, bob, f"/api/v1/statuses/{remote_public['id']}/{action}")
        assert code == 200

    async def counted() -> bool:
        _code, status = await get(a.client, alice, f"/api/v1/statuses/{public['id']}")
        return status["favourites_count"] == 1 and status["reblogs_count"] == 1

    await eventually(counted, "the favourite and boost on A")

    # An edit shows on B with its history; a delete removes it there.
    response = await a.client.put(
        f"/api/v1/statuses/{public['id']}", headers=alice.headers, json={"status": "Edited"}
    )
    assert response.status_code == 200

    async def edited() -> bool:
        code, status = await get(b.client, bob, f"/api/v1/statuses/{remote_public['id']}")
        return code == 200 and status["edited_at"] is not None and "Edited" in status["content"]

    await eventually(edited, "the edit on B")
    response = await a.client.delete(f"/api/v1/statuses/{public['id']}", headers=alice.headers)
    assert response.status_code == 200

    async def deleted() -> bool:
        code, _ = await get(b.client, bob, f"/api/v1/statuses/{remote_public['id']}")
        return code == 404

    await eventually(deleted, "the delete on B")


async def test_direct_messages_reach_only_the_mentioned(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    carol = await make_user(b.rt, b.client, "carol")
    await follow_accepted(b, carol, a, alice)
    await resolve(a, alice, f"bob@{b.host}")
    direct = await post(a.client, alice, f"psst @bob@{b.host}", visibility="direct")

    async def arrived() -> list[Any]:
        _code, convs = await get(b.client, bob, "/api/v1/conversations")
        return [c for c in convs if c["last_status"]["uri"] == direct["uri"]]

    await eventually(arrived, "the direct message on B")
    # carol follows alice but was not addressed: she never sees it.
    await trio.sleep(0.5)
    assert await status_on(b, carol, direct["uri"]) is None
    _code, found = await get(b.client, carol, f"/api/v2/search?q={direct['uri']}&resolve=true")
    assert found["statuses"] == []


async def test_locked_account_request_block_and_profile_update(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    response = await a.client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"locked": True}
    )
    assert response.status_code == 200
    remote_alice = await follow_across(b, bob, a, alice)

    async def requested() -> list[Any]:
        _code, found = await get(a.client, alice, "/api/v1/follow_requests")
        return found

    [request] = await eventually(requested, "the follow request on A")
    assert request["acct"] == f"bob@{b.host}"
    code, _ = await act(a.client, alice, f"/api/v1/follow_requests/{request['id']}/authorize")
    assert code == 200

    async def relationship() -> dict[str, Any]:
        _code, rels = await get(
            b.client, bob, f"/api/v1/accounts/relationships?id[]={remote_alice['id']}"
        )
        return rels[0]

    await eventually(
        lambda: true_when(relationship, "following", True), "the authorized follow on B"
    )

    # A profile change reaches B.
    response = await a.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"display_name": "Alice of A"},
    )
    assert response.status_code == 200

    async def renamed() -> bool:
        _code, account = await get(b.client, bob, f"/api/v1/accounts/{remote_alice['id']}")
        return account["display_name"] == "Alice of A"

    await eventually(renamed, "the profile update on B")

    # A block from A ends bob's follow on both sides.
    code, _ = await act(a.client, alice, f"/api/v1/accounts/{request['id']}/block")
    assert code == 200
    await eventually(
        lambda: true_when(relationship, "following", False), "the block's unfollow on B"
    )
    code, followers = await get(a.client, alice, f"/api/v1/accounts/{alice.id}/followers")
    assert followers == []


async def test_poll_vote_crosses_over(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    await follow_accepted(b, bob, a, alice)
    asked = await post(
        a.client, alice, "Tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in": 3600}
    )
    seen = await eventually(lambda: status_on(b, bob, asked["uri"]), "the poll on B")
    assert [o["title"] for o in seen["poll"]["options"]] == ["tea", "coffee"]
    code, voted = await act(b.client, bob, f"/api/v1/polls/{seen['poll']['id']}/votes", choices=[1])
    assert code == 200, voted

    async def tallied() -> bool:
        _code, poll = await get(a.client, alice, f"/api/v1/polls/{asked['poll']['id']}")
        return poll["votes_count"] == 1 and poll["options"][1]["votes_count"] == 1

    await eventually(tallied, "the vote on A")


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def test_unfollow_and_account_move(a: Instance, b: Instance) -> None:
    from wildebeest_trio.services import moves

    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    carol = await make_user(b.rt, b.client, "carol")
    newalice = await make_user(b.rt, b.client, "newalice")
    remote_alice = await follow_accepted(b, bob, a, alice)
    await follow_accepted(b, carol, a, alice)

    # bob unfollows: A forgets him.
    code, _ = await act(b.client, bob, f"/api/v1/accounts/{remote_alice['id']}/unfollow")
    assert code == 200

    async def followers_on_a() -> list[str] | None:
        _, found = await get(a.client, alice, f"/api/v1/accounts/{alice.id}/followers")
        accts = sorted(f["acct"] for f in found)
        return accts if accts == [f"carol@{b.host}"] else None

    await eventually(followers_on_a, "the Undo of bob's follow on A")

    # alice moves to newalice on B: the new account names the old one first.
    await moves.add_alias(b.rt, "newalice", f"alice@{a.host}")
    await moves.start_move(a.rt, "alice", f"newalice@{b.host}")

    async def moved() -> bool:
        rel = await relationship_with(b, carol, {"id": newalice.id})
        return rel["following"]

    await eventually(moved, "carol following the new account on B")
    code, old = await get(b.client, carol, f"/api/v1/accounts/{remote_alice['id']}")
    assert old["moved"]["acct"] == "newalice"
    assert (await relationship_with(b, carol, remote_alice))["following"] is False
