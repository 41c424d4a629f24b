"""Timelines and their pagination: home, public, account statuses, favourites, bookmarks."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.social import User, act, follow, get, make_user, post
from wildebeest_trio.runtime import Runtime

LINK_RE = re.compile(r'<([^>]+)>; rel="(next|prev)"')


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


def links(response: Any) -> dict[str, str]:
    """The Link header as {rel: path?query}, checking Mastodon's format on the way."""
    header = response.headers.get("Link")
    if header is None:
        return {}
    found = LINK_RE.findall(header)
    assert [rel for _, rel in found] in (["next", "prev"], ["prev"]), header
    assert re.match(r'<([^>]+)>; rel="next"', header) or not header.count('rel="next"')
    result = {}
    for url, rel in found:
        parts = urlsplit(url)
        result[rel] = f"{parts.path}?{parts.query}"
    return result


async def page(client: Any, user: User | None, path: str) -> tuple[list[str], dict[str, str]]:
    response = await client.get(path, headers=user.headers if user else {})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return [s["id"] for s in await response.get_json()], links(response)


async def test_home_reads_its_writes_and_follows(
    client: Any, alice: User, bob: User, carol: User
) -> None:
    mine = await post(client, alice, "my own")
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert ids == [mine["id"]]  # read-your-writes on the very next request

    bobs = await post(client, bob, "bob before the follow")
    await follow(client, alice, bob)
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert ids == [bobs["id"], mine["id"]]  # a follow brings in the past too

    private = await post(client, bob, "for followers", visibility="private")
    direct_other = await post(client, bob, "@carol just you", visibility="direct")
    direct_me = await post(client, bob, "@alice just you", visibility="direct")
    reply_to_stranger = await post(
        client, bob, "@carol hi", in_reply_to_id=(await post(client, carol, "carol"))["id"]
    )
    self_reply = await post(client, bob, "thread", in_reply_to_id=bobs["id"])
    carols = await post(client, carol, "carol is not followed")
    boost = (await act(client, bob, f"/api/v1/statuses/{carols['id']}/reblog"))[1]
    # A boost of a status the home timeline shows among its 40 newest stays out, as in
    # Mastodon (its feeds' REBLOG_FALLOFF): bob's boost of alice's own status.
    repeated = (await act(client, bob, f"/api/v1/statuses/{mine['id']}/reblog"))[1]
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert ids == [
        boost["id"],
        self_reply["id"],
        direct_me["id"],
        private["id"],
        bobs["id"],
        mine["id"],
    ]
    assert direct_other["id"] not in ids and reply_to_stranger["id"] not in ids
    assert carols["id"] not in ids and repeated["id"] not in ids
    _, timeline = await get(client, alice, "/api/v1/timelines/home?limit=1")
    assert timeline[0]["reblog"]["id"] == carols["id"]

    # A follow without boosts hides them; unfollowing removes everything of bob's.
    await act(client, alice, f"/api/v1/accounts/{bob.id}/follow", reblogs=False)
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert boost["id"] not in ids and bobs["id"] in ids
    await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert ids == [mine["id"]]


