"""Entities rendered once: a status shown again comes from the process's entity cache, and
still changes the moment anything it shows changes (its text, counts, card, poll, author,
the viewer's own marks, filters, blocks and mutes, its deletion), as apps see it through
the API; one viewer's marks never show to another; and a write made by another process,
which this one never hears of, is seen on the very next read."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart.datastructures import FileStorage

from tests import test_timelines_api
from tests.social import User, act, follow, get, post
from tests.test_custom_emoji import image
from tests.test_filters_api import create_filter
from tests.test_preview_cards import png
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.custom_emoji import add_emoji
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import preview_cards as card_rows
from wildebeest_trio.store import statuses as status_rows

# The users' fixtures (signed in one after another through the one test client).
alice, bob, carol = test_timelines_api.alice, test_timelines_api.bob, test_timelines_api.carol


async def public(client: Any, user: User | None) -> dict[str, dict[str, Any]]:
    """The local public timeline as `user` (None: anonymous) sees it, by status id."""
    code, body = await get(client, user, "/api/v1/timelines/public?local=true")
    assert code == 200, body
    return {s["id"]: s for s in body}


async def home(client: Any, user: User) -> dict[str, dict[str, Any]]:
    code, body = await get(client, user, "/api/v1/timelines/home")
    assert code == 200, body
    return {s["id"]: s for s in body}


async def warn_of(client: Any, user: User, keyword: str) -> None:
    """A filter of the user's warning of a keyword on public and home timelines."""
    await create_filter(
        client,
        user,
        context=["public", "home"],
        filter_action="warn",
        keywords_attributes=[{"keyword": keyword}],
    )


def avatar_file() -> dict[str, FileStorage]:
    return {
        "avatar": FileStorage(io.BytesIO(png(64, 64)), filename="a.png", content_type="image/png")
    }


async def test_cached_statuses_change_with_every_input(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    await follow(client, bob, alice)
    status = await post(
        client,
        alice,
        "cats and dogs",
        poll={"options": ["tea", "coffee"], "expires_in": 3600},
    )
    sid = status["id"]
    other = await post(client, alice, "another one")
    # Rendered for everyone once: from here on the pages come from the cache.
    for viewer in (bob, carol, None):
        assert (await public(client, viewer))[sid]["content"] == status["content"]
    assert sid in await home(client, bob)
    assert len(rt.entities.statuses) >= 2
    # The pages were joined from the kept statuses' encoded parts, which the changes
    # below must reach as they reach the entities.
    kept = rt.entities.statuses.entry(int(sid))
    assert kept is not None and kept.base_json is not None

    # Counts, and the marks of the viewer who made them only.
    assert (await act(client, bob, f"/api/v1/statuses/{sid}/favourite"))[0] == 200
    assert (await act(client, carol, f"/api/v1/statuses/{sid}/reblog"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{sid}/bookmark"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{sid}/mute"))[0] == 200
    assert (await act(client, alice, f"/api/v1/statuses/{sid}/pin"))[0] == 200
    as_bob, as_carol = (await public(client, bob))[sid], (await public(client, carol))[sid]
    as_alice, anonymous = (await public(client, alice))[sid], (await public(client, None))[sid]
    for seen in (as_bob, as_carol, as_alice, anonymous, (await home(client, bob))[sid]):
        assert seen["favourites_count"] == 1 and seen["reblogs_count"] == 1
    assert (as_bob["favourited"], as_bob["bookmarked"], as_bob["muted"]) == (True, True, True)
    assert as_bob["reblogged"] is False and "pinned" not in as_bob
    assert as_carol["reblogged"] is True
    assert (as_carol["favourited"], as_carol["bookmarked"], as_carol["muted"]) == (
        False,
        False,
        False,
    )
    assert as_alice["pinned"] is True and as_alice["favourited"] is False
    assert "favourited" not in anonymous and "pinned" not in anonymous
    assert as_alice["application"]["name"] and "application" not in as_bob

    # A poll vote: the counts for everyone, `voted` and `own_votes` for the voter only.
    poll_id = status["poll"]["id"]
    assert (await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=["1"]))[0] == 200
    as_bob, as_carol = (await public(client, bob))[sid], (await public(client, carol))[sid]
    for seen in (as_bob, as_carol):
        assert seen["poll"]["votes_count"] == 1
        assert [o["votes_count"] for o in seen["poll"]["options"]] == [0, 1]
    assert as_carol["poll"]["voted"] is True and as_carol["poll"]["own_votes"] == [1]
    assert as_bob["poll"]["voted"] is False and as_bob["poll"]["own_votes"] == []

    # An edit.
    response = await client.put(
        f"/api/v1/statuses/{sid}", headers=alice.headers, json={"status": "cats, edited"}
    )
    assert response.status_code == 200
    for viewer in (bob, carol, None):
        seen = (await public(client, viewer))[sid]
        assert "cats, edited" in seen["content"] and seen["edited_at"] is not None
    # The boost shows the edited text in carol's profile as well.
    code, carols = await get(client, bob, f"/api/v1/accounts/{carol.id}/statuses")
    assert code == 200 and "cats, edited" in carols[0]["reblog"]["content"]

    # The author renamed, with a new avatar: every status of hers shows it.
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        files=avatar_file(),
        form={"display_name": "Alice Renamed"},
    )
    assert response.status_code == 200
    avatar = (await response.get_json())["avatar"]
    for viewer in (bob, carol, None):
        page = await public(client, viewer)
        for i in (sid, other["id"]):
            assert page[i]["account"]["display_name"] == "Alice Renamed"
            assert page[i]["account"]["avatar"] == avatar
    code, carols = await get(client, bob, f"/api/v1/accounts/{carol.id}/statuses")
    assert carols[0]["reblog"]["account"]["display_name"] == "Alice Renamed"

    # A filter of bob's: his view says so, carol's does not.
    await warn_of(client, bob, "cats")
    assert [r["filter"]["title"] for r in (await public(client, bob))[sid]["filtered"]] == ["Cats"]
    assert (await public(client, carol))[sid]["filtered"] == []

    # Blocks and mutes take the statuses out of that viewer's pages only.
    assert (await act(client, carol, f"/api/v1/accounts/{alice.id}/block"))[0] == 200
    assert sid not in await public(client, carol)
    assert sid in await public(client, bob)
    assert (await act(client, bob, f"/api/v1/accounts/{alice.id}/mute"))[0] == 200
    assert sid not in await public(client, bob) and sid not in await home(client, bob)
    assert sid in await public(client, None)

    # Deleted: gone from every page, and 404 on its own.
    response = await client.delete(f"/api/v1/statuses/{sid}", headers=alice.headers)
    assert response.status_code == 200
    assert sid not in await public(client, None)
    assert sid not in await public(client, alice)
    assert (await get(client, alice, f"/api/v1/statuses/{sid}"))[0] == 404


