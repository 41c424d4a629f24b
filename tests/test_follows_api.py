"""Following local accounts: follows, locked accounts and requests, relationships, lists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.social import User, act, follow, get, make_user, post, token_with
from wildebeest_trio.runtime import Runtime

RELATIONSHIP_KEYS = {
    "id",
    "following",
    "showing_reblogs",
    "notifying",
    "languages",
    "followed_by",
    "blocking",
    "blocked_by",
    "muting",
    "muting_notifications",
    "muting_expires_at",
    "requested",
    "requested_by",
    "domain_blocking",
    "endorsed",
    "note",
}


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await make_user(rt, client, "alice")


# Sequential on purpose: the users sign in through the same test client.
@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await make_user(rt, client, "bob")


@pytest.fixture
async def carol(rt: Runtime, client: Any, bob: User) -> User:
    return await make_user(rt, client, "carol")


async def counts(client: Any, user: User) -> tuple[int, int]:
    _, account = await get(client, None, f"/api/v1/accounts/{user.id}")
    return account["followers_count"], account["following_count"]


async def test_follow_unfollow_and_relationships(
    client: Any, alice: User, bob: User, carol: User
) -> None:
    rel = await follow(client, alice, bob)
    assert set(rel) == RELATIONSHIP_KEYS
    assert rel["id"] == bob.id and rel["following"] is True and rel["showing_reblogs"] is True
    assert rel["followed_by"] is False and rel["requested"] is False
    rel = await follow(client, alice, bob)  # following again is harmless
    assert rel["following"] is True
    assert await counts(client, alice) == (0, 1)
    assert await counts(client, bob) == (1, 0)
    await follow(client, bob, alice)
    await follow(client, carol, bob)
    assert await counts(client, bob) == (2, 1)

    code, rels = await get(
        client, alice, f"/api/v1/accounts/relationships?id[]={bob.id}&id[]={carol.id}&id[]=42"
    )
    assert code == 200 and [r["id"] for r in rels] == [bob.id, carol.id]
    assert rels[0]["following"] and rels[0]["followed_by"]
    assert not rels[1]["following"] and not rels[1]["followed_by"]

    code, rel = await act(
        client,
        alice,
        f"/api/v1/accounts/{bob.id}/follow",
        reblogs=False,
        notify=True,
        languages=["en", "de"],
    )
    assert rel["showing_reblogs"] is False and rel["notifying"] is True
    assert rel["languages"] == ["en", "de"]

    code, followers = await get(client, carol, f"/api/v1/accounts/{bob.id}/followers")
    assert code == 200 and [a["id"] for a in followers] == [carol.id, alice.id]
    code, following = await get(client, None, f"/api/v1/accounts/{alice.id}/following")
    assert [a["id"] for a in following] == [bob.id]
    response = await client.get(f"/api/v1/accounts/{bob.id}/followers?limit=1")
    assert 'rel="next"' in response.headers["Link"]

    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    assert code == 200 and rel["following"] is False and rel["followed_by"] is True
    assert await counts(client, alice) == (1, 0)
    assert await counts(client, bob) == (1, 1)
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    assert code == 200 and rel["following"] is False

    assert (await act(client, alice, f"/api/v1/accounts/{alice.id}/follow"))[0] == 403
    assert (await act(client, alice, "/api/v1/accounts/4242/follow"))[0] == 404
    assert (await act(client, alice, "/api/v1/accounts/abc/follow"))[0] == 404
    assert (await get(client, alice, "/api/v1/accounts/4242/followers"))[0] == 404
    read_only = {"Authorization": f"Bearer {await token_with(client, alice, 'read')}"}
    response = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=read_only)
    assert response.status_code == 403
    follow_scope = {"Authorization": f"Bearer {await token_with(client, alice, 'follow')}"}
    response = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=follow_scope)
    assert response.status_code == 200  # `follow` is the old alias of write:follows
    assert (await client.get("/api/v1/accounts/relationships")).status_code == 401


async def test_hidden_collections(client: Any, alice: User, bob: User) -> None:
    await follow(client, alice, bob)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bob.headers,
        json={"hide_collections": True},
    )
    assert response.status_code == 200
    assert (await get(client, alice, f"/api/v1/accounts/{bob.id}/followers"))[1] == []
    _, own = await get(client, bob, f"/api/v1/accounts/{bob.id}/followers")
    assert [a["id"] for a in own] == [alice.id]


async def test_locked_accounts_get_requests(client: Any, alice: User, bob: User) -> None:
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=bob.headers, json={"locked": True}
    )
    assert response.status_code == 200
    private = await post(client, bob, "for approved followers", visibility="private")
    rel = await follow(client, alice, bob)
    assert rel["following"] is False and rel["requested"] is True
    assert await counts(client, bob) == (0, 0)
    assert (await get(client, alice, f"/api/v1/statuses/{private['id']}"))[0] == 404
    code, requests = await get(client, bob, "/api/v1/follow_requests")
    assert [a["id"] for a in requests] == [alice.id]
    code, rels = await get(client, bob, f"/api/v1/accounts/relationships?id[]={alice.id}")
    assert rels[0]["requested_by"] is True

    code, rel = await act(client, bob, f"/api/v1/follow_requests/{alice.id}/authorize")
    assert code == 200 and rel["followed_by"] is True and rel["requested_by"] is False
    assert await counts(client, bob) == (1, 0)
    assert (await get(client, alice, f"/api/v1/statuses/{private['id']}"))[0] == 200
    assert (await get(client, bob, "/api/v1/follow_requests"))[1] == []
    assert (await act(client, bob, f"/api/v1/follow_requests/{alice.id}/authorize"))[0] == 404

    # A second request, rejected; and a withdrawn one.
    await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    await follow(client, alice, bob)
    code, rel = await act(client, bob, f"/api/v1/follow_requests/{alice.id}/reject")
    assert code == 200 and rel["followed_by"] is False and rel["requested_by"] is False
    rel = await follow(client, alice, bob)
    assert rel["requested"] is True
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    assert rel["requested"] is False
    assert (await get(client, bob, "/api/v1/follow_requests"))[1] == []


async def test_blocks(client: Any, alice: User, bob: User) -> None:
    await follow(client, alice, bob)
    await follow(client, bob, alice)
    alices = await post(client, alice, "alice in public")
    bobs = await post(client, bob, "bob in public")
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/block")
    assert code == 200 and rel["blocking"] is True
    assert rel["following"] is False and rel["followed_by"] is False
    assert await counts(client, alice) == (0, 0) and await counts(client, bob) == (0, 0)
    _, rels = await get(client, bob, f"/api/v1/accounts/relationships?id[]={alice.id}")
    assert rels[0]["blocked_by"] is True and rels[0]["blocking"] is False
    # Bob sees nothing of Alice's; Alice's timelines leave Bob out.
    assert (await get(client, bob, f"/api/v1/statuses/{alices['id']}"))[0] == 404
    assert (await get(client, bob, f"/api/v1/accounts/{alice.id}/statuses"))[1] == []
    assert (await act(client, bob, f"/api/v1/statuses/{alices['id']}/favourite"))[0] == 404
    _, public = await get(client, bob, "/api/v1/timelines/public")
    assert [s["id"] for s in public] == [bobs["id"]]
    _, public = await get(client, alice, "/api/v1/timelines/public")
    assert [s["id"] for s in public] == [alices["id"]]
    _, home = await get(client, alice, "/api/v1/timelines/home")
    assert [s["id"] for s in home] == [alices["id"]]
    assert (await act(client, bob, f"/api/v1/accounts/{alice.id}/follow"))[0] == 403
    assert (await act(client, alice, f"/api/v1/accounts/{bob.id}/follow"))[0] == 403
    _, blocked = await get(client, alice, "/api/v1/blocks")
    assert [a["id"] for a in blocked] == [bob.id]
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/unblock")
    assert code == 200 and rel["blocking"] is False
    assert (await get(client, bob, f"/api/v1/statuses/{alices['id']}"))[0] == 200
    assert (await get(client, alice, "/api/v1/blocks"))[1] == []
    assert (await act(client, alice, f"/api/v1/accounts/{alice.id}/block"))[0] == 403
    assert (await act(client, alice, "/api/v1/accounts/999/block"))[0] == 404
    read_only = {"Authorization": f"Bearer {await token_with(client, alice, 'read')}"}
    response = await client.post(f"/api/v1/accounts/{bob.id}/block", headers=read_only)
    assert response.status_code == 403


async def test_mutes(client: Any, alice: User, bob: User, carol: User) -> None:
    await follow(client, alice, carol)
    root = await post(client, alice, "a thread")
    reply = await post(client, carol, "@alice muted reply", in_reply_to_id=root["id"])
    others = await post(client, bob, "@alice another reply", in_reply_to_id=root["id"])
    boost = (await act(client, bob, f"/api/v1/statuses/{reply['id']}/reblog"))[1]
    await follow(client, alice, bob)
    code, rel = await act(
        client, alice, f"/api/v1/accounts/{carol.id}/mute", notifications=False, duration=3600
    )
    assert code == 200 and rel["muting"] is True and rel["muting_notifications"] is False
    assert rel["muting_expires_at"] is not None and rel["following"] is True
    _, home = await get(client, alice, "/api/v1/timelines/home")
    ids = [s["id"] for s in home]
    assert reply["id"] not in ids and boost["id"] not in ids and others["id"] in ids
    _, ctx = await get(client, alice, f"/api/v1/statuses/{root['id']}/context")
    assert [s["id"] for s in ctx["descendants"]] == [others["id"]]
    # A muted account's status is still there when asked for by id.
    assert (await get(client, alice, f"/api/v1/statuses/{reply['id']}"))[0] == 200
    _, muted = await get(client, alice, "/api/v1/mutes")
    assert [a["id"] for a in muted] == [carol.id] and muted[0]["mute_expires_at"]
    code, _ = await act(client, alice, f"/api/v1/accounts/{carol.id}/mute", duration=-1)
    assert code == 422
    code, rel = await act(client, alice, f"/api/v1/accounts/{carol.id}/unmute")
    assert rel["muting"] is False
    _, ctx = await get(client, alice, f"/api/v1/statuses/{root['id']}/context")
    assert len(ctx["descendants"]) == 2


async def test_notes_and_familiar_followers(
    client: Any, alice: User, bob: User, carol: User
) -> None:
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/note", comment="met at FOSDEM")
    assert code == 200 and rel["note"] == "met at FOSDEM"
    _, rels = await get(client, alice, f"/api/v1/accounts/relationships?id[]={bob.id}")
    assert rels[0]["note"] == "met at FOSDEM"
    _, rels = await get(client, carol, f"/api/v1/accounts/relationships?id[]={bob.id}")
    assert rels[0]["note"] == ""  # notes are private
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/note", comment="")
    assert rel["note"] == ""
    assert (await act(client, alice, "/api/v1/accounts/999/note", comment="x"))[0] == 404

    # Alice follows Bob; Bob follows Carol: Bob is a familiar follower of Carol for Alice.
    await follow(client, alice, bob)
    await follow(client, bob, carol)
    code, familiar = await get(
        client, alice, f"/api/v1/accounts/familiar_followers?id[]={carol.id}&id[]={bob.id}"
    )
    assert code == 200
    assert familiar[0]["id"] == carol.id
    assert [a["id"] for a in familiar[0]["accounts"]] == [bob.id]
    assert familiar[1] == {"id": bob.id, "accounts": []}


async def test_endorsements(client: Any, alice: User, bob: User, carol: User) -> None:
    assert (await act(client, alice, f"/api/v1/accounts/{bob.id}/endorse"))[0] == 403
    await follow(client, alice, bob)
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/endorse")
    assert code == 200 and rel["endorsed"] is True
    _, featured = await get(client, alice, "/api/v1/endorsements")
    assert [a["id"] for a in featured] == [bob.id]
    _, featured = await get(client, None, f"/api/v1/accounts/{alice.id}/endorsements")
    assert [a["id"] for a in featured] == [bob.id]
    code, rel = await act(client, alice, f"/api/v1/accounts/{bob.id}/unpin")
    assert rel["endorsed"] is False
    assert (await get(client, alice, "/api/v1/endorsements"))[1] == []
    assert (await get(client, carol, "/api/v1/accounts/4242/endorsements"))[0] == 404
