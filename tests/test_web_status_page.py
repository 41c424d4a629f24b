"""A status page, kept whole for visitors who are not signed in (http/web/anonymous.py) and
read with a keyed walk of its thread (services/statuses.page_in): it still follows every
change to what it shows, and never shows a visitor a post only followers may see."""

from __future__ import annotations

from typing import Any

from tests.social import User, act, follow, make_user, post
from tests.web_helpers import html_of, log_in
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection


def _card(html: str, status_id: str) -> str:
    """The article of one post on a page."""
    start = html.index(f'id="s-{status_id}"')
    return html[start : html.index("</article>", start)]


async def _edit(client: Any, user: User, status_id: str, text: str) -> None:
    response = await client.put(
        f"/api/v1/statuses/{status_id}", headers=user.headers, json={"status": text}
    )
    assert response.status_code == 200


async def _make_private(rt: Runtime, status_id: str) -> None:
    """What no write path of this server does (Mastodon lets no one change a post's
    visibility), but a page must follow all the same: the post becomes followers-only."""

    async def unit(conn: Connection) -> None:
        await conn.execute(
            "UPDATE statuses SET visibility = 'private', entity_version = entity_version + 1 "
            "WHERE id = $1",
            int(status_id),
        )

    await rt.store.write(unit)


async def test_a_kept_thread_page_follows_every_change_it_shows(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    root = await post(client, alice, "Where the river bends")
    reply = await post(client, bob, "A heron stands there", in_reply_to_id=root["id"])
    deeper = await post(client, alice, "Every morning", in_reply_to_id=reply["id"])
    aside = await post(
        client, carol, "Only my followers know", in_reply_to_id=reply["id"], visibility="private"
    )
    await follow(client, alice, carol)
    visitor = client.app.test_client()

    async def page(status_id: str = root["id"], status: int = 200) -> str:
        html = await html_of(visitor, f"/@alice/{status_id}", status)
        # Asked twice: the second answer is the kept page, and the same.
        assert await html_of(visitor, f"/@alice/{status_id}", status) == html
        return html

    html = await page()
    assert "A heron stands there" in html and "Every morning" in html
    assert "Only my followers know" not in html
    # A follower of carol sees her aside; the visitor still does not, after them.
    alice_browser = client.app.test_client()
    await log_in(alice_browser, "alice")
    assert "Only my followers know" in await html_of(alice_browser, f"/@alice/{root['id']}")
    assert await page() == html
    # Nor on the page of the reply it answers, or on its own.
    assert "Only my followers know" not in await html_of(visitor, f"/@bob/{reply['id']}")
    await html_of(visitor, f"/@carol/{aside['id']}", 404)

    await _edit(client, bob, reply["id"], "Two herons now")
    html = await page()
    assert "Two herons now" in html and "A heron stands there" not in html
    assert "<span>edited</span>" in _card(html, reply["id"])
    # The page of the deeper reply shows the edited one among its ancestors.
    assert "Two herons now" in await page(deeper["id"])

    status, _ = await act(client, carol, f"/api/v1/statuses/{deeper['id']}/favourite")
    assert status == 200
    assert "<span>1 favourite</span>" in _card(await page(), deeper["id"])
    assert "<span>1 favourite</span>" in _card(await page(deeper["id"]), deeper["id"])

    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=bob.headers,
        form={"display_name": "Bob of the Banks"},
    )
    assert response.status_code == 200
    html = await page()
    assert 'class="name" href="/@bob">Bob of the Banks</a>' in _card(html, reply["id"])
    assert "Bob of the Banks" in _card(await page(deeper["id"]), reply["id"])

    added = await post(client, bob, "And a kingfisher", in_reply_to_id=deeper["id"])
    assert "And a kingfisher" in await page()

    await _make_private(rt, added["id"])
    assert "And a kingfisher" not in await page()
    await _make_private(rt, reply["id"])
    html = await page()
    assert "Two herons now" not in html
    assert "Every morning" in html  # its replies still hang in the thread, as before
    assert "Two herons now" not in await page(deeper["id"])

    response = await client.delete(f"/api/v1/statuses/{deeper['id']}", headers=alice.headers)
    assert response.status_code == 200
    html = await page()
    assert "Every morning" not in html and "Where the river bends" in html
    await page(deeper["id"], 404)
    response = await client.delete(f"/api/v1/statuses/{root['id']}", headers=alice.headers)
    assert response.status_code == 200
    await page(root["id"], 404)
