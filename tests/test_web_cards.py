"""Posts on the web pages are drawn once and kept (http/web/cards.py): what visitors see
still follows every change (an edit, a delete, a new post, a count, an account's new
name), and no visitor ever gets another's view (their action forms, their CSRF token)."""

from __future__ import annotations

import re
from typing import Any

from tests.oauth_flow import csrf_from
from tests.social import User, act, follow, make_user, post
from tests.web_helpers import html_of, log_in
from wildebeest_trio.runtime import Runtime


def _card(html: str, status_id: str) -> str:
    """The article of one post on a page."""
    start = html.index(f'id="s-{status_id}"')
    return html[start : html.index("</article>", start)]


async def _rename(client: Any, user: User, name: str) -> None:
    """`user` takes the display name `name`."""
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=user.headers, form={"display_name": name}
    )
    assert response.status_code == 200


async def _browser(client: Any, name: str) -> Any:
    """Another browser (its own cookies) on the same server, signed in as `name`."""
    other = client.app.test_client()
    await log_in(other, name)
    return other


async def test_cards_follow_edits_deletes_new_posts_counts_and_names(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    first = await post(client, alice, "The first meadow")
    second = await post(client, alice, "The second meadow")
    for path in ("/@alice", f"/@alice/{first['id']}", "/public/local"):
        html = await html_of(client, path)
        assert "The first meadow" in html
        # Asked twice: the second answer comes from the kept cards and is the same page.
        assert await html_of(client, path) == html

    response = await client.put(
        f"/api/v1/statuses/{first['id']}", headers=alice.headers, json={"status": "Mown"}
    )
    assert response.status_code == 200
    for path in ("/@alice", f"/@alice/{first['id']}", "/public/local"):
        html = await html_of(client, path)
        assert "Mown" in html and "The first meadow" not in html
        assert "<span>edited</span>" in _card(html, first["id"])

    status, _ = await act(client, bob, f"/api/v1/statuses/{second['id']}/favourite")
    assert status == 200
    assert "<span>1 favourite</span>" in _card(await html_of(client, "/@alice"), second["id"])

    await _rename(client, alice, "Alice of the Meadows")
    html = await html_of(client, "/public/local")
    assert 'class="name" href="/@alice">Alice of the Meadows</a>' in _card(html, second["id"])
    html = await html_of(client, "/@alice")
    assert '<h1 id="profile-name">Alice of the Meadows</h1>' in html
    assert 'class="name" href="/@alice">Alice of the Meadows</a>' in _card(html, second["id"])
    html = await html_of(client, f"/@alice/{first['id']}")
    assert 'class="name" href="/@alice">Alice of the Meadows</a>' in _card(html, first["id"])

    third = await post(client, alice, "A third meadow", in_reply_to_id=first["id"])
    html = await html_of(client, "/@alice/with_replies")
    assert "A third meadow" in html
    assert "A third meadow" in await html_of(client, "/public/local")
    # The thread of the first post gains its reply.
    assert "A third meadow" in await html_of(client, f"/@alice/{first['id']}")
    response = await client.delete(f"/api/v1/statuses/{second['id']}", headers=alice.headers)
    assert response.status_code == 200
    html = await html_of(client, "/@alice/with_replies")
    assert f'id="s-{second["id"]}"' not in html
    assert f'id="s-{third["id"]}"' in html
    html = await html_of(client, "/public/local")
    assert f'id="s-{second["id"]}"' not in html
    await html_of(client, f"/@alice/{second['id']}", 404)


async def test_no_visitor_gets_another_visitors_view(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await make_user(rt, client, "bob")
    hers = await post(client, alice, "Hay in the loft")
    status, _ = await act(client, alice, f"/api/v1/statuses/{hers['id']}/favourite")
    assert status == 200
    anonymous = client.app.test_client()
    alice_browser = await _browser(client, "alice")
    bob_browser = await _browser(client, "bob")

    for path in ("/@alice", f"/@alice/{hers['id']}", "/public/local"):
        # Alice first, so the kept card holds her view if anything leaks.
        alice_html = await html_of(alice_browser, path)
        bob_html = await html_of(bob_browser, path)
        anon_html = await html_of(anonymous, path)
        mine = _card(alice_html, hers["id"])
        assert 'aria-pressed="true">Unfavourite 1</button>' in mine
        assert ">Delete</button>" in mine
        assert f'value="{csrf_from(alice_html)}"' in mine
        assert f'name="back" value="{path}"' in mine

        theirs = _card(bob_html, hers["id"])
        assert 'aria-pressed="false">Favourite 1</button>' in theirs
        assert ">Delete</button>" not in theirs and ">Report</a>" in theirs
        assert csrf_from(bob_html) != csrf_from(alice_html)
        assert csrf_from(alice_html) not in bob_html
        tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', bob_html))
        assert tokens == {csrf_from(bob_html)}

        seen = _card(anon_html, hers["id"])
        assert "<form" not in seen and "<span>1 favourite</span>" in seen
        assert csrf_from(alice_html) not in anon_html
        assert csrf_from(bob_html) not in anon_html
        assert "Log out" not in anon_html

    # The return path is each page's own, escaped, and follows the query.
    html = await html_of(bob_browser, "/@alice?max_id=99999999999999999999&x=%22%3E")
    assert 'name="back" value="/@alice?max_id=99999999999999999999&amp;x=%22%3E"' in html


async def test_a_page_kept_for_visitors_is_never_a_signed_in_view(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    hers = await post(client, alice, "Clover by the gate #clover")
    anonymous = client.app.test_client()
    alice_browser = await _browser(client, "alice")
    for path in ("/@alice", f"/@alice/{hers['id']}", "/public/local", "/public", "/tags/clover"):
        # The visitor first, twice (kept), then the signed-in person, then the visitor again.
        first = await html_of(anonymous, path)
        assert await html_of(anonymous, path) == first
        assert "Log out" not in first and "<form" not in first
        signed = await html_of(alice_browser, path)
        assert "Log out" in signed
        assert f'value="{csrf_from(signed)}"' in signed
        again = await html_of(anonymous, path)
        assert again == first
        assert csrf_from(signed) not in again
        # A visitor's page still sets their CSRF cookie, kept page or not.
        response = await client.app.test_client().get(path)
        assert "wb_csrf=" in response.headers.get("Set-Cookie", "")


async def test_the_signed_in_home_is_kept_only_while_what_it_shows_holds(
    rt: Runtime, client: Any
) -> None:
    """`/home` is kept whole per account (http/web/kept_views.py): asked again with nothing
    changed it is the same page, and it follows an edit, a delete, a new post, the viewer's
    own actions, a follow, a notification and an account's new name; no browser gets
    another's token and no account another's page."""
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await follow(client, alice, bob)
    first = await post(client, bob, "The first furrow")
    mine = await post(client, alice, "My own furrow")
    browser = await _browser(client, "alice")
    home = await html_of(browser, "/home")
    assert "The first furrow" in home and "My own furrow" in home
    assert await html_of(browser, "/home") == home
    assert "<title>Home" in home

    # An edit, a new post, a delete by someone followed.
    response = await client.put(
        f"/api/v1/statuses/{first['id']}", headers=bob.headers, json={"status": "Ploughed"}
    )
    assert response.status_code == 200
    home = await html_of(browser, "/home")
    assert "Ploughed" in home and "The first furrow" not in home
    assert "<span>edited</span>" in _card(home, first["id"])
    second = await post(client, bob, "A second furrow")
    home = await html_of(browser, "/home")
    assert "A second furrow" in home
    response = await client.delete(f"/api/v1/statuses/{second['id']}", headers=bob.headers)
    assert response.status_code == 200
    home = await html_of(browser, "/home")
    assert "A second furrow" not in home and "Ploughed" in home

    # The viewer's own actions, through the API (another of her apps) and the page's forms.
    status, _ = await act(client, alice, f"/api/v1/statuses/{first['id']}/favourite")
    assert status == 200
    home = await html_of(browser, "/home")
    assert 'aria-pressed="true">Unfavourite 1</button>' in _card(home, first["id"])
    response = await browser.post(
        f"/statuses/{first['id']}/bookmark", form={"csrf_token": csrf_from(home), "back": "/home"}
    )
    assert response.status_code == 303
    home = await html_of(browser, "/home")
    assert ">Remove bookmark</button>" in _card(home, first["id"])
    status, _ = await act(client, alice, f"/api/v1/statuses/{mine['id']}/pin")
    assert status == 200
    home = await html_of(browser, "/home")
    assert ">Unpin from profile</button>" in _card(home, mine["id"])

    # A notification: the unread count in the title and the navigation.
    assert "<title>(" not in home
    status, _ = await act(client, carol, f"/api/v1/statuses/{mine['id']}/favourite")
    assert status == 200
    home = await html_of(browser, "/home")
    assert "<title>(1) Home" in home and 'class="badge">1<' in home
    await html_of(browser, "/notifications")  # read: the count goes
    home = await html_of(browser, "/home")
    assert "<title>(" not in home
    assert "<span>1 favourite</span>" not in home  # signed in: the counts are on the buttons
    assert "Favourite 1</button>" in _card(home, mine["id"])

    # A follow: the followed account's posts come to the home from then on.
    await follow(client, alice, carol)
    assert "Carrots in the field" not in home
    await post(client, carol, "Carrots in the field")
    home = await html_of(browser, "/home")
    assert "Carrots in the field" in home

    # An account's new name, on its posts.
    await _rename(client, bob, "Bob of the Furrows")
    home = await html_of(browser, "/home")
    assert 'class="name" href="/@bob">Bob of the Furrows</a>' in _card(home, first["id"])

    # Another browser of the same account: the same page with its own token; another
    # account: its own page.
    other = await _browser(client, "alice")
    again = await html_of(other, "/home")
    assert csrf_from(again) != csrf_from(home)
    assert csrf_from(home) not in again
    assert again.replace(csrf_from(again), "T") == home.replace(csrf_from(home), "T")
    bobs = await html_of(await _browser(client, "bob"), "/home")
    assert csrf_from(home) not in bobs and "Carrots in the field" not in bobs
    assert 'aria-pressed="true">Unfavourite' not in bobs
    # A page with a notice is its own page; the notice does not stay on the page without.
    assert "Your post was published." in await html_of(browser, "/home?notice=posted")
    assert "Your post was published." not in await html_of(browser, "/home")
