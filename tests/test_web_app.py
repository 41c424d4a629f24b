"""The web app for signed-in people, over plain HTTP: its pages, its forms (CSRF, who may
do what, where each returns to) and what they change, seen through the API."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

from PIL import Image
from quart.datastructures import FileStorage

from tests.fakes.rows import remote_account
from tests.oauth_flow import csrf_from
from tests.social import follow, get, make_user, post
from tests.web_helpers import html_of, log_in, submit
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime

PAGES = ("/home", "/notifications", "/bookmarks", "/favourites", "/lists", "/search", "/compose")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


async def posted_from(client: Any, arg: str, status_id: str, form: dict[str, str]) -> Any:
    """Post the compose form opened by a post's reply or quote button (`arg`), carrying
    that post's id as its hidden field does; the redirect that answers."""
    field = {"in_reply_to_id": "in_reply_to_id", "quote_id": "quoted_status_id"}[arg]
    response = await submit(
        client, f"/compose?{arg}={status_id}", "/compose", {**form, field: status_id}
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    return response


async def test_front_page_grammar_and_signed_in_navigation(rt: Runtime, client: Any) -> None:
    await make_user(rt, client, "alice")
    html = await html_of(client, "/")
    assert "1 person calls this server home." in html
    await make_user(rt, client, "bob")
    assert "2 people call this server home." in await html_of(client, "/")
    await log_in(client, "alice")
    html = await html_of(client, "/")
    nav = html[html.index('<nav aria-label="Site">') : html.index("</nav>")]
    labels = re.findall(r'<a href="[^"]+"[^>]*>([A-Za-z]+)', nav)
    assert labels[:10] == [
        "Home",
        "Notifications",
        "Local",
        "Federated",
        "Search",
        "Bookmarks",
        "Favourites",
        "Lists",
        "Profile",
        "Settings",
    ]
    assert 'href="/@alice"' in nav
    # The page script comes from this site under its content hash, and only for people
    # signed in; it is cached for good and a stale hash is a 404.
    src = re.search(r'<script type="module" src="(/assets/app-[0-9a-f]{16}\.js)">', html)
    assert src is not None
    response = await client.get(src.group(1))
    assert response.status_code == 200
    assert response.content_type.startswith("text/javascript")
    assert "immutable" in response.headers["Cache-Control"]
    assert (await client.get("/assets/app-0000000000000000.js")).status_code == 404


async def test_app_pages_need_a_session(rt: Runtime, client: Any) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/auth/sign_in?next=")
    await make_user(rt, client, "alice")
    await log_in(client, "alice")
    for path in PAGES:
        html = await html_of(client, path)
        assert '<main id="main"' in html, path


async def test_home_reads_follows_and_pages_with_max_and_min_id(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await follow(client, alice, bob)
    ids = [(await post(client, bob, f"bob number {i}"))["id"] for i in range(23)]
    await log_in(client, "alice")
    first = await html_of(client, "/home")
    assert "bob number 22" in first and "bob number 2<" not in first
    assert 'rel="prev"' not in first
    older = re.search(r'href="(/home\?max_id=(\d+))" rel="next"', first)
    assert older is not None and older.group(2) == ids[3]
    second = await html_of(client, older.group(1).replace("&amp;", "&"))
    assert "bob number 2<" in second and "bob number 0<" in second
    assert "bob number 3<" not in second
    assert 'rel="next"' not in second
    newer = re.search(r'href="(/home\?min_id=(\d+))" rel="prev"', second)
    assert newer is not None and newer.group(2) == ids[2]
    # min_id: the posts just above it, newest first, with links both ways.
    third = await html_of(client, newer.group(1))
    assert "bob number 3<" in third and "bob number 22<" in third
    assert third.index("bob number 22<") < third.index("bob number 3<")
    assert 'rel="next"' in third and 'rel="prev"' in third


async def test_compose_reply_edit_and_delete_without_script(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    root = await post(client, bob, "What do you think of meadows?")
    await log_in(client, "alice")
    response = await submit(
        client,
        "/home",
        "/compose",
        {
            "status": "Hello from the web",
            "spoiler_text": "",
            "visibility": "unlisted",
            "language": "en",
            "back": "/home",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/home?notice=posted"
    assert "Your post was published." in await html_of(client, "/home?notice=posted")
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert mine[0]["content"] == "<p>Hello from the web</p>"
    assert mine[0]["visibility"] == "unlisted" and mine[0]["language"] == "en"
    # A reply: the form prefills the mention and returns to the new post's page.
    html = await html_of(client, f"/compose?in_reply_to_id={root['id']}")
    assert "@bob </textarea>" in html and "What do you think of meadows?" in html
    response = await posted_from(
        client, "in_reply_to_id", root["id"], {"status": "@bob They are lovely"}
    )
    reply_path = response.headers["Location"].split("?")[0]
    reply_id = reply_path.rsplit("/", 1)[1]
    assert reply_path == f"/@alice/{reply_id}"
    _, reply = await get(client, alice, f"/api/v1/statuses/{reply_id}")
    assert reply["in_reply_to_id"] == root["id"]
    thread = await html_of(client, f"/@bob/{root['id']}")
    assert "They are lovely" in thread
    # Edit: the form shows the text; the change is a new version.
    html = await html_of(client, f"/statuses/{reply_id}/edit")
    assert "@bob They are lovely</textarea>" in html
    response = await submit(
        client,
        f"/statuses/{reply_id}/edit",
        f"/statuses/{reply_id}/edit",
        {"status": "@bob They are wonderful", "spoiler_text": "", "language": "en"},
    )
    assert response.status_code == 303
    _, edited = await get(client, alice, f"/api/v1/statuses/{reply_id}")
    assert "wonderful" in edited["content"] and edited["edited_at"] is not None
    # Refused input comes back in the form with the reason, nothing posted.
    response = await submit(client, "/home", "/compose", {"status": "x" * 501})
    assert response.status_code == 422
    body = await response.get_data(as_text=True)
    assert "character limit" in body and "x" * 501 in body
    # Delete from the post's own page: back home, and the post is gone.
    response = await submit(
        client, reply_path, f"/statuses/{reply_id}/delete", {"back": reply_path}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/home?notice=deleted"
    status, _ = await get(client, alice, f"/api/v1/statuses/{reply_id}")
    assert status == 404


async def _post_with_image(client: Any, form: dict[str, str]) -> Any:
    """Compose from the home page with one JPEG attached; the response."""
    html = await (await client.get("/home")).get_data(as_text=True)
    return await client.post(
        "/compose",
        form={"csrf_token": csrf_from(html), **form},
        files={"media": FileStorage(io.BytesIO(_jpeg()), "f.jpg", content_type="image/jpeg")},
    )


async def test_post_with_image_alt_text_and_poll(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await log_in(client, "alice")
    response = await _post_with_image(
        client, {"status": "A field", "alt_0": "Green grass under a grey sky"}
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    [attachment] = mine[0]["media_attachments"]
    assert attachment["type"] == "image"
    assert attachment["description"] == "Green grass under a grey sky"
    home = await html_of(client, "/home")
    assert 'alt="Green grass under a grey sky"' in home
    response = await submit(
        client,
        "/home",
        "/compose",
        {"status": "Tea or coffee?", "poll_options": "Tea", "poll_expires_in": "3600"},
    )
    assert response.status_code == 422  # a poll needs two options
    html = await (await client.get("/home")).get_data(as_text=True)
    response = await client.post(
        "/compose",
        form=[
            ("csrf_token", csrf_from(html)),
            ("status", "Tea or coffee?"),
            ("poll_options", "Tea"),
            ("poll_options", "Coffee"),
            ("poll_options", ""),
            ("poll_expires_in", "3600"),
        ],
    )
    assert response.status_code == 303
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert [o["title"] for o in mine[0]["poll"]["options"]] == ["Tea", "Coffee"]


async def test_media_focus_point_and_blurhash_placeholder(rt: Runtime, client: Any) -> None:
    """The focal point typed beside a file is Mastodon's `focus`, and places the cropped
    preview; while the lazy image loads, its blurhash shows (decoded on the server, so it
    needs no script)."""
    alice = await make_user(rt, client, "alice")
    await log_in(client, "alice")
    response = await _post_with_image(
        client, {"status": "Look left", "alt_0": "A field", "focus_0": " -0.5, 1 "}
    )
    assert response.status_code == 303, await response.get_data(as_text=True)
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    [attachment] = mine[0]["media_attachments"]
    assert attachment["meta"]["focus"] == {"x": -0.5, "y": 1.0}
    assert attachment["blurhash"]
    home = await html_of(client, "/home")
    assert 'loading="lazy" class="fx-5 fy-0"' in home
    assert re.search(r'<img class="blur" src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="">', home)
    for bad in ("2,0", "x,y", "1", "nan,0"):
        html = await (await client.get("/home")).get_data(as_text=True)
        response = await client.post(
            "/compose",
            form={"csrf_token": csrf_from(html), "status": "Bad focus", "focus_0": bad},
            files={"media": FileStorage(io.BytesIO(_jpeg()), "f.jpg", content_type="image/jpeg")},
        )
        assert response.status_code == 422, bad
        assert "Focus" in await response.get_data(as_text=True)


async def test_actions_on_a_post(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "Boost me")
    await log_in(client, "alice")
    path = f"/@bob/{status['id']}"
    for verb in ("favourite", "reblog", "bookmark", "mute"):
        response = await submit(
            client, path, f"/statuses/{status['id']}/{verb}", {"back": path + "?notice=old"}
        )
        assert response.status_code == 303, verb
        assert response.headers["Location"].startswith(path + "?notice="), verb
    _, seen = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert seen["favourited"] and seen["reblogged"] and seen["bookmarked"] and seen["muted"]
    html = await html_of(client, path)
    assert "Unfavourite 1" in html and "Unboost 1" in html and "Remove bookmark" in html
    assert "Boost me" in await html_of(client, "/bookmarks")
    assert "Boost me" in await html_of(client, "/favourites")
    for verb in ("unfavourite", "unreblog", "unbookmark", "unmute"):
        response = await submit(client, path, f"/statuses/{status['id']}/{verb}", {"back": path})
        assert response.status_code == 303, verb
    _, seen = await get(client, alice, f"/api/v1/statuses/{status['id']}")
    assert not (seen["favourited"] or seen["reblogged"] or seen["bookmarked"] or seen["muted"])
    # Pinning, editing and deleting are the author's only.
    for verb in ("pin", "delete"):
        response = await submit(client, path, f"/statuses/{status['id']}/{verb}", {})
        assert response.status_code in (403, 422), verb
    assert (await client.get(f"/statuses/{status['id']}/edit")).status_code == 404
    response = await submit(client, path, f"/statuses/{status['id']}/edit", {"status": "mine now"})
    assert response.status_code == 403
    _, seen = await get(client, bob, f"/api/v1/statuses/{status['id']}")
    assert seen["content"] == "<p>Boost me</p>"
    # Report, from its own page (the post's "Report" link leads there).
    assert f'href="/statuses/{status["id"]}/report"' in await html_of(client, path)
    report_page = await html_of(client, f"/statuses/{status['id']}/report")
    assert "Boost me" in report_page and 'name="category"' in report_page
    await html_of(client, "/statuses/1/report", 404)
    response = await submit(
        client,
        f"/statuses/{status['id']}/report",
        f"/statuses/{status['id']}/report",
        {"category": "spam", "comment": "Nothing but boosts", "back": path},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?notice=reported"
    comment = await rt.store.read(
        lambda conn: conn.fetchval(
            "SELECT comment FROM reports WHERE target_account_id = $1", int(bob.id)
        )
    )
    assert comment == "Nothing but boosts"
    # An open redirect is not possible: `back` stays on this site.
    response = await submit(
        client, path, f"/statuses/{status['id']}/favourite", {"back": "https://evil.example/"}
    )
    assert response.headers["Location"].startswith("/?notice=")
    assert (await submit(client, path, "/statuses/junk/favourite", {})).status_code == 404
    assert (await submit(client, path, "/statuses/1/favourite", {})).status_code == 404


async def test_forms_refuse_without_csrf_or_session(rt: Runtime, client: Any) -> None:
    await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "Hello")
    await log_in(client, "alice")
    for action, form in (
        ("/compose", {"status": "forged"}),
        (f"/statuses/{status['id']}/favourite", {}),
        (f"/statuses/{status['id']}/delete", {}),
        ("/@bob/relationship", {"action": "block"}),
    ):
        response = await client.post(action, form=form)
        assert response.status_code == 403, action
        response = await client.post(action, form={**form, "csrf_token": "wrong"})
        assert response.status_code == 403, action
    client.cookie_jar.clear()
    html = await (await client.get("/auth/sign_in")).get_data(as_text=True)
    response = await client.post(
        f"/statuses/{status['id']}/favourite", form={"csrf_token": csrf_from(html)}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign_in")
    _, seen = await get(client, bob, f"/api/v1/statuses/{status['id']}")
    assert seen["favourites_count"] == 0


async def test_profile_follow_mute_block(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await log_in(client, "alice")
    html = await html_of(client, "/@bob")
    assert ">Follow</button>" in html and ">Mute</button>" in html and ">Block</button>" in html
    for verb, field, value in (
        ("follow", "following", True),
        ("mute", "muting", True),
        ("unmute", "muting", False),
        ("block", "blocking", True),
        ("unblock", "blocking", False),
    ):
        response = await submit(client, "/@bob", "/@bob/relationship", {"action": verb})
        assert response.status_code == 303, verb
        assert response.headers["Location"] == f"/@bob?notice={verb}"
        _, rel = await get(client, alice, f"/api/v1/accounts/relationships?id[]={bob.id}")
        assert rel[0][field] is value, verb
    assert "Unfollow" not in await html_of(client, "/@bob")  # the block ended the follow
    response = await submit(client, "/@bob", "/@bob/relationship", {"action": "dance"})
    assert response.status_code == 404
    response = await submit(client, "/@alice", "/@alice/relationship", {"action": "follow"})
    assert response.status_code == 422


async def test_notifications_grouped_and_marked_read(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "Favourite this")
    fans = [await make_user(rt, client, name) for name in ("bob", "carol", "dave")]
    for fan in fans:
        response = await client.post(
            f"/api/v1/statuses/{status['id']}/favourite", headers=fan.headers
        )
        assert response.status_code == 200
    await follow(client, fans[0], alice)
    await log_in(client, "alice")
    home = await html_of(client, "/home")
    assert "<title>(2) " in home  # two groups: the favourites and the follow
    html = await html_of(client, "/notifications")
    assert html.count('class="notification"') == 2
    assert "favourited your post" in html and "followed you" in html
    favourites = html[html.index("favourited your post") - 600 : html.index("favourited your")]
    assert "dave" in favourites and "carol" in favourites and "bob" in favourites
    assert "Favourite this" in html
    # Seen: the count is gone.
    assert "<title>(" not in await html_of(client, "/home")


async def test_search_finds_accounts_tags_and_posts(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "I love #meadows and wildflowers")
    await remote_account(rt, "rita", "remote.example", display_name="Rita Remote")
    await log_in(client, "alice")
    html = await html_of(client, "/search?q=meadows")
    assert 'href="/tags/meadows"' in html
    html = await html_of(client, "/search?q=rita")
    assert 'href="/@rita@remote.example"' in html
    html = await html_of(client, "/search?q=wildflowers")
    assert "I love" in html
    html = await html_of(client, "/search?q=%40nobody%40nowhere.invalid")
    assert "No account found." in html


async def test_list_timeline(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    await follow(client, alice, bob)
    response = await client.post("/api/v1/lists", headers=alice.headers, json={"title": "Pals"})
    listed = await response.get_json()
    response = await client.post(
        f"/api/v1/lists/{listed['id']}/accounts",
        headers=alice.headers,
        json={"account_ids": [bob.id]},
    )
    assert response.status_code == 200
    await post(client, bob, "a listed post")
    await log_in(client, "alice")
    assert f'href="/lists/{listed["id"]}"' in await html_of(client, "/lists")
    html = await html_of(client, f"/lists/{listed['id']}")
    assert "Pals" in html and "a listed post" in html
    await html_of(client, "/lists/1", 404)
    await make_user(rt, client, "carol")
    await log_in(client, "carol")
    await html_of(client, f"/lists/{listed['id']}", 404)  # not hers


async def test_quote_a_post(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "Quote me if you dare")
    await log_in(client, "alice")
    assert f'href="/compose?quote_id={status["id"]}"' in await html_of(client, "/public/local")
    html = await html_of(client, f"/compose?quote_id={status['id']}")
    assert "Quote me if you dare" in html
    assert f'name="quoted_status_id" value="{status["id"]}"' in html
    await posted_from(client, "quote_id", status["id"], {"status": "I dare"})
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert mine[0]["quote"]["quoted_status"]["id"] == status["id"]
    # Quoting what one may not see is refused with the form kept.
    hidden = await post(client, bob, "for my followers", visibility="private")
    response = await submit(
        client, "/home", "/compose", {"status": "sneaky", "quoted_status_id": hidden["id"]}
    )
    assert response.status_code == 422
    assert "sneaky" in await response.get_data(as_text=True)


async def test_schedule_a_post(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await log_in(client, "alice")
    # What the datetime-local input sends: minutes, no zone (read as UTC).
    later = datetime.fromtimestamp(now_ms() / 1000 + 86400, UTC).strftime("%Y-%m-%dT%H:%M")
    response = await submit(
        client, "/home", "/compose", {"status": "Later, please", "scheduled_at": later}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/home?notice=scheduled"
    _, kept = await get(client, alice, "/api/v1/scheduled_statuses")
    assert kept[0]["params"]["text"] == "Later, please"
    assert kept[0]["scheduled_at"].startswith(f"{later}:00")
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert mine == []
    response = await submit(
        client, "/home", "/compose", {"status": "Now-ish", "scheduled_at": "2000-01-01T00:00"}
    )
    assert response.status_code == 303  # a time already past posts at once, as Mastodon
    _, mine = await get(client, alice, f"/api/v1/accounts/{alice.id}/statuses")
    assert mine[0]["content"] == "<p>Now-ish</p>"
    response = await submit(
        client, "/home", "/compose", {"status": "Garbled", "scheduled_at": "soon"}
    )
    assert response.status_code == 422


async def test_compose_suggestions(rt: Runtime, client: Any) -> None:
    """What the compose script offers for `@na` and `#ta`; anything else gets nothing, and
    someone signed out is sent to sign in."""
    await make_user(rt, client, "alice")
    carol = await make_user(rt, client, "carol")
    await post(client, carol, "Who likes #meadows?")
    assert (await client.get("/compose/suggestions?q=@ca")).status_code == 302
    await log_in(client, "alice")

    async def offered(q: str) -> Any:
        response = await client.get("/compose/suggestions", query_string={"q": q})
        assert response.status_code == 200, q
        return await response.get_json()

    assert await offered("@car") == [{"value": "@carol", "label": "carol"}]
    assert await offered("#mead") == [{"value": "#meadows", "label": "#meadows"}]
    for nothing in ("", "@", "#", "carol", "x" * 5000, "#" + "é" * 200, "@" + "%" * 99):
        assert await offered(nothing) == [], nothing
    # A NUL is refused as in any request.
    refused = await client.get("/compose/suggestions", query_string={"q": "@\x00"})
    assert refused.status_code == 400
