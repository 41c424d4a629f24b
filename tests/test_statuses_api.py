"""Statuses through the Mastodon API: posting, visibility, threads, edits, interactions."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.social import User, act, follow, get, make_user, post, token_with
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import outbox

STATUS_KEYS = {
    "id",
    "created_at",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "sensitive",
    "spoiler_text",
    "visibility",
    "language",
    "uri",
    "url",
    "replies_count",
    "reblogs_count",
    "favourites_count",
    "edited_at",
    "content",
    "reblog",
    "account",
    "media_attachments",
    "mentions",
    "tags",
    "emojis",
    "card",
    "poll",
}
VIEWER_KEYS = {"favourited", "reblogged", "muted", "bookmarked", "filtered"}


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await make_user(rt, client, "alice")


# pytest-trio runs independent fixtures concurrently: each user waits for the one
# before, since they sign in through the same test client.
@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await make_user(rt, client, "bob")


@pytest.fixture
async def carol(rt: Runtime, client: Any, bob: User) -> User:
    return await make_user(rt, client, "carol")


async def test_post_renders_and_returns_a_complete_status(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(
        client,
        alice,
        "Hello @bob, see https://example.com/a/very/long/path/that/gets/shortened #Trio\n\nbye",
        spoiler_text="cw",
        language="en",
    )
    assert STATUS_KEYS | VIEWER_KEYS | {"pinned", "application"} <= set(status)
    base = rt.config.base_url
    assert status["url"] == f"{base}/@alice/{status['id']}"
    assert status["uri"] == f"{base}/users/alice/statuses/{status['id']}"
    assert status["visibility"] == "public"
    assert status["sensitive"] is True  # a content warning makes it sensitive
    assert status["spoiler_text"] == "cw"
    assert status["language"] == "en"
    assert status["content"].startswith("<p>Hello ")
    assert 'class="u-url mention"' in status["content"]
    assert "</p><p>bye</p>" in status["content"]
    assert status["mentions"] == [
        {"id": bob.id, "username": "bob", "url": f"{base}/@bob", "acct": "bob"}
    ]
    assert status["tags"] == [{"name": "Trio", "url": f"{base}/tags/trio"}]
    assert status["media_attachments"] == [] and status["emojis"] == []
    assert status["card"] is None and status["poll"] is None and status["reblog"] is None
    assert status["edited_at"] is None
    assert status["created_at"].endswith("Z") and "." in status["created_at"]
    assert status["application"]["name"] == "Test client"
    assert status["pinned"] is False and status["favourited"] is False
    assert status["account"]["id"] == alice.id
    assert status["account"]["statuses_count"] == 1
    assert status["account"]["last_status_at"] is not None

    # What another user and an anonymous caller see.
    code, seen = await get(client, bob, f"/api/v1/statuses/{status['id']}")
    assert code == 200
    assert "application" not in seen and "pinned" not in seen
    assert VIEWER_KEYS <= set(seen)
    code, anonymous = await get(client, None, f"/api/v1/statuses/{status['id']}")
    assert code == 200 and not VIEWER_KEYS & set(anonymous)
    assert anonymous["content"] == status["content"]


async def test_validation_errors(client: Any, alice: User) -> None:
    async def attempt(**fields: Any) -> tuple[int, Any]:
        response = await client.post("/api/v1/statuses", headers=alice.headers, json=fields)
        return response.status_code, await response.get_json()

    code, body = await attempt(status="x" * 501)
    assert code == 422
    assert body["error"] == "Validation failed: Text character limit of 500 exceeded"
    code, body = await attempt(status="x" * 490, spoiler_text="y" * 11)
    assert code == 422
    # A URL counts as 23 characters however long it is.
    code, _ = await attempt(status="x" * 470 + " https://example.com/" + "p" * 200)
    assert code == 200
    code, body = await attempt(status="   ")
    assert (code, body["error"]) == (422, "Validation failed: Text can't be blank")
    code, body = await attempt(status="hi", visibility="everyone")
    assert code == 422 and "Visibility" in body["error"]
    code, body = await attempt(status="hi", language="not a language")
    assert code == 422
    code, body = await attempt(status="hi", in_reply_to_id="999999")
    assert code == 404
    assert body["error"] == "The post you are trying to reply to does not appear to exist."
    code, body = await attempt(status="hi", in_reply_to_id="abc")
    assert code == 404
    code, body = await attempt(status="hi", media_ids=["1"])
    assert code == 422
    # Form bodies work too.
    response = await client.post(
        "/api/v1/statuses", headers=alice.headers, form={"status": "form", "sensitive": "true"}
    )
    assert response.status_code == 200
    assert (await response.get_json())["sensitive"] is True


async def test_idempotency_key(client: Any, alice: User, bob: User) -> None:
    async def send(user: User, key: str, text: str) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/statuses",
            headers={**user.headers, "Idempotency-Key": key},
            json={"status": text},
        )
        assert response.status_code == 200
        return await response.get_json()

    first = await send(alice, "k1", "once")
    again = await send(alice, "k1", "once, retried")
    assert again["id"] == first["id"] and again["content"] == first["content"]
    other_key = await send(alice, "k2", "twice")
    assert other_key["id"] != first["id"]
    other_user = await send(bob, "k1", "bob's")
    assert other_user["id"] != first["id"]
    _, me = await get(client, alice, f"/api/v1/accounts/{alice.id}")
    assert me["statuses_count"] == 2


async def test_concurrent_retries_create_one_status(client: Any, alice: User) -> None:
    results: list[dict[str, Any]] = []

    async def send() -> None:
        response = await client.post(
            "/api/v1/statuses",
            headers={**alice.headers, "Idempotency-Key": "same"},
            json={"status": "sent twice at once"},
        )
        assert response.status_code == 200
        results.append(await response.get_json())

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(send)
    assert len({r["id"] for r in results}) == 1
    _, me = await get(client, alice, f"/api/v1/accounts/{alice.id}")
    assert me["statuses_count"] == 1


async def test_concurrent_boosts_and_follows(client: Any, alice: User, bob: User) -> None:
    status = await post(client, alice, "boost me once")
    answers: list[tuple[int, Any]] = []

    async def call(path: str) -> None:
        answers.append(await act(client, bob, path))

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(call, f"/api/v1/statuses/{status['id']}/reblog")
            nursery.start_soon(call, f"/api/v1/accounts/{alice.id}/follow")
    assert all(code == 200 for code, _ in answers), answers
    boosts = {body["id"] for _, body in answers if "reblog" in body}
    assert len(boosts) == 1
    _, seen = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert seen["reblogs_count"] == 1
    _, me = await get(client, alice, f"/api/v1/accounts/{alice.id}")
    assert me["followers_count"] == 1


async def test_visibility_is_enforced(client: Any, alice: User, bob: User, carol: User) -> None:
    await follow(client, bob, alice)  # bob follows alice; carol does not
    public = await post(client, alice, "public")
    unlisted = await post(client, alice, "unlisted", visibility="unlisted")
    private = await post(client, alice, "followers only", visibility="private")
    direct = await post(client, alice, "psst @carol", visibility="direct")
    for status, bob_sees, carol_sees, anon_sees in (
        (public, True, True, True),
        (unlisted, True, True, True),
        (private, True, False, False),
        (direct, False, True, False),
    ):
        path = f"/api/v1/statuses/{status['id']}"
        assert (await get(client, alice, path))[0] == 200
        assert (await get(client, bob, path))[0] == (200 if bob_sees else 404)
        assert (await get(client, carol, path))[0] == (200 if carol_sees else 404)
        assert (await get(client, None, path))[0] == (200 if anon_sees else 404)
        for suffix in ("/context", "/history", "/favourited_by", "/reblogged_by"):
            code, _ = await get(client, carol, path + suffix)
            assert code == (200 if carol_sees else 404), suffix
        code, _ = await act(client, carol, path + "/favourite")
        assert code == (200 if carol_sees else 404)

    ids = [public["id"], private["id"], direct["id"], "12345", "abc", "9" * 25]
    query = "&".join(f"id[]={i}" for i in ids)
    code, many = await get(client, carol, f"/api/v1/statuses?{query}")
    assert code == 200 and [s["id"] for s in many] == [public["id"], direct["id"]]
    code, many = await get(client, bob, f"/api/v1/statuses?{query}")
    assert [s["id"] for s in many] == [public["id"], private["id"]]

    # Private and direct statuses never appear to outsiders in lists either.
    code, statuses = await get(client, carol, f"/api/v1/accounts/{alice.id}/statuses")
    assert {s["id"] for s in statuses} == {public["id"], unlisted["id"], direct["id"]}
    code, statuses = await get(client, None, f"/api/v1/accounts/{alice.id}/statuses")
    assert {s["id"] for s in statuses} == {public["id"], unlisted["id"]}
    code, statuses = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert len(statuses) == 4
    code, timeline = await get(client, None, "/api/v1/timelines/public")
    assert [s["id"] for s in timeline] == [public["id"]]
    # Direct statuses count nowhere.
    code, me = await get(client, alice, f"/api/v1/accounts/{alice.id}")
    assert me["statuses_count"] == 3


async def test_threads_and_context(client: Any, alice: User, bob: User, carol: User) -> None:
    root = await post(client, alice, "root")
    reply = await post(client, bob, "@alice reply", in_reply_to_id=root["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == alice.id
    deeper = await post(client, alice, "deeper", in_reply_to_id=reply["id"])
    second = await post(client, carol, "second reply", in_reply_to_id=root["id"])
    hidden = await post(
        client, bob, "for my followers", in_reply_to_id=root["id"], visibility="private"
    )
    code, seen_root = await get(client, carol, f"/api/v1/statuses/{root['id']}")
    assert seen_root["replies_count"] == 2  # the private reply does not count
    code, ctx = await get(client, carol, f"/api/v1/statuses/{root['id']}/context")
    assert code == 200
    assert ctx["ancestors"] == []
    assert [s["id"] for s in ctx["descendants"]] == [reply["id"], deeper["id"], second["id"]]
    code, ctx = await get(client, bob, f"/api/v1/statuses/{root['id']}/context")
    assert [s["id"] for s in ctx["descendants"]] == [
        reply["id"],
        deeper["id"],
        second["id"],
        hidden["id"],
    ]
    code, ctx = await get(client, carol, f"/api/v1/statuses/{deeper['id']}/context")
    assert [s["id"] for s in ctx["ancestors"]] == [root["id"], reply["id"]]
    assert ctx["descendants"] == []
    # Deleting a reply uncounts it.
    response = await client.delete(f"/api/v1/statuses/{second['id']}", headers=carol.headers)
    assert response.status_code == 200
    code, seen_root = await get(client, carol, f"/api/v1/statuses/{root['id']}")
    assert seen_root["replies_count"] == 1


async def test_delete_returns_source_and_removes(client: Any, alice: User, bob: User) -> None:
    status = await post(client, alice, "to be redrafted #tag", spoiler_text="cw")
    code, boost = await act(client, bob, f"/api/v1/statuses/{status['id']}/reblog")
    assert code == 200
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=bob.headers)
    assert response.status_code == 403
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    deleted = await response.get_json()
    assert deleted["text"] == "to be redrafted #tag" and deleted["spoiler_text"] == "cw"
    assert deleted["id"] == status["id"]
    assert (await get(client, alice, f"/api/v1/statuses/{status['id']}"))[0] == 404
    assert (await get(client, bob, f"/api/v1/statuses/{boost['id']}"))[0] == 404
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 404
    code, me = await get(client, alice, f"/api/v1/accounts/{alice.id}")
    assert me["statuses_count"] == 0
    code, other = await get(client, bob, f"/api/v1/accounts/{bob.id}")
    assert other["statuses_count"] == 0  # the boost went with the status


async def test_edit_source_and_history(client: Any, alice: User, bob: User) -> None:
    status = await post(client, alice, "first version")
    code, history = await get(client, bob, f"/api/v1/statuses/{status['id']}/history")
    assert code == 200 and len(history) == 1 and history[0]["content"] == "<p>first version</p>"
    response = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "second version #edited", "spoiler_text": "now with cw"},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    edited = await response.get_json()
    assert edited["id"] == status["id"]
    assert edited["edited_at"] is not None
    assert edited["content"].startswith("<p>second version")
    assert edited["spoiler_text"] == "now with cw" and edited["sensitive"] is True
    assert [t["name"] for t in edited["tags"]] == ["edited"]
    code, history = await get(client, bob, f"/api/v1/statuses/{status['id']}/history")
    assert history[0]["content"] == "<p>first version</p>"
    assert len(history) == 2 and history[1]["spoiler_text"] == "now with cw"
    assert history[0]["account"]["id"] == alice.id
    code, source = await get(client, alice, f"/api/v1/statuses/{status['id']}/source")
    assert source == {
        "id": status["id"],
        "text": "second version #edited",
        "spoiler_text": "now with cw",
    }
    assert (await get(client, bob, f"/api/v1/statuses/{status['id']}/source"))[0] == 403
    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=bob.headers, json={"status": "mine now"}
    )
    assert response.status_code == 403
    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "x" * 501}
    )
    assert response.status_code == 422
    response = await client.put(
        "/api/v1/statuses/424242", headers=alice.headers, json={"status": "nothing"}
    )
    assert response.status_code == 404


async def test_favourites_bookmarks_and_boosts(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(client, alice, "like me")
    path = f"/api/v1/statuses/{status['id']}"
    code, faved = await act(client, bob, path + "/favourite")
    assert code == 200 and faved["favourited"] is True and faved["favourites_count"] == 1
    code, faved = await act(client, bob, path + "/favourite")  # idempotent
    assert faved["favourites_count"] == 1
    code, accounts = await get(client, alice, path + "/favourited_by")
    assert [a["id"] for a in accounts] == [bob.id]
    code, seen = await get(client, alice, path)
    assert seen["favourited"] is False and seen["favourites_count"] == 1

    code, marked = await act(client, bob, path + "/bookmark")
    assert code == 200 and marked["bookmarked"] is True
    code, listed = await get(client, bob, "/api/v1/bookmarks")
    assert [s["id"] for s in listed] == [status["id"]]
    code, unmarked = await act(client, bob, path + "/unbookmark")
    assert unmarked["bookmarked"] is False
    assert (await get(client, bob, "/api/v1/bookmarks"))[1] == []

    code, boost = await act(client, bob, path + "/reblog")
    assert code == 200
    assert boost["reblog"]["id"] == status["id"] and boost["reblogged"] is True
    assert boost["reblog"]["reblogs_count"] == 1 and boost["reblog"]["reblogged"] is True
    assert boost["uri"].endswith(f"/statuses/{boost['id']}/activity")
    assert boost["content"] == "" and boost["account"]["id"] == bob.id
    code, again = await act(client, bob, path + "/reblog")
    assert again["id"] == boost["id"]
    # Interacting through the boost's id acts on the boosted status.
    code, via_boost = await act(client, alice, f"/api/v1/statuses/{boost['id']}/favourite")
    assert via_boost["id"] == status["id"] and via_boost["favourites_count"] == 2
    code, accounts = await get(client, alice, path + "/reblogged_by")
    assert [a["id"] for a in accounts] == [bob.id]
    code, undone = await act(client, bob, path + "/unreblog")
    assert undone["id"] == status["id"] and undone["reblogged"] is False
    assert undone["reblogs_count"] == 0
    code, unfaved = await act(client, bob, path + "/unfavourite")
    assert unfaved["favourited"] is False and unfaved["favourites_count"] == 1

    # Followers-only posts cannot be boosted by others; their author may.
    private = await post(client, alice, "mine", visibility="private")
    await follow(client, bob, alice)
    code, _ = await act(client, bob, f"/api/v1/statuses/{private['id']}/reblog")
    assert code == 403
    code, own = await act(client, alice, f"/api/v1/statuses/{private['id']}/reblog")
    assert code == 200 and own["visibility"] == "private"

    events = [e["event"] for e in await rt.store.read(outbox.pending, 1000)]
    for event in (
        "status.created",
        "favourite.created",
        "favourite.deleted",
        "reblog.created",
        "reblog.deleted",
        "follow.created",
    ):
        assert event in events


async def test_reblogged_by_lists_only_boosts_the_viewer_may_see(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    dave = await make_user(rt, client, "dave")
    await follow(client, dave, bob)
    status = await post(client, alice, "boost me")
    path = f"/api/v1/statuses/{status['id']}/reblogged_by"
    code, boost = await act(
        client, bob, f"/api/v1/statuses/{status['id']}/reblog", visibility="private"
    )
    assert code == 200 and boost["visibility"] == "private"
    code, _ = await act(client, carol, f"/api/v1/statuses/{status['id']}/reblog")
    assert code == 200
    # Bob's followers-only boost: seen by bob and his followers, by nobody else.
    for viewer, expected in ((bob, [carol, bob]), (dave, [carol, bob]), (alice, [carol])):
        code, accounts = await get(client, viewer, path)
        assert code == 200
        assert [a["id"] for a in accounts] == [u.id for u in expected], viewer.name
    code, accounts = await get(client, None, path)
    assert [a["id"] for a in accounts] == [carol.id]


async def test_pins(client: Any, alice: User, bob: User) -> None:
    status = await post(client, alice, "pin me")
    code, pinned = await act(client, alice, f"/api/v1/statuses/{status['id']}/pin")
    assert code == 200 and pinned["pinned"] is True
    code, listed = await get(client, bob, f"/api/v1/accounts/{alice.id}/statuses?pinned=true")
    assert [s["id"] for s in listed] == [status["id"]]
    code, _ = await act(client, bob, f"/api/v1/statuses/{status['id']}/pin")
    assert code == 403
    code, unpinned = await act(client, alice, f"/api/v1/statuses/{status['id']}/unpin")
    assert unpinned["pinned"] is False


async def test_muting_a_conversation(client: Any, alice: User, bob: User) -> None:
    root = await post(client, alice, "thread start")
    reply = await post(client, bob, "@alice a reply", in_reply_to_id=root["id"])
    other = await post(client, alice, "another thread")
    code, muted = await act(client, alice, f"/api/v1/statuses/{reply['id']}/mute")
    assert code == 200 and muted["muted"] is True
    assert (await get(client, alice, f"/api/v1/statuses/{root['id']}"))[1]["muted"] is True
    assert (await get(client, alice, f"/api/v1/statuses/{other['id']}"))[1]["muted"] is False
    assert (await get(client, bob, f"/api/v1/statuses/{root['id']}"))[1]["muted"] is False
    code, unmuted = await act(client, alice, f"/api/v1/statuses/{root['id']}/unmute")
    assert code == 200 and unmuted["muted"] is False
    assert (await act(client, alice, "/api/v1/statuses/77/mute"))[0] == 404


async def test_scopes_tokens_and_bad_ids(client: Any, alice: User) -> None:
    status = await post(client, alice, "scoped")
    read_only = {"Authorization": f"Bearer {await token_with(client, alice, 'read')}"}
    response = await client.post("/api/v1/statuses", headers=read_only, json={"status": "no"})
    assert response.status_code == 403
    assert (await response.get_json())["error"] == "This action is outside the authorized scopes"
    response = await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=read_only)
    assert response.status_code == 403
    write_only = {"Authorization": f"Bearer {await token_with(client, alice, 'write')}"}
    response = await client.get(f"/api/v1/statuses/{status['id']}", headers=write_only)
    assert response.status_code == 403
    response = await client.get("/api/v1/timelines/home", headers=write_only)
    assert response.status_code == 403
    assert (await client.post("/api/v1/statuses", json={"status": "x"})).status_code == 401
    response = await client.get(
        f"/api/v1/statuses/{status['id']}", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    for bad in ("abc", "0", "99999999999999999999", "123"):
        assert (await get(client, alice, f"/api/v1/statuses/{bad}"))[0] == 404
        assert (await act(client, alice, f"/api/v1/statuses/{bad}/favourite"))[0] == 404
        assert (await act(client, alice, f"/api/v1/statuses/{bad}/reblog"))[0] == 404
    code, body = await get(client, alice, "/api/v1/timelines/home?limit=abc")
    assert code == 422 and "error" in body
    code, body = await get(client, alice, "/api/v1/timelines/home?max_id=abc")
    assert code == 422
