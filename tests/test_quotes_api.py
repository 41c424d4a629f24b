"""Quote posts between local accounts through the Mastodon API (4.5): who may quote what,
what each viewer is shown of a quote, approving, refusing and revoking, and the
notifications that go with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tests.social import User, act, follow, get, make_user, post
from tests.test_scheduled_api import make_due
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import scheduled as scheduled_service


async def _put(client: Any, user: User, path: str, **fields: Any) -> tuple[int, Any]:
    response = await client.put(path, headers=user.headers, json=fields)
    return response.status_code, await response.get_json()


async def _post_raw(client: Any, user: User, **fields: Any) -> tuple[int, Any]:
    response = await client.post("/api/v1/statuses", headers=user.headers, json=fields)
    return response.status_code, await response.get_json()


async def _notes(client: Any, user: User, kind: str) -> list[dict[str, Any]]:
    code, notes = await get(client, user, f"/api/v1/notifications?types[]={kind}")
    assert code == 200, notes
    return list(notes)


async def test_a_quote_with_automatic_approval(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "An original thought")
    # Anyone may quote a public post by default, and each viewer is told so.
    assert original["quote"] is None and original["quotes_count"] == 0
    assert original["quote_approval"] == {
        "automatic": ["public"],
        "manual": [],
        "current_user": "automatic",
    }
    _, anonymous = await get(client, None, f"/api/v1/statuses/{original['id']}")
    assert anonymous["quote_approval"]["current_user"] == "denied"

    quote = await post(client, bob, "So true", quoted_status_id=original["id"])
    assert quote["quote"]["state"] == "accepted"
    inner = quote["quote"]["quoted_status"]
    assert inner["id"] == original["id"] and inner["account"]["username"] == "alice"
    assert inner["quote"] is None  # a quoted status's own quote is only named
    # Apps without quotes still see which post it is about (Mastodon's fallback link).
    assert quote["content"].startswith('<p class="quote-inline">RE: <a href="')
    assert original["url"].removeprefix("http://") in quote["content"]

    _, counted = await get(client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 1
    [note] = await _notes(client, alice, "quote")
    assert note["account"]["username"] == "bob" and note["status"]["id"] == quote["id"]
    assert note["status"]["quote"]["quoted_status"]["id"] == original["id"]

    code, listed = await get(client, alice, f"/api/v1/statuses/{original['id']}/quotes")
    assert code == 200 and [s["id"] for s in listed] == [quote["id"]]

    # The quoted author edits: those who quoted hear of it.
    code, _ = await _put(client, alice, f"/api/v1/statuses/{original['id']}", status="Edited")
    assert code == 200
    [update] = await _notes(client, bob, "quoted_update")
    assert update["status"]["id"] == original["id"] and "Edited" in update["status"]["content"]

    # Deleting the quote uncounts it.
    response = await client.delete(f"/api/v1/statuses/{quote['id']}", headers=bob.headers)
    assert response.status_code == 200
    _, counted = await get(client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 0


async def test_a_link_to_the_quoted_post_in_the_text_is_enough(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "Hello")
    quote = await post(client, bob, f"see {original['url']}", quoted_status_id=original["id"])
    assert "quote-inline" not in quote["content"]


async def test_policies_decide_who_may_quote(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    followers = await post(client, alice, "for my followers", quote_approval_policy="followers")
    nobody = await post(client, alice, "mine alone", quote_approval_policy="nobody")
    assert followers["quote_approval"]["automatic"] == ["followers"]
    assert nobody["quote_approval"]["automatic"] == []

    _, seen = await get(client, bob, f"/api/v1/statuses/{followers['id']}")
    assert seen["quote_approval"]["current_user"] == "denied"
    code, body = await _post_raw(client, bob, status="hm", quoted_status_id=followers["id"])
    assert code == 404 and body["error"].startswith("The post you are trying to quote")
    await follow(client, bob, alice)
    _, seen = await get(client, bob, f"/api/v1/statuses/{followers['id']}")
    assert seen["quote_approval"]["current_user"] == "automatic"
    quote = await post(client, bob, "as a follower", quoted_status_id=followers["id"])
    assert quote["quote"]["state"] == "accepted"

    code, _ = await _post_raw(client, bob, status="no", quoted_status_id=nobody["id"])
    assert code == 404
    mine = await post(client, alice, "quoting myself", quoted_status_id=nobody["id"])
    assert mine["quote"]["state"] == "accepted"

    # A status that does not exist, or an id that is no id, is a 404 too.
    for missing in ("999999999", "abc"):
        code, _ = await _post_raw(client, carol, status="x", quoted_status_id=missing)
        assert code == 404

    # The author's default applies when a post says nothing.
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=carol.headers,
        json={"source": {"quote_policy": "nobody"}},
    )
    assert response.status_code == 200
    assert (await response.get_json())["source"]["quote_policy"] == "nobody"
    _, prefs = await get(client, carol, "/api/v1/preferences")
    assert prefs["posting:default:quote_policy"] == "nobody"
    defaulted = await post(client, carol, "default")
    assert defaulted["quote_approval"]["automatic"] == []
    code, body = await _post_raw(client, carol, status="x", quote_approval_policy="everyone")
    assert code == 422 and "Quote approval policy" in body["error"]


async def test_private_and_direct_posts_are_not_quotable(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await follow(client, bob, alice)
    private = await post(client, alice, "followers only", visibility="private")
    direct = await post(client, alice, "@bob secret", visibility="direct")
    # Whatever was asked, only the author may quote a followers-only post.
    assert private["quote_approval"] == {"automatic": [], "manual": [], "current_user": "automatic"}
    _, seen = await get(client, bob, f"/api/v1/statuses/{private['id']}")
    assert seen["quote_approval"]["current_user"] == "denied"
    for target in (private, direct):
        code, _ = await _post_raw(client, bob, status="x", quoted_status_id=target["id"])
        assert code == 404
    # Nobody quotes a direct post, not even its author.
    code, _ = await _post_raw(client, alice, status="x", quoted_status_id=direct["id"])
    assert code == 404
    # The author's quote of a followers-only post stays followers-only.
    own = await post(client, alice, "me again", quoted_status_id=private["id"], visibility="public")
    assert own["visibility"] == "private" and own["quote"]["state"] == "accepted"
    # A direct quote must mention whom it quotes.
    public = await post(client, alice, "public")
    code, body = await _post_raw(
        client, bob, status="psst", visibility="direct", quoted_status_id=public["id"]
    )
    assert code == 422 and "not-mentioned" in body["error"]
    ok = await post(client, bob, "@alice psst", visibility="direct", quoted_status_id=public["id"])
    assert ok["quote"]["state"] == "accepted"


async def test_what_each_viewer_is_shown(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    dave = await make_user(rt, client, "dave")
    original = await post(client, alice, "quotable")
    quote = await post(client, bob, "quoting", quoted_status_id=original["id"])

    # Carol blocks alice, dave mutes her: they are told why, and get the post to hide.
    assert (await act(client, carol, f"/api/v1/accounts/{alice.id}/block"))[0] == 200
    assert (await act(client, dave, f"/api/v1/accounts/{alice.id}/mute"))[0] == 200
    _, seen = await get(client, carol, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"]["state"] == "blocked_account"
    assert seen["quote"]["quoted_status"]["id"] == original["id"]
    _, seen = await get(client, dave, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"]["state"] == "muted_account"

    # Alice blocks dave: a post he may not see shows as unauthorized, without its content.
    assert (await act(client, alice, f"/api/v1/accounts/{dave.id}/block"))[0] == 200
    _, seen = await get(client, dave, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"] == {"state": "unauthorized", "quoted_status": None}
    assert "quotable" not in str(seen)

    # A quote of a quote names the inner one only (carol still blocks its author).
    outer = await post(client, carol, "meta", quoted_status_id=quote["id"])
    inner = outer["quote"]["quoted_status"]
    assert inner["id"] == quote["id"]
    assert inner["quote"] == {"state": "blocked_account", "quoted_status_id": original["id"]}
    _, seen = await get(client, bob, f"/api/v1/statuses/{outer['id']}")
    assert seen["quote"]["quoted_status"]["quote"]["state"] == "accepted"

    # The quoted post deleted: the quote says so.
    response = await client.delete(f"/api/v1/statuses/{original['id']}", headers=alice.headers)
    assert response.status_code == 200
    _, seen = await get(client, bob, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"] == {"state": "deleted", "quoted_status": None}


async def test_manual_approval_accept_and_reject(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    original = await post(client, alice, "ask me first")
    code, changed = await _put(
        client,
        alice,
        f"/api/v1/statuses/{original['id']}/interaction_policy",
        quote_approval_policy={"automatic": [], "manual": ["public"]},
    )
    assert code == 200
    assert changed["quote_approval"] == {
        "automatic": [],
        "manual": ["public"],
        "current_user": "automatic",
    }
    _, seen = await get(client, bob, f"/api/v1/statuses/{original['id']}")
    assert seen["quote_approval"]["current_user"] == "manual"

    asked = await post(client, bob, "may I?", quoted_status_id=original["id"])
    assert asked["quote"] == {"state": "pending", "quoted_status": None}
    other = await post(client, carol, "me too?", quoted_status_id=original["id"])
    assert await _notes(client, alice, "quote") == []
    pending = f"/api/v1/statuses/{original['id']}/quotes?pending=true"
    code, waiting = await get(client, alice, pending)
    assert code == 200 and [s["id"] for s in waiting] == [other["id"], asked["id"]]
    code, _ = await get(client, bob, pending)
    assert code == 403  # only the author sees who waits
    code, listed = await get(client, alice, f"/api/v1/statuses/{original['id']}/quotes")
    assert listed == []

    base = f"/api/v1/statuses/{original['id']}/quotes"
    code, _ = await act(client, bob, f"{base}/{asked['id']}/authorize")
    assert code == 403  # only the quoted post's author decides
    code, approved = await act(client, alice, f"{base}/{asked['id']}/authorize")
    assert code == 200 and approved["quote"]["state"] == "accepted"
    code, refused = await act(client, alice, f"{base}/{other['id']}/reject")
    assert code == 200 and refused["quote"] == {"state": "rejected", "quoted_status": None}
    code, body = await act(client, alice, f"{base}/{other['id']}/authorize")
    assert code == 422, body

    _, seen = await get(client, bob, f"/api/v1/statuses/{asked['id']}")
    assert seen["quote"]["quoted_status"]["id"] == original["id"]
    _, seen = await get(client, carol, f"/api/v1/statuses/{other['id']}")
    assert seen["quote"]["state"] == "rejected"
    _, counted = await get(client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 1
    code, listed = await get(client, alice, base)
    assert [s["id"] for s in listed] == [asked["id"]]


async def test_revoking_an_approval(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "revocable")
    quote = await post(client, bob, "quoting", quoted_status_id=original["id"])
    path = f"/api/v1/statuses/{original['id']}/quotes/{quote['id']}/revoke"
    code, _ = await act(client, bob, path)
    assert code == 403
    code, _ = await act(client, alice, f"/api/v1/statuses/{original['id']}/quotes/1/revoke")
    assert code == 404
    code, revoked = await act(client, alice, path)
    assert code == 200 and revoked["id"] == quote["id"]
    assert revoked["quote"] == {"state": "revoked", "quoted_status": None}
    _, seen = await get(client, bob, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"]["state"] == "revoked"
    _, counted = await get(client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 0
    _, listed = await get(client, alice, f"/api/v1/statuses/{original['id']}/quotes")
    assert listed == []


async def test_interaction_policy_endpoint(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "hello")
    private = await post(client, alice, "hidden", visibility="private")
    path = f"/api/v1/statuses/{original['id']}/interaction_policy"
    code, _ = await _put(client, bob, path, quote_approval_policy="nobody")
    assert code == 403
    code, body = await _put(client, alice, path, quote_approval_policy="sometimes")
    assert code == 422, body
    code, body = await _put(client, alice, path)
    assert code == 422, body
    code, changed = await _put(client, alice, path, quote_approval_policy="nobody")
    assert code == 200 and changed["quote_approval"]["automatic"] == []
    code, _ = await _post_raw(client, bob, status="x", quoted_status_id=original["id"])
    assert code == 404
    code, changed = await _put(
        client,
        alice,
        f"/api/v1/statuses/{private['id']}/interaction_policy",
        quote_approval_policy="public",
    )
    assert code == 200 and changed["quote_approval"]["automatic"] == []
    # An edit may change it too.
    code, edited = await _put(
        client,
        alice,
        f"/api/v1/statuses/{original['id']}",
        status="hello",
        quote_approval_policy="public",
    )
    assert code == 200 and edited["quote_approval"]["automatic"] == ["public"]


async def test_quotes_are_paged_by_quote(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "popular")
    made = [await post(client, bob, f"q{i}", quoted_status_id=original["id"]) for i in range(3)]
    response = await client.get(
        f"/api/v1/statuses/{original['id']}/quotes?limit=2", headers=alice.headers
    )
    first = await response.get_json()
    assert [s["id"] for s in first] == [made[2]["id"], made[1]["id"]]
    next_url = urlsplit(response.headers["Link"].split(">;")[0].lstrip("<"))
    response = await client.get(f"{next_url.path}?{next_url.query}", headers=alice.headers)
    assert [s["id"] for s in await response.get_json()] == [made[0]["id"]]
    code, _ = await get(client, None, f"/api/v1/statuses/{original['id']}/quotes")
    assert code == 401


async def test_a_scheduled_quote(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    original = await post(client, alice, "later")
    when = (datetime.now(UTC) + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    code, scheduled = await _post_raw(
        client,
        bob,
        status="quoting later",
        scheduled_at=when,
        quoted_status_id=original["id"],
        quote_approval_policy="followers",
    )
    assert code == 200, scheduled
    assert scheduled["params"]["quoted_status_id"] == original["id"]
    assert scheduled["params"]["quote_approval_policy"] == "followers"
    code, body = await _post_raw(
        client, bob, status="x", scheduled_at=when, quoted_status_id="123456789"
    )
    assert code == 404, body
    await scheduled_service.publish(rt, await make_due(rt, scheduled["id"]))
    _, posted = await get(client, bob, f"/api/v1/accounts/{bob.id}/statuses")
    assert posted[0]["quote"]["quoted_status"]["id"] == original["id"]
    assert posted[0]["quote_approval"]["automatic"] == ["followers"]
