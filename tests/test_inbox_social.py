"""Inbound Follow, Accept, Reject, Undo, Block, Move and Flag, seen through the API."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import accept_our_request, account_id_of, rows
from tests.social import User, act, get, make_user
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)


async def _outbox(rt: Runtime, event: str) -> list[dict[str, Any]]:
    found = await rows(rt, "SELECT * FROM outbox WHERE event = $1 ORDER BY id", event)
    for row in found:
        row["payload"] = json.loads(row["payload"])
    return found


async def _notifications(rt: Runtime, user: User) -> list[tuple[str, int]]:
    found = await rows(
        rt,
        "SELECT type, from_account_id FROM notifications WHERE account_id = $1 ORDER BY id",
        int(user.id),
    )
    return [(r["type"], r["from_account_id"]) for r in found]


async def _relationship(api: Any, user: User, account_id: int) -> dict[str, Any]:
    status, body = await get(api, user, f"/api/v1/accounts/relationships?id[]={account_id}")
    assert status == 200
    return body[0]


async def test_follow_is_accepted_and_undone(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, follow) == 202
    await drain(local)
    bob_id = await account_id_of(local, bob.uri)
    assert (await _relationship(api, alice, bob_id))["followed_by"] is True
    status, me = await get(api, alice, "/api/v1/accounts/verify_credentials")
    assert status == 200 and me["followers_count"] == 1
    assert await _notifications(local, alice) == [("follow", bob_id)]
    # The Accept goes back through the outbox, naming the Follow it answers.
    accepted = await _outbox(local, "follow_request.authorized")
    assert [e["payload"] for e in accepted] == [{"requester_id": bob_id, "uri": follow["id"]}]
    undo = remote.activity(bob, "Undo", follow)
    assert await deliver(api, local, bob, undo) == 202
    await drain(local)
    assert (await _relationship(api, alice, bob_id))["followed_by"] is False
    status, me = await get(api, alice, "/api/v1/accounts/verify_credentials")
    assert status == 200 and me["followers_count"] == 0
    assert await _notifications(local, alice) == []  # the undone follow's notification goes


async def test_follow_of_a_locked_account_is_a_request(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    response = await api.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"locked": True}
    )
    assert response.status_code == 200
    bob = remote.actor("bob")
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, follow, path="/users/alice/inbox") == 202
    await drain(local)
    bob_id = await account_id_of(local, bob.uri)
    status, requests = await get(api, alice, "/api/v1/follow_requests")
    assert status == 200 and [r["id"] for r in requests] == [str(bob_id)]
    assert await _notifications(local, alice) == [("follow_request", bob_id)]
    assert (await _relationship(api, alice, bob_id))["followed_by"] is False
    # Authorizing it records the Accept with the Follow's id.
    status, _ = await act(api, alice, f"/api/v1/follow_requests/{bob_id}/authorize")
    assert status == 200
    accepted = await _outbox(local, "follow_request.authorized")
    assert accepted[-1]["payload"]["uri"] == follow["id"]


async def _follow_remote(
    api: Any, local: Runtime, user: User, actor_uri: str, *, accepted: bool = False
) -> tuple[int, dict[str, Any]]:
    await refresh_actor(local, actor_uri)
    account_id = await account_id_of(local, actor_uri)
    status, body = await act(api, user, f"/api/v1/accounts/{account_id}/follow")
    assert status == 200, body
    assert body["requested"] and not body["following"]  # until the other server accepts
    if accepted:
        await accept_our_request(local, int(user.id), account_id)
    return account_id, body


async def _set_request_uri(local: Runtime, account_id: int, uri: str) -> None:
    # What the outbound side records as our Follow's id when it sends it.
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE follow_requests SET uri = $1 WHERE target_account_id = $2", uri, account_id
        )

    await local.store.write(unit)


async def test_accept_and_reject_of_our_follow_requests(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob", locked=True)
    carol = remote.actor("carol", locked=True)
    bob_id, relation = await _follow_remote(api, local, alice, bob.uri)
    assert relation["requested"] is True and relation["following"] is False
    carol_id, _ = await _follow_remote(api, local, alice, carol.uri)
    our_follow = f"{local.config.base_url}/users/alice#follows/1"
    await _set_request_uri(local, bob_id, our_follow)
    # Accept naming our Follow by id.
    assert await deliver(api, local, bob, remote.activity(bob, "Accept", our_follow)) == 202
    # Reject with the Follow embedded (no id we know).
    embedded = {
        "type": "Follow",
        "id": "https://unknown.example/x",
        "actor": f"{local.config.base_url}/users/alice",
        "object": carol.uri,
    }
    assert await deliver(api, local, carol, remote.activity(carol, "Reject", embedded)) == 202
    await drain(local)
    assert (await _relationship(api, alice, bob_id))["following"] is True
    rel = await _relationship(api, alice, carol_id)
    assert rel["following"] is False and rel["requested"] is False
    # An Accept from someone else for bob's request changes nothing.
    dave = remote.actor("dave")
    assert await deliver(api, local, dave, remote.activity(dave, "Reject", our_follow)) == 202
    await drain(local)
    assert (await _relationship(api, alice, bob_id))["following"] is True


async def test_block_removes_follows_both_ways(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    bob_id, _ = await _follow_remote(api, local, alice, bob.uri, accepted=True)
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    await deliver(api, local, bob, follow)
    await drain(local)
    rel = await _relationship(api, alice, bob_id)
    assert rel["following"] and rel["followed_by"]
    block = remote.activity(bob, "Block", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, block) == 202
    await drain(local)
    rel = await _relationship(api, alice, bob_id)
    assert not rel["following"] and not rel["followed_by"] and rel["blocked_by"]
    assert await deliver(api, local, bob, remote.activity(bob, "Undo", block)) == 202
    await drain(local)
    assert (await _relationship(api, alice, bob_id))["blocked_by"] is False


async def test_move_migrates_local_followers(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    old = remote.actor("old")
    new = remote.actor("new", also_known_as=[old.uri])
    impostor = remote.actor("impostor")
    old_id, _ = await _follow_remote(api, local, alice, old.uri, accepted=True)
    # A move to an account that does not name the origin as an alias is refused.
    bad = remote.activity(old, "Move", old.uri, target=impostor.uri)
    assert await deliver(api, local, old, bad) == 202
    await drain(local)
    assert (await _relationship(api, alice, old_id))["following"] is True
    move = remote.activity(old, "Move", old.uri, target=new.uri)
    assert await deliver(api, local, old, move) == 202
    await drain(local)
    new_id = await account_id_of(local, new.uri)
    assert (await _relationship(api, alice, old_id))["following"] is False
    # The new account is remote: asked to be followed, until its server accepts.
    assert (await _relationship(api, alice, new_id))["requested"] is True
    moved = await rows(local, "SELECT moved_to_account_id FROM accounts WHERE id = $1", old_id)
    assert moved == [{"moved_to_account_id": new_id}]
    created = await _outbox(local, "follow.requested")
    assert created[-1]["payload"] == {"target_account_id": new_id}


async def test_flag_becomes_a_report_for_the_admins(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    admin = await make_user(local, api, "moderator7")

    async def promote(conn: Connection) -> None:
        await conn.execute("UPDATE users SET role = 'admin' WHERE account_id = $1", int(admin.id))

    await local.store.write(promote)
    status, posted = await act(api, alice, "/api/v1/statuses", status="spam spam")
    assert status == 200
    bob = remote.actor("bob")
    flag = remote.activity(
        bob,
        "Flag",
        [f"{local.config.base_url}/users/alice", posted["uri"]],
        content="This is spam " + "x" * 6000,
    )
    assert await deliver(api, local, bob, flag) == 202
    await drain(local)
    reports = await rows(local, "SELECT * FROM reports")
    assert len(reports) == 1
    report = reports[0]
    assert report["uri"] == flag["id"]
    assert report["target_account_id"] == int(alice.id)
    assert json.loads(report["status_ids"]) == [int(posted["id"])]
    assert len(report["comment"]) == 5000
    bob_id = await account_id_of(local, bob.uri)
    assert await _notifications(local, admin) == [("admin.report", bob_id)]
    assert await _notifications(local, alice) == []


async def _followed_by_remote(
    api: Any, local: Runtime, remote: RemoteServer, user: User, name: str
) -> tuple[Any, int, dict[str, Any]]:
    """A remote actor whose Follow of `user` was accepted: (actor, its id, the Follow)."""
    actor = remote.actor(name)
    follow = remote.activity(actor, "Follow", f"{local.config.base_url}/users/{user.name}")
    assert await deliver(api, local, actor, follow) == 202
    await drain(local)
    actor_id = await account_id_of(local, actor.uri)
    assert (await _relationship(api, user, actor_id))["followed_by"] is True
    return actor, actor_id, follow


async def test_blocking_a_remote_follower_rejects_its_follow(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob, bob_id, follow = await _followed_by_remote(api, local, remote, alice, "bob")
    status, rel = await act(api, alice, f"/api/v1/accounts/{bob_id}/block")
    assert status == 200 and rel["blocking"] and not rel["followed_by"]
    # Mastodon's BlockService: the follower's server gets a Reject of its Follow, then
    # the Block.
    rejected = await _outbox(local, "follow_request.rejected")
    assert [e["payload"] for e in rejected] == [{"requester_id": bob_id, "uri": follow["id"]}]
    assert len(await _outbox(local, "block.created")) == 1
    # Following again is refused with a Reject of its own (not one id for every refusal).
    again = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, again) == 202
    await drain(local)
    rejected = await _outbox(local, "follow_request.rejected")
    assert rejected[-1]["payload"] == {"requester_id": bob_id, "uri": again["id"]}
    assert rejected[-1]["object_id"] is not None
    assert len({e["object_id"] for e in rejected}) == 2
    assert (await _relationship(api, alice, bob_id))["followed_by"] is False


async def test_remove_from_followers(api: Any, local: Runtime, remote: RemoteServer) -> None:
    alice = await make_user(local, api, "alice")
    carol = await make_user(local, api, "carol")
    _, bob_id, follow = await _followed_by_remote(api, local, remote, alice, "bob")
    status, _ = await act(api, carol, f"/api/v1/accounts/{alice.id}/follow")
    assert status == 200
    for follower_id in (bob_id, int(carol.id)):
        status, rel = await act(api, alice, f"/api/v1/accounts/{follower_id}/remove_from_followers")
        assert status == 200 and rel["followed_by"] is False and rel["blocking"] is False
    status, me = await get(api, alice, "/api/v1/accounts/verify_credentials")
    assert me["followers_count"] == 0
    assert await _notifications(local, alice) == []  # their follow notifications went too
    # Only the remote follower's server is told: a Reject of its Follow.
    rejected = await _outbox(local, "follow_request.rejected")
    assert [e["payload"] for e in rejected] == [{"requester_id": bob_id, "uri": follow["id"]}]
    # An unknown account is a 404.
    status, _ = await act(api, alice, "/api/v1/accounts/12345/remove_from_followers")
    assert status == 404


async def test_follow_from_a_domain_the_user_blocks_is_rejected(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    response = await api.post(
        "/api/v1/domain_blocks", headers=alice.headers, json={"domain": bob.host}
    )
    assert response.status_code == 200
    follow = remote.activity(bob, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, bob, follow) == 202
    await drain(local)
    bob_id = await account_id_of(local, bob.uri)
    assert (await _relationship(api, alice, bob_id))["followed_by"] is False
    rejected = await _outbox(local, "follow_request.rejected")
    assert [e["payload"] for e in rejected] == [{"requester_id": bob_id, "uri": follow["id"]}]
    # Nor may she follow an account of that domain.
    status, body = await act(api, alice, f"/api/v1/accounts/{bob_id}/follow")
    assert status == 403, body


async def test_move_keeps_options_lists_and_blocked_followers(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    dave = await make_user(local, api, "dave")
    frank = await make_user(local, api, "frank")
    old = remote.actor("old")
    old_id, _ = await _follow_remote(api, local, alice, old.uri, accepted=True)
    await _follow_remote(api, local, dave, old.uri, accepted=True)
    status, _ = await act(
        api, alice, f"/api/v1/accounts/{old_id}/follow", reblogs=False, languages=["fr"]
    )
    assert status == 200
    status, listed = await act(api, alice, "/api/v1/lists", title="Friends")
    assert status == 200
    path = f"/api/v1/lists/{listed['id']}/accounts"
    assert (await act(api, alice, path, account_ids=[str(old_id)]))[0] == 200
    # Old moves to local Frank, who names it as an alias; Dave blocks Frank.
    await _set_aliases(local, int(frank.id), [old.uri])
    assert (await act(api, dave, f"/api/v1/accounts/{frank.id}/block"))[0] == 200
    move = remote.activity(old, "Move", old.uri, target=f"{local.config.base_url}/users/frank")
    assert await deliver(api, local, old, move) == 202
    await drain(local)
    rel = await _relationship(api, alice, int(frank.id))
    assert (rel["following"], rel["showing_reblogs"], rel["languages"]) == (True, False, ["fr"])
    assert (await _relationship(api, alice, old_id))["following"] is False
    # The list holds the new account in place of the old one.
    status, members = await get(api, alice, path)
    assert status == 200 and [m["id"] for m in members] == [frank.id]
    # Dave is not moved, and keeps following the old account (as on Mastodon).
    assert (await _relationship(api, dave, old_id))["following"] is True
    rel = await _relationship(api, dave, int(frank.id))
    assert not rel["following"] and not rel["requested"]


async def _set_aliases(local: Runtime, account_id: int, aliases: list[str]) -> None:
    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE accounts SET also_known_as = $1 WHERE id = $2", json.dumps(aliases), account_id
        )

    await local.store.write(unit)


async def test_move_carries_blocks_mutes_and_notes_over(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice, dave, erin, gina, frank = [
        await make_user(local, api, name) for name in ("alice", "dave", "erin", "gina", "frank")
    ]
    old = remote.actor("old")
    await refresh_actor(local, old.uri)
    old_id = await account_id_of(local, old.uri)
    # Gina blocks the old account but follows the new one: her block stays where it was.
    for user, action, fields in (
        (alice, "block", {}),
        (dave, "mute", {"notifications": False}),
        (erin, "note", {"comment": "met at FOSDEM"}),
        (gina, "block", {}),
    ):
        assert (await act(api, user, f"/api/v1/accounts/{old_id}/{action}", **fields))[0] == 200
    assert (await act(api, gina, f"/api/v1/accounts/{frank.id}/follow"))[0] == 200
    await _set_aliases(local, int(frank.id), [old.uri])
    move = remote.activity(old, "Move", old.uri, target=f"{local.config.base_url}/users/frank")
    assert await deliver(api, local, old, move) == 202
    await drain(local)
    name = f"old@{old.host}"
    rel = await _relationship(api, alice, int(frank.id))
    assert rel["blocking"] is True
    assert rel["note"] == f"This user moved from {name}, which you had blocked."
    rel = await _relationship(api, dave, int(frank.id))
    assert (rel["muting"], rel["muting_notifications"]) == (True, False)
    assert rel["note"] == f"This user moved from {name}, which you had muted."
    rel = await _relationship(api, erin, int(frank.id))
    assert rel["note"] == (
        f"This user moved from {name}, here were your previous notes about them:\nmet at FOSDEM"
    )
    rel = await _relationship(api, gina, int(frank.id))
    assert rel["following"] is True and rel["blocking"] is False and rel["note"] == ""
