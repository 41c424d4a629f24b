"""Keyword filters through the Mastodon API: v2 CRUD, the v1 view, and their effect on
timelines, threads and single statuses."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from tests.social import User, act, follow, get, make_user, post, token_with
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection
from wildebeest_trio.store.filters import FilterSet, keyword_pattern, plain_text
from wildebeest_trio.streaming.hub import Subscription
from wildebeest_trio.streaming.relay import run_relay

FILTER_KEYS = {"id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"}


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await make_user(rt, client, "alice")


@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await make_user(rt, client, "bob")


async def create_filter(client: Any, user: User, **fields: Any) -> dict[str, Any]:
    body = {"title": "Cats", "context": ["home", "public", "thread", "account"], **fields}
    code, created = await act(client, user, "/api/v2/filters", **body)
    assert code == 200, created
    return created


async def put(client: Any, user: User, path: str, **fields: Any) -> tuple[int, Any]:
    response = await client.put(path, headers=user.headers, json=fields)
    return response.status_code, await response.get_json()


async def delete(client: Any, user: User, path: str) -> tuple[int, Any]:
    response = await client.delete(path, headers=user.headers)
    return response.status_code, await response.get_json()


# Matching (pure) ---------------------------------------------------------------------------------


def _set(*keywords: tuple[str, bool]) -> FilterSet:
    from wildebeest_trio.store.filters import ActiveFilter

    row = {"id": 1, "title": "t", "context": ["home"], "action": "warn", "expires_at": None}
    return FilterSet([ActiveFilter(row, [{"keyword": k, "whole_word": w} for k, w in keywords])])


def test_whole_word_semantics_like_mastodon() -> None:
    whole = _set(("cat", True))
    assert whole.match(1, None, "A Cat sat")[0].keyword_matches == ["Cat"]
    assert whole.match(1, None, "category theory") == []
    assert whole.match(1, None, "cat-like") != []
    part = _set(("cat", False))
    assert part.match(1, None, "category")[0].keyword_matches == ["cat"]
    # A keyword starting or ending with a non-word character is bounded only on the other
    # side, as Mastodon's `\b` only goes next to word characters.
    assert keyword_pattern("#tag", True) == r"\#tag\b"
    assert _set(("#tag", True)).match(1, None, "x#tag y") != []
    assert _set(("#tag", True)).match(1, None, "#tags") == []
    assert plain_text("<p>One &amp; two<br>three</p><p>four</p>") == "One & two\nthree\nfour"


# v2 CRUD -----------------------------------------------------------------------------------------


async def test_v2_crud(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    before = now_ms()
    created = await create_filter(
        client,
        alice,
        filter_action="hide",
        expires_in=3600,
        keywords_attributes=[{"keyword": "cat"}, {"keyword": "dog", "whole_word": False}],
    )
    assert set(created) == FILTER_KEYS
    assert created["title"] == "Cats" and created["filter_action"] == "hide"
    assert created["context"] == ["home", "public", "thread", "account"]
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [
        ("cat", True),
        ("dog", False),
    ]
    assert created["statuses"] == [] and created["expires_at"] is not None
    fid = created["id"]

    code, listed = await get(client, alice, "/api/v2/filters")
    assert code == 200 and [f["id"] for f in listed] == [fid]
    code, shown = await get(client, alice, f"/api/v2/filters/{fid}")
    assert code == 200 and shown == created
    code, theirs = await get(client, bob, "/api/v2/filters")
    assert code == 200 and theirs == []

    cat, dog = created["keywords"]
    code, updated = await put(
        client,
        alice,
        f"/api/v2/filters/{fid}",
        title="Pets",
        context=["notifications"],
        filter_action="blur",
        expires_in="",
        keywords_attributes=[
            {"id": cat["id"], "keyword": "kitten"},
            {"id": dog["id"], "_destroy": True},
            {"keyword": "hamster"},
        ],
    )
    assert code == 200, updated
    assert updated["title"] == "Pets" and updated["context"] == ["notifications"]
    assert updated["filter_action"] == "blur" and updated["expires_at"] is None
    assert [k["keyword"] for k in updated["keywords"]] == ["kitten", "hamster"]
    assert updated["keywords"][0]["id"] == cat["id"]

    # Other people's filters do not exist for you.
    for method in (get, delete):
        code, body = await method(client, bob, f"/api/v2/filters/{fid}")
        assert code == 404 and body == {"error": "Record not found"}
    code, _ = await put(client, bob, f"/api/v2/filters/{fid}", title="Mine")
    assert code == 404

    code, body = await delete(client, alice, f"/api/v2/filters/{fid}")
    assert code == 200 and body == {}
    code, _ = await get(client, alice, f"/api/v2/filters/{fid}")
    assert code == 404
    assert before > 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "Title"),
        ({"context": []}, "context"),
        ({"context": ["home", "everywhere"]}, "context"),
        ({"filter_action": "explode"}, "filter_action"),
        ({"keywords_attributes": [{"keyword": " "}]}, "keyword"),
        ({"expires_in": "soon"}, "expires_in"),
        ({"expires_in": -5}, "Expires"),
        ({"keywords_attributes": "cat"}, "keywords_attributes"),
    ],
)
async def test_v2_bad_input_is_422(
    rt: Runtime, client: Any, alice: User, fields: dict[str, Any], message: str
) -> None:
    body = {"title": "Bad", "context": ["home"], **fields}
    code, answer = await act(client, alice, "/api/v2/filters", **body)
    assert code == 422 and message in answer["error"], answer
    code, listed = await get(client, alice, "/api/v2/filters")
    assert listed == []


async def test_form_encoded_keywords_attributes(rt: Runtime, client: Any, alice: User) -> None:
    response = await client.post(
        "/api/v2/filters",
        headers=alice.headers,
        form=[
            ("title", "Form"),
            ("context[]", "home"),
            ("keywords_attributes[][keyword]", "one"),
            ("keywords_attributes[][whole_word]", "false"),
            ("keywords_attributes[][keyword]", "two"),
        ],
    )
    created = await response.get_json()
    assert response.status_code == 200, created
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [
        ("one", False),
        ("two", True),
    ]
    response = await client.put(
        f"/api/v2/filters/{created['id']}",
        headers=alice.headers,
        form=[
            ("keywords_attributes[0][id]", created["keywords"][0]["id"]),
            ("keywords_attributes[0][_destroy]", "1"),
            ("keywords_attributes[1][keyword]", "three"),
        ],
    )
    updated = await response.get_json()
    assert [k["keyword"] for k in updated["keywords"]] == ["two", "three"]


async def test_keyword_and_status_endpoints(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    fid = (await create_filter(client, alice))["id"]
    code, keyword = await act(
        client, alice, f"/api/v2/filters/{fid}/keywords", keyword="owl", whole_word=False
    )
    assert code == 200 and keyword["keyword"] == "owl" and keyword["whole_word"] is False
    code, listed = await get(client, alice, f"/api/v2/filters/{fid}/keywords")
    assert [k["id"] for k in listed] == [keyword["id"]]
    # Mastodon's paths for one keyword and one filtered status (apps edit them there).
    code, shown = await get(client, alice, f"/api/v2/filters/keywords/{keyword['id']}")
    assert code == 200 and shown == keyword
    code, aliased = await get(client, alice, f"/api/v2/filter_keywords/{keyword['id']}")
    assert code == 200 and aliased == keyword  # the earlier path still answers
    code, changed = await put(
        client, alice, f"/api/v2/filters/keywords/{keyword['id']}", keyword="Owls"
    )
    assert changed["keyword"] == "Owls" and changed["whole_word"] is False
    code, _ = await get(client, bob, f"/api/v2/filters/keywords/{keyword['id']}")
    assert code == 404
    code, body = await act(client, alice, f"/api/v2/filters/{fid}/keywords", keyword="")
    assert code == 422
    code, body = await delete(client, alice, f"/api/v2/filters/keywords/{keyword['id']}")
    assert code == 200 and body == {}
    code, _ = await get(client, alice, f"/api/v2/filters/keywords/{keyword['id']}")
    assert code == 404

    status = await post(client, bob, "Some post")
    code, entry = await act(
        client, alice, f"/api/v2/filters/{fid}/statuses", status_id=status["id"]
    )
    assert code == 200 and entry["status_id"] == status["id"]
    code, listed = await get(client, alice, f"/api/v2/filters/{fid}/statuses")
    assert listed == [entry]
    code, shown = await get(client, alice, f"/api/v2/filters/statuses/{entry['id']}")
    assert code == 200 and shown == entry
    code, aliased = await get(client, alice, f"/api/v2/filter_statuses/{entry['id']}")
    assert code == 200 and aliased == entry
    code, filtered = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert filtered["filtered"] == [
        {
            "filter": {
                "id": fid,
                "title": "Cats",
                "context": ["home", "public", "thread", "account"],
                "expires_at": None,
                "filter_action": "warn",
            },
            "keyword_matches": None,
            "status_matches": [status["id"]],
        }
    ]
    code, _ = await act(client, alice, f"/api/v2/filters/{fid}/statuses", status_id="12345")
    assert code == 404
    code, _ = await act(client, alice, f"/api/v2/filters/{fid}/statuses")
    assert code == 422
    code, _ = await get(client, bob, f"/api/v2/filters/statuses/{entry['id']}")
    assert code == 404
    code, body = await delete(client, alice, f"/api/v2/filters/statuses/{entry['id']}")
    assert code == 200 and body == {}
    code, unfiltered = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert unfiltered["filtered"] == []


async def test_v1_is_a_view_of_v2_keywords(rt: Runtime, client: Any, alice: User) -> None:
    code, v1 = await act(
        client,
        alice,
        "/api/v1/filters",
        phrase="spoilers",
        context=["home", "thread"],
        irreversible=True,
        whole_word=False,
    )
    assert code == 200, v1
    assert set(v1) == {"id", "phrase", "context", "whole_word", "expires_at", "irreversible"}
    assert v1["phrase"] == "spoilers" and v1["irreversible"] is True
    assert v1["whole_word"] is False and v1["context"] == ["home", "thread"]
    code, v2 = await get(client, alice, "/api/v2/filters")
    assert v2[0]["title"] == "spoilers" and v2[0]["filter_action"] == "hide"
    assert v2[0]["keywords"][0]["id"] == v1["id"]

    # A v2 filter with two keywords shows as two v1 filters.
    await create_filter(client, alice, keywords_attributes=[{"keyword": "a"}, {"keyword": "b"}])
    code, listed = await get(client, alice, "/api/v1/filters")
    assert [f["phrase"] for f in listed] == ["spoilers", "a", "b"]
    assert listed[1]["irreversible"] is False
    code, refused = await put(client, alice, f"/api/v1/filters/{listed[1]['id']}", phrase="c")
    assert code == 422 and "several keywords" in refused["error"]

    code, changed = await put(
        client, alice, f"/api/v1/filters/{v1['id']}", phrase="leaks", irreversible=False
    )
    assert code == 200 and changed["phrase"] == "leaks" and changed["irreversible"] is False
    code, shown = await get(client, alice, f"/api/v1/filters/{v1['id']}")
    assert shown == changed
    code, body = await delete(client, alice, f"/api/v1/filters/{v1['id']}")
    assert code == 200 and body == {}
    code, v2 = await get(client, alice, "/api/v2/filters")
    assert [f["title"] for f in v2] == ["Cats"]  # the emptied filter went with its keyword
    code, _ = await get(client, alice, f"/api/v1/filters/{v1['id']}")
    assert code == 404
    code, _ = await act(client, alice, "/api/v1/filters", phrase="", context=["home"])
    assert code == 422


async def test_scopes(rt: Runtime, client: Any, alice: User) -> None:
    read = await token_with(client, alice, "read:filters")
    write = await token_with(client, alice, "write:filters")
    statuses = await token_with(client, alice, "read:statuses write:statuses")
    for token, method, path, expected in [
        (read, "get", "/api/v2/filters", 200),
        (read, "post", "/api/v2/filters", 403),
        (write, "get", "/api/v1/filters", 403),
        (statuses, "get", "/api/v2/filters", 403),
        (statuses, "post", "/api/v1/filters", 403),
    ]:
        call = getattr(client, method)
        response = await call(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == expected, (method, path)
    code = (await client.get("/api/v2/filters")).status_code
    assert code == 401


# Applying ----------------------------------------------------------------------------------------


async def test_warn_and_hide_in_timelines(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    await follow(client, alice, bob)
    warn = await create_filter(
        client, alice, title="Warn", keywords_attributes=[{"keyword": "cat"}]
    )
    await create_filter(
        client,
        alice,
        title="Hide",
        context=["home"],
        filter_action="hide",
        keywords_attributes=[{"keyword": "spider", "whole_word": False}],
    )
    cat = await post(client, bob, "My cat is asleep")
    category = await post(client, bob, "A category of things")
    spiders = await post(client, bob, "Spiders everywhere")
    warned_cw = await post(client, bob, "Hidden text", spoiler_text="cat pictures")
    mine = await post(client, alice, "I like my cat")

    code, home = await get(client, alice, "/api/v1/timelines/home")
    ids = [s["id"] for s in home]
    assert spiders["id"] not in ids  # hidden server-side in home
    assert {cat["id"], category["id"], warned_cw["id"], mine["id"]} <= set(ids)
    by_id = {s["id"]: s for s in home}
    result = by_id[cat["id"]]["filtered"]
    assert [r["filter"]["id"] for r in result] == [warn["id"]]
    assert result[0]["keyword_matches"] == ["cat"] and result[0]["status_matches"] is None
    assert by_id[warned_cw["id"]]["filtered"][0]["keyword_matches"] == ["cat"]
    assert by_id[category["id"]]["filtered"] == []
    assert by_id[mine["id"]]["filtered"] == []  # one's own posts are never filtered

    # Not hidden where the hide filter does not apply, but marked for the client.
    code, public = await get(client, alice, "/api/v1/timelines/public")
    spider_entity = next(s for s in public if s["id"] == spiders["id"])
    assert spider_entity["filtered"][0]["filter"]["filter_action"] == "hide"
    code, theirs = await get(client, alice, f"/api/v1/accounts/{bob.id}/statuses")
    assert spiders["id"] in [s["id"] for s in theirs]
    # Other viewers and anonymous ones are unaffected.
    code, bobs = await get(client, bob, "/api/v1/timelines/home")
    assert spiders["id"] in [s["id"] for s in bobs]
    assert all(s["filtered"] == [] for s in bobs)
    code, anonymous = await get(client, None, "/api/v1/timelines/public")
    assert all("filtered" not in s for s in anonymous)

    # A boost of a hidden status goes too.
    code, boost = await act(client, bob, f"/api/v1/statuses/{spiders['id']}/reblog")
    assert code == 200
    code, home = await get(client, alice, "/api/v1/timelines/home")
    assert boost["id"] not in [s["id"] for s in home]


async def test_hide_in_notifications_removes_them_from_v1_and_v2(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await create_filter(
        client,
        alice,
        title="Spoilers",
        context=["notifications"],
        filter_action="hide",
        keywords_attributes=[{"keyword": "finale"}],
    )
    await post(client, bob, "@alice the finale was great")
    kept = await post(client, bob, "@alice lunch?")
    code, listed = await get(client, alice, "/api/v1/notifications")
    assert code == 200 and [n["status"]["id"] for n in listed] == [kept["id"]]
    code, grouped = await get(client, alice, "/api/v2/notifications")
    assert code == 200
    assert [g["status_id"] for g in grouped["notification_groups"]] == [kept["id"]]
    assert [s["id"] for s in grouped["statuses"]] == [kept["id"]]
    hidden = await rt.store.read(
        lambda conn: conn.fetchval("SELECT min(id) FROM notifications WHERE type = 'mention'")
    )
    code, _ = await get(client, alice, f"/api/v1/notifications/{hidden}")
    assert code == 404


async def test_hidden_page_still_links_to_the_next(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await follow(client, alice, bob)
    await post(client, bob, "an older post")
    for i in range(3):
        await post(client, bob, f"spam {i}")
    await create_filter(
        client,
        alice,
        context=["home"],
        filter_action="hide",
        keywords_attributes=[{"keyword": "spam"}],
    )
    response = await client.get("/api/v1/timelines/home?limit=3", headers=alice.headers)
    assert response.status_code == 200 and await response.get_json() == []
    link = response.headers["Link"]
    assert 'rel="next"' in link
    next_url = link.split(">")[0].lstrip("<")
    path = next_url[next_url.index("/api/") :]
    code, older = await get(client, alice, path)
    assert code == 200 and [s["content"] for s in older] == ["<p>an older post</p>"]


async def test_threads_and_expiry(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    root = await post(client, alice, "Thread root")
    reply = await post(client, bob, "A snake reply", in_reply_to_id=root["id"])
    fid = (
        await create_filter(
            client,
            alice,
            context=["thread"],
            filter_action="hide",
            keywords_attributes=[{"keyword": "snake"}],
        )
    )["id"]
    code, context = await get(client, alice, f"/api/v1/statuses/{root['id']}/context")
    assert code == 200 and context["descendants"] == []
    code, context = await get(client, bob, f"/api/v1/statuses/{root['id']}/context")
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]

    # An expired filter is ignored.
    async def expire(conn: Connection) -> None:
        await conn.execute(
            "UPDATE custom_filters SET expires_at = $1 WHERE id = $2", now_ms() - 1, int(fid)
        )

    await rt.store.write(expire)
    code, context = await get(client, alice, f"/api/v1/statuses/{root['id']}/context")
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]
    assert context["descendants"][0]["filtered"] == []
    code, listed = await get(client, alice, "/api/v2/filters")
    assert listed[0]["expires_at"] is not None  # still listed, for the user to renew


async def test_poll_options_are_matched(rt: Runtime, client: Any, alice: User, bob: User) -> None:
    status = await post(
        client, bob, "Vote!", poll={"options": ["pizza", "pasta"], "expires_in": 600}
    )
    await create_filter(client, alice, keywords_attributes=[{"keyword": "pasta"}])
    code, shown = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert code == 200 and shown["filtered"][0]["keyword_matches"] == ["pasta"]


async def test_changes_reach_the_users_streams(
    rt: Runtime, client: Any, alice: User, nursery: trio.Nursery
) -> None:
    await nursery.start(run_relay, rt)
    subscription = Subscription()
    rt.streams.subscribe(subscription, f"timeline:{alice.id}", ["user"])
    created = await create_filter(client, alice)
    await delete(client, alice, f"/api/v2/filters/{created['id']}")
    with trio.fail_after(10):
        events = [await subscription.receive.receive() for _ in range(2)]
    assert [(m.event, m.stream) for m in events] == [("filters_changed", ["user"])] * 2


async def test_media_descriptions_are_matched(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    from tests.test_media_api import photo, upload

    response = await client.post(
        "/api/v1/media",
        headers=bob.headers,
        files={"file": upload(photo())},
        form={"description": "A grumpy walrus"},
    )
    media = await response.get_json()
    assert response.status_code == 200, media
    status = await post(client, bob, "Look at this", media_ids=[media["id"]])
    await create_filter(client, alice, keywords_attributes=[{"keyword": "walrus"}])
    code, shown = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert code == 200 and shown["filtered"][0]["keyword_matches"] == ["walrus"]
