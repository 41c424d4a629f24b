"""The public web site: about, timelines, tags, profiles, threads, RSS, negotiation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tests.fakes.rows import remote_account, remote_status
from tests.social import follow, make_user, post
from tests.web_helpers import html_of, log_in, submit
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.instance import add_rule

AP = "application/activity+json"


async def test_about_page_shows_rules_contact_and_sign_up(rt: Runtime, client: Any) -> None:
    await add_rule(rt, "Be kind to one another")
    await make_user(rt, client, "alice")
    for path in ("/", "/about"):
        html = await html_of(client, path)
        assert "Be kind to one another" in html
        assert 'href="/auth/sign_up"' in html  # tests run with open registrations
        assert "<main" in html and "<nav" in html and "<footer" in html
        assert 'property="og:title"' in html


async def test_timelines_and_tag_pages_show_public_posts_only(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "hello from the #meadow")
    await post(client, alice, "only my followers see this", visibility="private")
    await post(client, alice, "quietly unlisted", visibility="unlisted")
    for path in ("/public/local", "/public", "/tags/meadow"):
        html = await html_of(client, path)
        assert "hello from the" in html, path
        assert "only my followers" not in html
        assert "quietly unlisted" not in html
    assert "Nothing here yet" in await html_of(client, "/tags/nothingtagged")
    await html_of(client, "/tags/bad%20tag!", 404)


async def test_timeline_pagination_links_to_older_posts(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    ids = [(await post(client, alice, f"post number {i}"))["id"] for i in range(22)]
    first = await html_of(client, "/public/local")
    assert "post number 21" in first and "post number 1<" not in first
    assert f'href="/public/local?max_id={ids[2]}"' in first
    second = await html_of(client, f"/public/local?max_id={ids[2]}")
    assert "post number 1<" in second and "post number 0<" in second
    assert "post number 5<" not in second
    assert 'rel="next"' not in second
    # A cursor that is not an id is the first page, not an error.
    assert "post number 21" in await html_of(client, "/public/local?max_id=junk")


async def test_profile_pages(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        form={
            "display_name": "Alice <Liddell>",
            "note": "Down the rabbit hole",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://alice.example/",
        },
    )
    assert response.status_code == 200
    top = await post(client, alice, "a top-level thought")
    reply = await post(client, bob, "bob says hi")
    await post(client, alice, "answering bob", in_reply_to_id=reply["id"])
    html = await html_of(client, "/@alice")
    assert "Alice &lt;Liddell&gt;" in html
    assert "Down the rabbit hole" in html
    assert '<link rel="me" href="https://alice.example/">' in html
    assert f'href="/@alice/{top["id"]}"' in html
    assert "answering bob" not in html
    assert 'property="og:type" content="profile"' in html
    assert 'type="application/rss+xml" href="/@alice.rss"' in html
    assert "answering bob" in await html_of(client, "/@alice/with_replies")
    assert "a top-level thought" not in await html_of(client, "/@alice/media")
    await html_of(client, "/@nobody", 404)
    # Anonymous visitors get a link to log in rather than a follow button.
    assert "Log in to follow" in html


async def test_status_page_shows_the_thread_the_viewer_may_see(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    root = await post(client, alice, "the root of it all")
    middle = await post(client, bob, "a public answer", in_reply_to_id=root["id"])
    await post(
        client, alice, "followers-only aside", in_reply_to_id=middle["id"], visibility="private"
    )
    await follow(client, carol, alice)
    html = await html_of(client, f"/@bob/{middle['id']}")
    assert "the root of it all" in html and "a public answer" in html
    assert "followers-only aside" not in html
    assert 'property="og:type" content="article"' in html
    # A follower of alice, signed in, sees the followers-only reply too.
    await log_in(client, "carol")
    assert "followers-only aside" in await html_of(client, f"/@bob/{middle['id']}")
    client.cookie_jar.clear()
    # The wrong author in the path, an unknown id, a non-id: 404 pages.
    await html_of(client, f"/@alice/{middle['id']}", 404)
    await html_of(client, "/@bob/123456789", 404)
    await html_of(client, "/@bob/notanid", 404)


async def test_activitypub_clients_are_sent_to_the_documents(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "negotiated")
    response = await client.get("/@alice", headers={"Accept": AP})
    assert response.status_code == 301
    assert response.headers["Location"] == f"{rt.config.base_url}/users/alice"
    assert "Accept" in response.headers["Vary"]
    response = await client.get(f"/@alice/{status['id']}", headers={"Accept": AP})
    assert response.status_code == 301
    assert (
        response.headers["Location"] == f"{rt.config.base_url}/users/alice/statuses/{status['id']}"
    )
    response = await client.get("/@alice", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "Accept" in response.headers["Vary"]


async def test_rss_feeds_for_profiles_and_tags(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "feed me <b>#rss</b>")
    await post(client, alice, "not for feeds", visibility="private")
    for path in ("/@alice.rss", "/tags/rss.rss"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.content_type.startswith("application/rss+xml")
        root = ET.fromstring(await response.get_data())
        items = root.findall("./channel/item")
        assert len(items) == 1, path
        assert "feed me" in (items[0].findtext("description") or "")
        assert items[0].findtext("pubDate", "").endswith("GMT")
    assert (await client.get("/@nobody.rss")).status_code == 404


async def _rita(rt: Runtime) -> int:
    """A remote account, Rita at remote.example."""
    return await remote_account(
        rt, "rita", "remote.example", display_name="Rita Remote", note="<p>far away</p>"
    )


async def test_remote_profile_and_follow_button(rt: Runtime, client: Any) -> None:
    await make_user(rt, client, "alice")
    remote_id = await _rita(rt)
    html = await html_of(client, "/@rita@remote.example")
    assert "Rita Remote" in html and "far away" in html
    assert 'href="https://remote.example/@rita"' in html
    assert 'name="robots" content="noindex"' in html
    # Remote accounts have no ActivityPub document here.
    response = await client.get("/@rita@remote.example", headers={"Accept": AP})
    assert response.status_code == 404
    await log_in(client, "alice")
    html = await html_of(client, "/@rita@remote.example")
    assert 'action="/@rita@remote.example/relationship"' in html
    response = await submit(
        client, "/@rita@remote.example", "/@rita@remote.example/follow", {"action": "follow"}
    )
    assert response.status_code == 303
    rows = await rt.store.read(
        lambda conn: conn.fetch(
            "SELECT target_account_id FROM follow_requests WHERE target_account_id = $1 "
            "UNION ALL SELECT target_account_id FROM follows WHERE target_account_id = $1",
            remote_id,
        )
    )
    assert len(rows) == 1
    html = await html_of(client, "/@rita@remote.example")
    assert "Cancel follow request" in html or "Unfollow" in html
    # Without the CSRF token, refused.
    response = await client.post("/@rita@remote.example/follow", form={"action": "unfollow"})
    assert response.status_code == 403


async def test_media_alt_text_media_tab_and_og_image(rt: Runtime, client: Any) -> None:
    import io

    from PIL import Image
    from quart.datastructures import FileStorage

    alice = await make_user(rt, client, "alice")
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 60)).save(out, "JPEG")
    response = await client.post(
        "/api/v1/media",
        headers=alice.headers,
        files={"file": FileStorage(io.BytesIO(out.getvalue()), "p.jpg", content_type="image/jpeg")},
        form={"description": "A green field under a grey sky"},
    )
    media = await response.get_json()
    status = await post(client, alice, "look at this", media_ids=[media["id"]])
    await post(client, alice, "words only")
    html = await html_of(client, f"/@alice/{status['id']}")
    assert 'alt="A green field under a grey sky"' in html
    assert 'property="og:image:alt" content="A green field under a grey sky"' in html
    assert 'name="twitter:card" content="summary_large_image"' in html
    tab = await html_of(client, "/@alice/media")
    assert "look at this" in tab and "words only" not in tab
    rss = await (await client.get("/@alice.rss")).get_data(as_text=True)
    assert "<media:description" in rss and "A green field" in rss


async def test_remote_status_page_and_suspended_domains(rt: Runtime, client: Any) -> None:
    from wildebeest_trio.services.domain_blocks import block_domain

    status_id = await remote_status(
        rt,
        await _rita(rt),
        "remote.example",
        "<p>greetings from afar</p>",
        uri="https://remote.example/users/rita/statuses/1",
        url="https://remote.example/@rita/1",
    )
    html = await html_of(client, f"/@rita@remote.example/{status_id}")
    assert "greetings from afar" in html
    assert 'property="og:url" content="https://remote.example/@rita/1"' in html
    response = await client.get(f"/@rita@remote.example/{status_id}", headers={"Accept": AP})
    assert response.status_code == 404
    assert "greetings from afar" in await html_of(client, "/public")
    assert "greetings from afar" not in await html_of(client, "/public/local")
    # A suspended domain's accounts and posts are not shown.
    await rt.store.write(
        lambda conn: block_domain(conn, rt.ids, "remote.example", severity="suspend")
    )
    await html_of(client, "/@rita@remote.example", 404)
    await html_of(client, f"/@rita@remote.example/{status_id}", 404)


async def test_sign_in_and_account_pages_parse_strictly(rt: Runtime, client: Any) -> None:
    await make_user(rt, client, "alice")
    for path in ("/auth/sign_in", "/auth/sign_up"):
        html = await html_of(client, path)
        assert 'name="csrf_token"' in html
    await html_of(client, "/auth/password/new", 404)  # no mail server configured
    await html_of(client, "/auth/confirmation?confirmation_token=junk", 400)
    await log_in(client, "alice")
    html = await html_of(client, "/settings/applications")
    assert 'action="/auth/sign_out"' in html
    # Signed in, the header links to the settings, and a local profile has a follow form.
    await make_user(rt, client, "bob")
    await log_in(client, "alice")
    html = await html_of(client, "/@bob")
    assert 'href="/settings/profile"' in html and 'action="/@bob/relationship"' in html
    assert 'action="/@alice/follow"' not in await html_of(client, "/@alice")