async def test_a_card_arriving_shows_on_the_cached_status(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    status = await post(client, alice, "read https://example.com/article")
    assert (await public(client, bob))[status["id"]]["card"] is None

    async def arrive(conn: Connection) -> None:
        nullable = {"author_account_id", "image_remote_url", "image_key", "blurhash"}
        nullable |= {"published_at", "language"}
        fields: dict[str, Any] = {c: None if c in nullable else "" for c in card_rows.CARD_COLUMNS}
        fields.update(url="https://example.com/article", title="The article", width=0, height=0)
        fields.update(type="link", link_type="unknown")
        card_id = await card_rows.save_card(conn, rt.ids.next_id(), fields, 1)
        await card_rows.attach(conn, int(status["id"]), card_id, fields["url"], 1)

    await rt.store.write(arrive)
    for viewer in (bob, None):
        card = (await public(client, viewer))[status["id"]]["card"]
        assert card is not None and card["title"] == "The article"


async def test_names_a_cached_status_shows_from_other_rows_follow_their_changes(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    """A mention shows the mentioned account's name, a tag its display name, a card its
    author's Account: rows other than the status's own, renamed after it was kept."""
    status = await post(client, alice, "hello @bob, read #Cats https://example.com/a")
    sid = status["id"]

    async def attribute(conn: Connection) -> None:
        nullable = {"image_remote_url", "image_key", "blurhash", "published_at", "language"}
        fields: dict[str, Any] = {c: None if c in nullable else "" for c in card_rows.CARD_COLUMNS}
        fields.update(url="https://example.com/a", title="A", width=0, height=0)
        fields.update(type="link", link_type="unknown", author_account_id=int(bob.id))
        card_id = await card_rows.save_card(conn, rt.ids.next_id(), fields, 1)
        await card_rows.attach(conn, int(status["id"]), card_id, fields["url"], 1)

    await rt.store.write(attribute)
    for viewer in (alice, None):  # rendered once: kept from here on
        seen = (await public(client, viewer))[sid]
        assert [(m["username"], m["acct"]) for m in seen["mentions"]] == [("bob", "bob")]
        assert [t["name"] for t in seen["tags"]] == ["Cats"]
        assert seen["card"]["authors"][0]["account"]["username"] == "bob"

    async def rename(conn: Connection) -> None:
        await account_rows.rename_local_account(conn, int(bob.id), "robert", 2)
        # A tag's display name (Mastodon's admins may change its case).
        await conn.execute("UPDATE tags SET display_name = 'CATS' WHERE name = 'cats'")

    await rt.store.write(rename)
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=bob.headers, form={"display_name": "Rob"}
    )
    assert response.status_code == 200
    for viewer in (alice, None):
        seen = (await public(client, viewer))[sid]
        assert [(m["username"], m["acct"]) for m in seen["mentions"]] == [("robert", "robert")]
        assert [t["name"] for t in seen["tags"]] == ["CATS"]
        author = seen["card"]["authors"][0]["account"]
        assert (author["username"], author["display_name"]) == ("robert", "Rob")


@pytest.fixture
async def second_process(rt: Runtime) -> AsyncIterator[tuple[Runtime, Any]]:
    """Another server process on the same database (which `rt` migrated): its writes are
    never announced to the process under test (only the database says what changed)."""
    async with open_server_runtime(rt.config, migrate=False) as other:
        async with create_app(other).test_app() as app:
            yield other, app.test_client()


async def test_writes_of_another_process_are_seen_at_once(
    rt: Runtime,
    client: Any,
    alice: User,
    bob: User,
    second_process: tuple[Runtime, Any],
) -> None:
    other_rt, other = second_process
    status = await post(client, alice, "hello from the first process")
    sid = status["id"]
    boost = await act(client, bob, f"/api/v1/statuses/{sid}/reblog")
    assert boost[0] == 200
    assert (await public(client, bob))[sid]["reblogs_count"] == 1
    _, bobs = await get(client, alice, f"/api/v1/accounts/{bob.id}/statuses")
    assert bobs[0]["reblog"]["id"] == sid
    kept = len(rt.entities.statuses)

    # The same API on the other process: an edit, a favourite, a new display name.
    response = await other.put(
        f"/api/v1/statuses/{sid}", headers=alice.headers, json={"status": "edited elsewhere"}
    )
    assert response.status_code == 200
    assert (await act(other, bob, f"/api/v1/statuses/{sid}/favourite"))[0] == 200
    response = await other.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        form={"display_name": "Alice Elsewhere"},
    )
    assert response.status_code == 200
    assert len(rt.entities.statuses) == kept  # nothing told this process

    seen = (await public(client, bob))[sid]
    assert "edited elsewhere" in seen["content"]
    assert seen["favourites_count"] == 1 and seen["favourited"] is True
    assert seen["account"]["display_name"] == "Alice Elsewhere"
    _, bobs = await get(client, alice, f"/api/v1/accounts/{bob.id}/statuses")
    assert "edited elsewhere" in bobs[0]["reblog"]["content"]
    assert bobs[0]["reblog"]["favourites_count"] == 1
    assert bobs[0]["reblog"]["favourited"] is False  # alice's view: bob's mark is his

    # Rows written by the other process's store functions directly: counts and a profile.
    async def change(conn: Connection) -> None:
        await status_rows.add_to_count(conn, int(sid), "replies_count", 5)
        await account_rows.update_profile(conn, int(alice.id), {"note": "<p>bio</p>"}, 2)

    await other_rt.store.write(change)
    seen = (await public(client, None))[sid]
    assert seen["replies_count"] == 5 and seen["account"]["note"] == "<p>bio</p>"

    # Deleted over there: gone here.
    response = await other.delete(f"/api/v1/statuses/{sid}", headers=alice.headers)
    assert response.status_code == 200
    assert sid not in await public(client, bob)
    assert (await get(client, bob, f"/api/v1/statuses/{sid}"))[0] == 404


