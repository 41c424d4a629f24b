"""`/api/v2/search` and `/api/v1/accounts/search` through the API, on both backends:
who finds which statuses, the operators, accounts and hashtags, paging and bad input."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.social import User, act, follow, make_user, post, token_with
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection


async def search(client: Any, user: User | None, **params: Any) -> tuple[int, Any]:
    response = await client.get(
        f"/api/v2/search?{urlencode(params)}", headers=user.headers if user else {}
    )
    return response.status_code, await response.get_json()


async def found(client: Any, user: User | None, q: str, **params: Any) -> list[str]:
    """The texts of the statuses a search finds, newest first."""
    status, body = await search(client, user, q=q, type="statuses", **params)
    assert status == 200, body
    return [s["content"] for s in body["statuses"]]


def has(texts: list[str], needle: str) -> bool:
    return any(needle in t for t in texts)


async def test_statuses_are_found_by_their_words_only_by_those_who_may_see_them(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await follow(client, carol, alice)
    await post(client, alice, "Gnus graze on the savanna")
    await post(client, alice, "Quiet gnus stay unlisted", visibility="unlisted")
    await post(client, alice, "Private gnus for followers", visibility="private")
    await post(client, alice, "@bob direct gnus for you", visibility="direct")

    stranger = await found(client, bob, "gnus")
    assert has(stranger, "savanna") and has(stranger, "unlisted")
    assert not has(stranger, "followers"), "a private status is never found by a non-follower"
    assert has(stranger, "direct gnus"), "a direct status is found by the mentioned account"

    follower = await found(client, carol, "GNUS")
    assert has(follower, "followers") and has(follower, "savanna")
    assert not has(follower, "direct gnus")

    own = await found(client, alice, "gnus")
    assert len(own) == 4
    # Newest first.
    assert "direct gnus" in own[0] and "savanna" in own[-1]

    # Anonymous callers get no statuses (full-text search needs an account).
    status, body = await search(client, None, q="gnus")
    assert status == 200 and body["statuses"] == []


async def test_blocks_either_way_and_deletion_hide_statuses(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await post(client, alice, "wildebeest migration season")
    await post(client, carol, "wildebeest crossing the river")
    assert len(await found(client, bob, "wildebeest")) == 2

    code, _ = await act(client, alice, f"/api/v1/accounts/{bob.id}/block")
    assert code == 200
    texts = await found(client, bob, "wildebeest")
    assert texts and not has(texts, "migration"), "the blocker's statuses are not found"
    code, _ = await act(client, bob, f"/api/v1/accounts/{carol.id}/block")
    assert code == 200
    assert await found(client, bob, "wildebeest") == []

    gone = await post(client, carol, "wildebeest ephemeral note")
    assert has(await found(client, alice, "ephemeral"), "ephemeral")
    response = await client.delete(f"/api/v1/statuses/{gone['id']}", headers=carol.headers)
    assert response.status_code == 200
    assert await found(client, alice, "ephemeral") == []


async def test_edits_are_searched_by_their_new_words(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "first draft about zebras")
    response = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "second thoughts about antelopes", "spoiler_text": "savanna talk"},
    )
    assert response.status_code == 200, await response.get_json()
    assert await found(client, alice, "zebras") == []
    assert has(await found(client, alice, "antelopes"), "second thoughts")
    assert len(await found(client, alice, "savanna")) == 1  # the content warning counts


async def test_operators(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    first = await post(client, alice, "herd news from the plains", language="en")
    await post(client, bob, "herd news: a reply", in_reply_to_id=first["id"], language="fr")
    await post(client, bob, "herd photos later", sensitive=True, spoiler_text="cw")
    await post(client, bob, "herd guide at https://example.org/guide")
    await post(client, alice, "a stampede of the herd")

    assert len(await found(client, bob, "herd from:alice")) == 2
    assert len(await found(client, bob, "herd from:@alice")) == 2
    assert len(await found(client, bob, "herd -from:alice")) == 3
    assert len(await found(client, bob, "from:me")) == 3  # operators alone
    assert await found(client, bob, "herd from:nobody") == []
    replies = await found(client, bob, "herd is:reply")
    assert len(replies) == 1 and "a reply" in replies[0]
    assert len(await found(client, bob, "herd -is:reply")) == 4
    assert len(await found(client, bob, "herd is:sensitive")) == 1
    linked = await found(client, bob, "herd has:link")
    assert len(linked) == 1 and "guide" in linked[0]
    assert await found(client, bob, "herd has:media") == []
    assert await found(client, bob, "herd has:poll") == []
    assert len(await found(client, bob, "herd language:fr")) == 1
    assert len(await found(client, bob, "herd -language:fr")) == 4
    # Phrases keep their words together and in order; `-word` excludes.
    assert len(await found(client, bob, '"herd news"')) == 2
    assert await found(client, bob, '"news herd"') == []
    assert len(await found(client, bob, "herd -news")) == 3
    assert len(await found(client, bob, 'herd -"herd news"')) == 3
    # Dates are whole days, in UTC.
    today = _day(now_ms())
    tomorrow = _day(now_ms() + 86_400_000)
    yesterday = _day(now_ms() - 86_400_000)
    assert len(await found(client, bob, f"herd during:{today}")) == 5
    assert len(await found(client, bob, f"herd after:{yesterday}")) == 5
    assert await found(client, bob, f"herd after:{today}") == []
    assert await found(client, bob, f"herd before:{today}") == []
    assert len(await found(client, bob, f"herd before:{tomorrow}")) == 5
    # An unknown prefix is just text.
    assert await found(client, bob, "herd colour:red") == []
    # `account_id` narrows to one author.
    assert len(await found(client, bob, "herd", account_id=alice.id)) == 2


async def test_media_statuses_match_has_media(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "herd picture")
    await post(client, alice, "herd words")

    async def attach(conn: Connection) -> None:
        await conn.execute(
            "INSERT INTO media_attachments (id, account_id, status_id, type, processing, "
            "file_key, created_at, updated_at) VALUES ($1, $2, $3, 'image', 'complete', "
            "'x/y.png', $4, $4)",
            rt.ids.next_id(),
            int(alice.id),
            int(status["id"]),
            now_ms(),
        )

    await rt.store.write(attach)
    media = await found(client, alice, "herd has:media")
    assert len(media) == 1 and "picture" in media[0]
    assert len(await found(client, alice, "herd has:image")) == 1
    assert await found(client, alice, "herd has:video") == []
    assert len(await found(client, alice, "herd -has:media")) == 1
    await post(client, alice, "herd vote", poll={"options": ["yes", "no"], "expires_in": 3600})
    polled = await found(client, alice, "herd has:poll")
    assert len(polled) == 1 and "vote" in polled[0]
    assert len(await found(client, alice, "herd -has:poll")) == 2


def _day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


async def test_offset_paging_and_limits(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    for i in range(7):
        await post(client, alice, f"numbered gnu {i}")
    page1 = await found(client, alice, "gnu", limit=3)
    page2 = await found(client, alice, "gnu", limit=3, offset=3)
    page3 = await found(client, alice, "gnu", limit=3, offset=6)
    assert [len(p) for p in (page1, page2, page3)] == [3, 3, 1]
    assert "gnu 6" in page1[0] and "gnu 0" in page3[0]
    assert not set(page1) & set(page2)
    # Without a type, the offset is ignored, as Mastodon does.
    status, body = await search(client, alice, q="gnu", limit=2, offset=4)
    assert status == 200 and "gnu 6" in body["statuses"][0]["content"]
    # min_id / max_id narrow statuses by id, as Mastodon.
    status, body = await search(client, alice, q="gnu", type="statuses")
    ids = [int(s["id"]) for s in body["statuses"]]
    status, body = await search(client, alice, q="gnu", type="statuses", max_id=ids[2])
    assert [int(s["id"]) for s in body["statuses"]] == ids[3:]
    status, body = await search(
        client, alice, q="gnu", type="statuses", min_id=ids[3], max_id=ids[0]
    )
    assert [int(s["id"]) for s in body["statuses"]] == ids[1:3]
    # Absurd offsets are empty pages, not errors.
    status, body = await search(client, alice, q="gnu", type="statuses", offset=10**30)
    assert status == 200 and body["statuses"] == []
    # At most 40.
    status, body = await search(client, alice, q="gnu", type="statuses", limit=500)
    assert status == 200 and len(body["statuses"]) == 7


async def test_bad_input(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    assert (await search(client, alice))[0] == 400  # no q
    assert (await search(client, alice, q="  "))[0] == 400
    assert (await search(client, alice, q="x", offset=-1, type="statuses"))[0] == 400
    assert (await search(client, alice, q="x", limit=-5))[0] == 400
    assert (await search(client, alice, q="x", limit="many"))[0] == 422
    assert (await search(client, alice, q="x", type="people"))[0] == 422
    assert (await search(client, alice, q="x", account_id="abc"))[0] == 422
    assert (await search(client, alice, q="x", resolve="maybe"))[0] == 422
    for q in ("x has:colour", "x is:shouting", "x before:yesterday", "x in:space"):
        code, body = await search(client, alice, q=q, type="statuses")
        assert code == 422, (q, body)
        assert body["error"]
    # Quotes, backslashes and FTS syntax are only text; a NUL is refused (in any parameter).
    await post(client, alice, "it's a backslash \\ test")
    for q in ("it's", "backslash \\", 'a "b', "NEAR(x y)", "x OR y", "*", "'; --"):
        code, body = await search(client, alice, q=q, type="statuses")
        assert code == 200, (q, body)
    code, body = await search(client, alice, q="\x00nul", type="statuses")
    assert code == 400 and "NUL" in body["error"]
    assert len(await found(client, alice, "it's backslash")) == 1
    # Anonymous callers may neither page nor resolve.
    code, body = await search(client, None, q="x", offset=0)
    assert code == 401 and "pagination" in body["error"]
    code, body = await search(client, None, q="x", resolve="true")
    assert code == 401 and "resolve" in body["error"]
    # An invalid token is a 401; a token without a search scope is refused.
    response = await client.get(
        "/api/v2/search?q=x", headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    narrow = await token_with(client, alice, "read:statuses")
    response = await client.get("/api/v2/search?q=x", headers={"Authorization": f"Bearer {narrow}"})
    assert response.status_code == 403
    searcher = await token_with(client, alice, "read:search")
    response = await client.get(
        "/api/v2/search?q=x", headers={"Authorization": f"Bearer {searcher}"}
    )
    assert response.status_code == 200


async def test_accounts_by_name_ranked_and_filtered(rt: Runtime, client: Any) -> None:
    viewer = await make_user(rt, client, "viewer")
    gnu = await make_user(rt, client, "gnuwatcher")
    await make_user(rt, client, "gnufan")
    popular = await make_user(rt, client, "gnustar")
    await make_user(rt, client, "zebra")
    fans = [await make_user(rt, client, f"fan{i}") for i in range(2)]
    for fan in fans:
        await follow(client, fan, popular)
    await follow(client, viewer, gnu)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=viewer.headers,
        json={"display_name": "Savanna Gnu Person"},
    )
    assert response.status_code == 200

    status, body = await search(client, viewer, q="gnu", type="accounts")
    assert status == 200
    names = [a["acct"] for a in body["accounts"]]
    # The viewer and those they follow first, then by followers.
    assert names[:2] == ["viewer", "gnuwatcher"] or names[:2] == ["gnuwatcher", "viewer"]
    assert names[2] == "gnustar" and set(names) == {"viewer", "gnuwatcher", "gnustar", "gnufan"}
    assert body["statuses"] == [] and body["hashtags"] == []

    # Exact acct first, even when others rank higher.
    status, body = await search(client, viewer, q="gnufan@" + rt.config.domain, type="accounts")
    assert status == 200 and body["accounts"][0]["acct"] == "gnufan"
    # Display names match by word.
    status, body = await search(client, fans[0], q="savanna", type="accounts")
    assert [a["acct"] for a in body["accounts"]] == ["viewer"]
    # following=true keeps the followed.
    status, body = await search(client, viewer, q="gnu", type="accounts", following="true")
    assert {a["acct"] for a in body["accounts"]} == {"viewer", "gnuwatcher"}

    # Suspended accounts are never found.
    async def suspend(conn: Connection) -> None:
        await conn.execute(
            "UPDATE accounts SET suspended_at = $1 WHERE id = $2", now_ms(), int(popular.id)
        )

    await rt.store.write(suspend)
    status, body = await search(client, viewer, q="gnustar", type="accounts")
    assert body["accounts"] == []

    # Anonymous: three characters at least, unless exact.
    status, body = await search(client, None, q="gn", type="accounts")
    assert status == 200 and body["accounts"] == []
    status, body = await search(client, None, q="gnufan@" + rt.config.domain)
    assert [a["acct"] for a in body["accounts"]] == ["gnufan"]
    status, body = await search(client, None, q="gnuf")
    assert [a["acct"] for a in body["accounts"]] == ["gnufan"]


async def test_bios_are_searched_only_for_discoverable_accounts(rt: Runtime, client: Any) -> None:
    viewer = await make_user(rt, client, "viewer")
    open_one = await make_user(rt, client, "openone")
    shy = await make_user(rt, client, "shyone")
    for user, discoverable in ((open_one, True), (shy, False)):
        response = await client.patch(
            "/api/v1/accounts/update_credentials",
            headers=user.headers,
            json={"note": "I study hartebeests", "discoverable": discoverable},
        )
        assert response.status_code == 200
    status, body = await search(client, viewer, q="hartebeests", type="accounts")
    assert status == 200 and [a["acct"] for a in body["accounts"]] == ["openone"]


async def test_v1_accounts_search(rt: Runtime, client: Any) -> None:
    viewer = await make_user(rt, client, "viewer")
    for i in range(5):
        await make_user(rt, client, f"topi{i}")
    response = await client.get("/api/v1/accounts/search?q=topi&limit=2", headers=viewer.headers)
    assert response.status_code == 200
    first = [a["acct"] for a in await response.get_json()]
    response = await client.get(
        "/api/v1/accounts/search?q=topi&limit=2&offset=2", headers=viewer.headers
    )
    second = [a["acct"] for a in await response.get_json()]
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    response = await client.get("/api/v1/accounts/search?q=topi")
    assert response.status_code == 401
    response = await client.get("/api/v1/accounts/search", headers=viewer.headers)
    assert response.status_code == 400


async def test_hashtags_by_prefix_with_history(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await post(client, alice, "#wildebeest #wildlife")
    await post(client, bob, "#wildebeest again")
    await post(client, bob, "#zebra")
    status, body = await search(client, None, q="#wild", type="hashtags")
    assert status == 200
    assert [t["name"] for t in body["hashtags"]] == ["wildlife", "wildebeest"]
    tag = body["hashtags"][1]
    assert len(tag["history"]) == 7
    assert tag["history"][0]["uses"] == "2" and tag["history"][0]["accounts"] == "2"
    assert tag["url"].endswith("/tags/wildebeest")
    # Signed-in viewers see whether they follow it.
    response = await client.post("/api/v1/tags/wildebeest/follow", headers=alice.headers)
    assert response.status_code == 200
    status, body = await search(client, alice, q="wildeb", type="hashtags")
    assert body["hashtags"][0]["following"] is True
    # exclude_unreviewed keeps the exact name only (nothing is reviewed here).
    status, body = await search(client, alice, q="wild", exclude_unreviewed="true")
    assert body["hashtags"] == []
    status, body = await search(client, alice, q="wildebeest", exclude_unreviewed="true")
    assert [t["name"] for t in body["hashtags"]] == ["wildebeest"]
    # A query with @ is not a hashtag search.
    status, body = await search(client, alice, q="wild@x")
    assert body["hashtags"] == []


async def test_url_of_a_local_status_or_account_resolves(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    status = await post(client, alice, "findable by URL")
    secret = await post(client, alice, "not for bob", visibility="private")
    code, body = await search(client, bob, q=status["url"], resolve="true")
    assert code == 200 and [s["id"] for s in body["statuses"]] == [status["id"]]
    assert body["accounts"] == []
    code, body = await search(client, bob, q=status["uri"], resolve="true", type="statuses")
    assert [s["id"] for s in body["statuses"]] == [status["id"]]
    code, body = await search(client, bob, q=secret["url"], resolve="true")
    assert body["statuses"] == []
    profile = f"{rt.config.base_url}/@alice"
    code, body = await search(client, bob, q=profile, resolve="true")
    assert [a["acct"] for a in body["accounts"]] == ["alice"]
    # The type must agree with what the URL names.
    code, body = await search(client, bob, q=profile, resolve="true", type="statuses")
    assert body == {"accounts": [], "statuses": [], "hashtags": []}