async def test_public_timeline(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    first = await post(client, alice, "public one")
    await post(client, alice, "quiet", visibility="unlisted")
    await post(client, alice, "hidden", visibility="private")
    reply = await post(client, bob, "reply to alice", in_reply_to_id=first["id"])
    own_thread = await post(client, alice, "my thread", in_reply_to_id=first["id"])
    await act(client, bob, f"/api/v1/statuses/{first['id']}/reblog")
    second = await post(client, bob, "public two")
    expected = [second["id"], own_thread["id"], first["id"]]
    assert (await page(client, None, "/api/v1/timelines/public"))[0] == expected
    assert (await page(client, alice, "/api/v1/timelines/public?local=true"))[0] == expected
    assert (await page(client, None, "/api/v1/timelines/public?remote=true"))[0] == []
    assert (await page(client, None, "/api/v1/timelines/public?only_media=1"))[0] == []
    assert reply["id"] not in expected


async def test_links_keep_the_pages_parameters_but_never_a_token(client: Any, alice: User) -> None:
    """A token given as `access_token` stays out of the Link header (links end up in
    logs and caches); the page's own parameters stay in, as in Mastodon's links."""
    for i in range(3):
        await post(client, alice, f"public {i}")
    response = await client.get(
        f"/api/v1/timelines/public?local=true&limit=2&access_token={alice.token}"
    )
    assert response.status_code == 200
    header = response.headers["Link"]
    assert alice.token not in header and "access_token" not in header
    for url, _ in LINK_RE.findall(header):
        query = parse_qs(urlsplit(url).query)
        assert query["local"] == ["true"] and query["limit"] == ["2"]
    assert len((await page(client, alice, links(response)["next"]))[0]) == 1


async def test_account_statuses_filters(client: Any, alice: User, bob: User) -> None:
    root = await post(client, bob, "bob's")
    plain = await post(client, alice, "plain")
    reply = await post(client, alice, "@bob reply", in_reply_to_id=root["id"])
    self_reply = await post(client, alice, "more", in_reply_to_id=plain["id"])
    boost = (await act(client, alice, f"/api/v1/statuses/{root['id']}/reblog"))[1]
    base = f"/api/v1/accounts/{alice.id}/statuses"
    assert (await page(client, bob, base))[0] == [
        boost["id"],
        self_reply["id"],
        reply["id"],
        plain["id"],
    ]
    assert (await page(client, bob, base + "?exclude_replies=true"))[0] == [
        boost["id"],
        self_reply["id"],
        plain["id"],
    ]
    assert (await page(client, bob, base + "?exclude_reblogs=1"))[0] == [
        self_reply["id"],
        reply["id"],
        plain["id"],
    ]
    assert (await page(client, bob, base + "?only_media=true"))[0] == []
    direct = await post(client, alice, "@bob direct", visibility="direct")
    assert (await page(client, bob, base + "?limit=1"))[0] == [direct["id"]]
    assert (await page(client, bob, base + "?limit=1&exclude_direct=true"))[0] == [boost["id"]]
    tagged = await post(client, alice, "about #Wildebeest")
    assert (await page(client, bob, base + "?tagged=wildebeest"))[0] == [tagged["id"]]
    assert (await page(client, bob, base + "?tagged=%23WILDEBEEST"))[0] == [tagged["id"]]
    assert (await page(client, bob, base + "?tagged=nothing"))[0] == []
    assert (await get(client, bob, "/api/v1/accounts/123/statuses"))[0] == 404
    assert (await get(client, bob, "/api/v1/accounts/xyz/statuses"))[0] == 404


async def test_pagination_walks_200_statuses(client: Any, alice: User) -> None:
    posted = [(await post(client, alice, f"status {i}"))["id"] for i in range(200)]
    newest_first = list(reversed(posted))

    # Forward with `next` from the top: every status once, newest first.
    seen: list[str] = []
    path = "/api/v1/timelines/home?limit=40"
    while True:
        ids, rel = await page(client, alice, path)
        if not ids:
            assert rel == {}  # no Link header on an empty page
            break
        assert len(ids) <= 40
        seen.extend(ids)
        assert "max_id" in parse_qs(rel["next"].split("?", 1)[1])
        assert "limit=40" in rel["next"]
        path = rel["next"]
    assert seen == newest_first

    # Backward with `prev` from the bottom: every status once, pages in order.
    ids, rel = await page(client, alice, f"/api/v1/timelines/home?limit=30&max_id={posted[0]}")
    assert ids == [] and rel == {}
    ids, rel = await page(client, alice, f"/api/v1/timelines/home?limit=30&min_id={posted[0]}")
    collected = [ids]
    while True:
        assert "min_id" in rel["prev"]
        ids, rel = await page(client, alice, rel["prev"])
        if not ids:
            break
        collected.append(ids)
    flat = [i for chunk in reversed(collected) for i in chunk]
    assert flat == newest_first[:-1]

    # since_id: the newest ones above the cursor (a gap is allowed); default and max limit.
    ids, _ = await page(client, alice, f"/api/v1/timelines/home?since_id={posted[100]}")
    assert ids == newest_first[:20]
    ids, _ = await page(client, alice, "/api/v1/timelines/home?limit=500")
    assert len(ids) == 40
    ids, _ = await page(
        client, alice, f"/api/v1/timelines/home?max_id={posted[50]}&min_id={posted[45]}"
    )
    assert ids == list(reversed(posted[46:50]))
    ids, _ = await page(client, alice, f"/api/v1/accounts/{alice.id}/statuses?limit=40")
    assert ids == newest_first[:40]


async def test_favourites_and_bookmarks_lists(client: Any, alice: User, bob: User) -> None:
    statuses = [(await post(client, bob, f"fav {i}"))["id"] for i in range(5)]
    # Favourited in an order different from posting: listed by when they were favourited.
    order = [statuses[3], statuses[0], statuses[4], statuses[1], statuses[2]]
    for status_id in order:
        assert (await act(client, alice, f"/api/v1/statuses/{status_id}/favourite"))[0] == 200
        assert (await act(client, alice, f"/api/v1/statuses/{status_id}/bookmark"))[0] == 200
    for kind in ("favourites", "bookmarks"):
        ids, rel = await page(client, alice, f"/api/v1/{kind}?limit=2")
        assert ids == [order[4], order[3]]
        walked = list(ids)
        while "next" in rel:
            ids, rel = await page(client, alice, rel["next"])
            walked.extend(ids)
        assert walked == list(reversed(order))
        ids, rel = await page(client, alice, f"/api/v1/{kind}?limit=40")
        assert "next" not in rel and "prev" in rel  # a short page: nothing older
    # Another user's favourites are their own; a deleted status leaves the lists.
    assert (await page(client, bob, "/api/v1/favourites"))[0] == []
    response = await client.delete(f"/api/v1/statuses/{order[0]}", headers=bob.headers)
    assert response.status_code == 200
    assert order[0] not in (await page(client, alice, "/api/v1/favourites"))[0]
    assert order[0] not in (await page(client, alice, "/api/v1/bookmarks"))[0]
    read_only = await client.get("/api/v1/favourites")
    assert read_only.status_code == 401


async def test_hashtag_timeline(client: Any, alice: User, bob: User) -> None:
    trio = await post(client, alice, "about #Trio")
    both = await post(client, bob, "#trio and #python")
    python = await post(client, bob, "only #python")
    await post(client, alice, "#trio but unlisted", visibility="unlisted")
    await post(client, alice, "#trio for followers", visibility="private")
    assert (await page(client, None, "/api/v1/timelines/tag/trio"))[0] == [both["id"], trio["id"]]
    assert (await page(client, bob, "/api/v1/timelines/tag/TRIO?local=1"))[0] == [
        both["id"],
        trio["id"],
    ]
    ids, _ = await page(client, None, "/api/v1/timelines/tag/trio?any[]=python")
    assert ids == [python["id"], both["id"], trio["id"]]
    ids, _ = await page(client, None, "/api/v1/timelines/tag/trio?all[]=python")
    assert ids == [both["id"]]
    ids, _ = await page(client, None, "/api/v1/timelines/tag/trio?none[]=python")
    assert ids == [trio["id"]]
    ids, rel = await page(client, None, "/api/v1/timelines/tag/nothing")
    assert ids == [] and rel == {}


async def test_tags_and_followed_tags(client: Any, alice: User, bob: User, carol: User) -> None:
    tagged = await post(client, bob, "about #Wildebeest")
    await post(client, carol, "also #wildebeest", visibility="unlisted")
    code, tag = await get(client, None, "/api/v1/tags/WILDEBEEST")
    assert code == 200 and tag["name"] == "Wildebeest" and "following" not in tag
    assert tag["url"].endswith("/tags/wildebeest") and len(tag["history"]) == 7
    assert tag["history"][0]["uses"] == "1" and tag["history"][0]["accounts"] == "1"
    assert tag["history"][0]["day"].isdigit()
    assert (await get(client, None, "/api/v1/tags/unknowntag"))[0] == 404
    assert (await get(client, None, "/api/v1/tags/123"))[0] == 404

    # Alice follows the tag: Bob's public post joins her home timeline, nothing else does.
    code, followed = await act(client, alice, "/api/v1/tags/wildebeest/follow")
    assert code == 200 and followed["following"] is True
    _, home = await get(client, alice, "/api/v1/timelines/home")
    assert [s["id"] for s in home] == [tagged["id"]]
    code, new = await act(client, alice, "/api/v1/tags/brandnew/follow")
    assert code == 200 and new["history"][0]["uses"] == "0"
    _, listed = await get(client, alice, "/api/v1/followed_tags")
    assert [t["name"] for t in listed] == ["brandnew", "Wildebeest"]
    code, unfollowed = await act(client, alice, "/api/v1/tags/wildebeest/unfollow")
    assert unfollowed["following"] is False
    assert (await get(client, alice, "/api/v1/timelines/home"))[1] == []
    assert (await act(client, alice, "/api/v1/tags/nothere/unfollow"))[0] == 404
    assert (await act(client, alice, "/api/v1/tags/not-valid!/follow"))[0] == 404


async def test_conversations(client: Any, alice: User, bob: User, carol: User) -> None:
    first = await post(client, alice, "@bob psst", visibility="direct")
    _, mine = await get(client, alice, "/api/v1/conversations")
    _, theirs = await get(client, bob, "/api/v1/conversations")
    assert len(mine) == 1 and len(theirs) == 1
    assert mine[0]["unread"] is False and theirs[0]["unread"] is True
    assert [a["id"] for a in mine[0]["accounts"]] == [bob.id]
    assert [a["id"] for a in theirs[0]["accounts"]] == [alice.id]
    assert theirs[0]["last_status"]["id"] == first["id"]
    assert (await get(client, carol, "/api/v1/conversations"))[1] == []

    reply = await post(client, bob, "@alice hush", visibility="direct", in_reply_to_id=first["id"])
    _, mine = await get(client, alice, "/api/v1/conversations")
    assert len(mine) == 1 and mine[0]["last_status"]["id"] == reply["id"]
    assert mine[0]["unread"] is True
    code, read = await act(client, alice, f"/api/v1/conversations/{mine[0]['id']}/read")
    assert code == 200 and read["unread"] is False

    # A second thread, then pagination by the latest status.
    group = await post(client, alice, "@bob @carol all of us", visibility="direct")
    _, mine = await get(client, alice, "/api/v1/conversations")
    assert [c["last_status"]["id"] for c in mine] == [group["id"], reply["id"]]
    assert {a["id"] for a in mine[0]["accounts"]} == {bob.id, carol.id}
    response = await client.get("/api/v1/conversations?limit=1", headers=alice.headers)
    assert f"max_id={group['id']}" in response.headers["Link"]

    # Deleting the latest status points the thread at the one before; removing it
    # takes it off one list only.
    assert (
        await client.delete(f"/api/v1/statuses/{reply['id']}", headers=bob.headers)
    ).status_code == 200
    _, mine = await get(client, alice, "/api/v1/conversations")
    assert [c["last_status"]["id"] for c in mine] == [group["id"], first["id"]]
    response = await client.delete(f"/api/v1/conversations/{mine[1]['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert len((await get(client, alice, "/api/v1/conversations"))[1]) == 1
    assert len((await get(client, bob, "/api/v1/conversations"))[1]) == 2
    response = await client.delete(f"/api/v1/conversations/{mine[0]['id']}", headers=carol.headers)
    assert response.status_code == 404
    assert (await act(client, carol, "/api/v1/conversations/123/read"))[0] == 404


async def test_markers(client: Any, alice: User, bob: User) -> None:
    assert (await get(client, alice, "/api/v1/markers"))[1] == {}
    code, saved = await act(client, alice, "/api/v1/markers", home={"last_read_id": "123"})
    assert code == 200 and saved["home"]["last_read_id"] == "123"
    assert saved["home"]["version"] == 0 and saved["home"]["updated_at"].endswith("Z")
    response = await client.post(
        "/api/v1/markers",
        headers=alice.headers,
        form={"home[last_read_id]": "456", "notifications[last_read_id]": "7"},
    )
    both = await response.get_json()
    assert both["home"] == {**both["home"], "last_read_id": "456", "version": 1}
    assert both["notifications"]["last_read_id"] == "7"
    _, only_home = await get(client, alice, "/api/v1/markers?timeline[]=home")
    assert list(only_home) == ["home"]
    assert (await get(client, bob, "/api/v1/markers"))[1] == {}
    assert (await act(client, alice, "/api/v1/markers", home={"last_read_id": "x"}))[0] == 422
    assert (await act(client, alice, "/api/v1/markers"))[0] == 400
    assert (await client.get("/api/v1/markers")).status_code == 401


async def test_lists(client: Any, alice: User, bob: User, carol: User) -> None:
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    code, created = await act(client, alice, "/api/v1/lists", title="Friends")
    assert code == 200
    assert created == {
        "id": created["id"],
        "title": "Friends",
        "replies_policy": "list",
        "exclusive": False,
    }
    base = f"/api/v1/lists/{created['id']}"
    assert (await act(client, alice, "/api/v1/lists", title=" "))[0] == 422
    assert (await act(client, alice, "/api/v1/lists", title="x", replies_policy="all"))[0] == 422
    assert (await act(client, alice, base + "/accounts", account_ids=[bob.id]))[0] == 200
    code, body = await act(client, bob, base + "/accounts", account_ids=[alice.id])
    assert code == 404  # not bob's list
    _, body = await act(client, alice, "/api/v1/lists", title="Strangers")
    code, body = await act(
        client, alice, f"/api/v1/lists/{body['id']}/accounts", account_ids=[alice.id]
    )
    assert code == 422  # only followed accounts
    _, listed = await get(client, alice, base + "/accounts")
    assert [a["id"] for a in listed] == [bob.id]
    _, holding = await get(client, alice, f"/api/v1/accounts/{bob.id}/lists")
    assert [x["id"] for x in holding] == [created["id"]]

    bobs = await post(client, bob, "bob on the list")
    carols = await post(client, carol, "carol is not")
    reply_to_carol = await post(client, bob, "@carol hi", in_reply_to_id=carols["id"])
    ids, _ = await page(client, alice, f"/api/v1/timelines/list/{created['id']}")
    assert ids == [bobs["id"]]  # replies only to list members by default
    response = await client.put(
        base, headers=alice.headers, json={"replies_policy": "followed", "exclusive": True}
    )
    assert response.status_code == 200
    assert (await response.get_json())["exclusive"] is True
    ids, _ = await page(client, alice, f"/api/v1/timelines/list/{created['id']}")
    assert ids == [reply_to_carol["id"], bobs["id"]]
    # An exclusive list's members leave the home timeline.
    ids, _ = await page(client, alice, "/api/v1/timelines/home")
    assert bobs["id"] not in ids and carols["id"] in ids

    # Unfollowing takes an account off one's lists; deleting the list ends it.
    await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    assert (await get(client, alice, base + "/accounts"))[1] == []
    response = await client.delete(base, headers=alice.headers)
    assert response.status_code == 200
    assert (await get(client, alice, base))[0] == 404
    assert [x["title"] for x in (await get(client, alice, "/api/v1/lists"))[1]] == ["Strangers"]
    assert (await get(client, bob, "/api/v1/timelines/list/123"))[0] == 404


async def test_trends(client: Any, alice: User, bob: User, carol: User) -> None:
    popular = await post(client, alice, "#busy by alice")
    await post(client, bob, "#busy by bob")
    quiet = await post(client, carol, "#quiet and #busy by carol")
    await post(client, carol, "#hidden but private", visibility="private")
    for user in (bob, carol):
        await act(client, user, f"/api/v1/statuses/{popular['id']}/favourite")
    await act(client, bob, f"/api/v1/statuses/{quiet['id']}/favourite")
    await act(client, bob, f"/api/v1/statuses/{popular['id']}/reblog")

    code, tags = await get(client, None, "/api/v1/trends/tags")
    assert code == 200 and [t["name"] for t in tags] == ["busy", "quiet"]
    assert tags[0]["history"][0]["accounts"] == "3"
    assert (await get(client, None, "/api/v1/trends"))[1] == tags
    response = await client.get("/api/v1/trends/tags?limit=1")
    assert [t["name"] for t in await response.get_json()] == ["busy"]
    assert (
        response.headers["Link"].startswith("<")
        and 'offset=1>; rel="next"' in response.headers["Link"]
    )
    _, second = await get(client, None, "/api/v1/trends/tags?limit=1&offset=1")
    assert [t["name"] for t in second] == ["quiet"]

    code, statuses = await get(client, alice, "/api/v1/trends/statuses")
    assert code == 200 and [s["id"] for s in statuses] == [popular["id"], quiet["id"]]
    assert statuses[0]["favourited"] is False
    code, body = await get(client, None, "/api/v1/trends/statuses?offset=-1")
    assert code == 400
    assert body["error"] == "Pagination values for offset and limit must be positive"


async def test_only_media_keeps_statuses_with_attachments(
    client: Any, alice: User, bob: User
) -> None:
    from tests.test_media_api import photo, upload

    response = await client.post(
        "/api/v1/media", headers=alice.headers, files={"file": upload(photo())}
    )
    assert response.status_code == 200
    media = await response.get_json()
    await post(client, alice, "no picture #cats")
    pictured = await post(client, alice, "a picture #cats", media_ids=[media["id"]])
    await act(client, bob, f"/api/v1/statuses/{pictured['id']}/reblog")
    for path in (
        "/api/v1/timelines/public?only_media=true",
        "/api/v1/timelines/public?local=true&only_media=1",
        "/api/v1/timelines/tag/cats?only_media=true",
        f"/api/v1/accounts/{alice.id}/statuses?only_media=true",
    ):
        assert (await page(client, bob, path))[0] == [pictured["id"]], path
    # A boost carries no media of its own.
    assert (await page(client, bob, f"/api/v1/accounts/{bob.id}/statuses?only_media=1"))[0] == []
