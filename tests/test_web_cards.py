"""Posts on the web pages are drawn once and kept (http/web/cards.py): what visitors see
still follows every change (an edit, a delete, a new post, a count, an account's new
name), and no visitor ever gets another's view (their action forms, their CSRF token)."""

from __future__ import annotations

import re
from typing import Any

from tests.oauth_flow import csrf_from
from tests.social import act, make_user, post
from tests.web_helpers import html_of, log_in
from wildebeest_trio.runtime import Runtime


def _card(html: str, status_id: str) -> str:
    """The article of one post on a page."""
    start = html.index(f'id="s-{status_id}"')
    return html[start : html.index("</article>", start)]


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

    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        form={"display_name": "Alice of the Meadows"},
    )
    assert response.status_code == 200
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