async def test_an_emoji_added_later_shows_on_cached_statuses_and_authors(
    rt: Runtime, client: Any, alice: User
) -> None:
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"display_name": "Alice :late:"},
    )
    assert response.status_code == 200
    status = await post(client, alice, "waiting for :late:")
    plain = await post(client, alice, "nothing to wait for")
    seen = await public(client, None)
    assert seen[status["id"]]["emojis"] == [] and seen[status["id"]]["account"]["emojis"] == []

    await add_emoji(rt, "late", image())
    seen = await public(client, None)
    assert [e["shortcode"] for e in seen[status["id"]]["emojis"]] == ["late"]
    assert [e["shortcode"] for e in seen[plain["id"]]["account"]["emojis"]] == ["late"]
    assert seen[plain["id"]]["emojis"] == []


async def test_a_page_of_kept_and_unkept_statuses_shows_each_whole(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    """The timelines read only their statuses' keys and take kept ones whole from the
    cache: a page where some are kept, some not (new, or dropped), a boost among them,
    shows every status as a page read with nothing kept does, in the same order."""
    await follow(client, bob, alice)
    first = await post(client, alice, "first, with #cats")
    second = await post(client, alice, "second")
    assert (await act(client, bob, f"/api/v1/statuses/{first['id']}/reblog"))[0] == 200
    # Kept: the pages' statuses, the boost's inner one too.
    await public(client, bob)
    await home(client, bob)
    third = await post(client, alice, "third")
    rt.entities.drop(frozenset({int(second["id"])}), frozenset())
    paths = (
        "/api/v1/timelines/public?local=true",
        "/api/v1/timelines/home",
        "/api/v1/timelines/tag/cats",
        f"/api/v1/accounts/{alice.id}/statuses",
        f"/api/v1/accounts/{bob.id}/statuses",
    )
    mixed = [await get(client, bob, path) for path in paths]
    rt.entities.drop(
        frozenset(int(s["id"]) for s in (first, second, third)), frozenset({int(alice.id)})
    )
    cold = [await get(client, bob, path) for path in paths]
    assert mixed == cold
    public_ids = [s["id"] for s in mixed[0][1]]
    assert public_ids == [third["id"], second["id"], first["id"]]
    assert [s["reblog"]["id"] for s in mixed[4][1]] == [first["id"]]
    assert [s["id"] for s in mixed[2][1]] == [first["id"]]
