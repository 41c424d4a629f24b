"""Replies collections, as Mastodon 4.4's fetch-all-replies uses them: every public or
unlisted Note carries `replies` (its first page inline, paged by `min_id`, public and
unlisted replies only), and a person opening a remote thread here gets its replies fetched
from the other server. Instance A runs on each test backend, instance B on SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from tests.fakes.instance import drain
from tests.fakes.peers import Instance, eventually, peer_config
from tests.fakes.remote import start_remote
from tests.fakes.rows import rows
from tests.social import User, get, make_user, post
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.serializers import activitypub as ap
from wildebeest_trio.services import reply_crawl

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def fetch(side: Instance, url: str) -> tuple[int, Any]:
    """An ActivityPub document from `side`, as another server asks for it."""
    path = url.removeprefix(side.rt.config.base_url)
    response = await side.client.get(path, headers=AP)
    body = await response.get_json() if response.status_code == 200 else None
    return response.status_code, body


async def reply(side: Instance, user: User, to: dict[str, Any], text: str, **more: Any) -> Any:
    return await post(side.client, user, text, in_reply_to_id=to["id"], **more)


async def test_notes_carry_their_public_replies_paged(
    a: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ap, "REPLIES_PER_PAGE", 2)
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(a.rt, a.client, "bob")
    root = await post(a.client, alice, "Thread")
    replies = [
        await reply(a, bob, root, "one"),
        await reply(a, alice, root, "two", visibility="unlisted"),
        await reply(a, bob, root, "hidden", visibility="private"),
        await reply(a, bob, root, "secret", visibility="direct"),
        await reply(a, bob, root, "three"),
    ]
    code, note = await fetch(a, root["uri"])
    assert code == 200
    collection = note["replies"]
    assert collection["id"] == f"{root['uri']}/replies"
    assert collection["type"] == "OrderedCollection"
    page = collection["first"]
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == collection["id"]
    assert page["orderedItems"] == [replies[0]["uri"], replies[1]["uri"]]
    # Served at its id, and the next page at its own.
    code, served = await fetch(a, collection["id"])
    assert code == 200
    assert served["first"] == page and served["@context"]
    code, second = await fetch(a, page["next"])
    assert code == 200
    assert second["id"] == page["next"]
    assert second["orderedItems"] == [replies[4]["uri"]]
    assert "next" not in second
    # A reply deleted leaves the collection.
    response = await a.client.delete(f"/api/v1/statuses/{replies[0]['id']}", headers=bob.headers)
    assert response.status_code == 200
    _, served = await fetch(a, collection["id"])
    assert served["first"]["orderedItems"] == [replies[1]["uri"], replies[4]["uri"]]
    # A private post has no replies collection to show.
    private = await post(a.client, alice, "Friends only", visibility="private")
    code, _ = await fetch(a, f"{private['uri']}/replies")
    assert code == 404
    code, _ = await fetch(a, f"{root['uri']}/nothing/replies")
    assert code == 404


async def test_opening_a_remote_thread_fetches_its_replies(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    carol = await make_user(b.rt, b.client, "carol")
    root = await post(b.client, bob, "Anyone?")
    first = await reply(b, carol, root, "Me!")
    second = await reply(b, bob, root, "Also me", visibility="unlisted")
    hidden = await reply(b, carol, root, "Psst", visibility="private")
    deeper = await reply(b, bob, first, "Welcome")
    # A knows the root (searched for), nothing below it: nobody there follows B's people.
    code, found = await get(
        a.client, alice, f"/api/v2/search?q={root['uri']}&resolve=true&type=statuses"
    )
    assert code == 200 and [s["uri"] for s in found["statuses"]] == [root["uri"]], found
    here = found["statuses"][0]

    async def descendants() -> list[str]:
        code, context = await get(a.client, alice, f"/api/v1/statuses/{here['id']}/context")
        assert code == 200, context
        return [s["uri"] for s in context["descendants"]]

    assert await descendants() == []  # opening it queues the crawl
    expected = {first["uri"], second["uri"], deeper["uri"]}
    uris = await eventually(
        lambda: _when(descendants, lambda found: set(found) >= expected),
        "the replies fetched from B",
    )
    assert set(uris) == expected
    assert hidden["uri"] not in uris
    # The thread reads as a thread: the deeper reply under the first.
    code, context = await get(a.client, alice, f"/api/v1/statuses/{here['id']}/context")
    by_uri = {s["uri"]: s for s in context["descendants"]}
    assert by_uri[deeper["uri"]]["in_reply_to_id"] == by_uri[first["uri"]]["id"]
    # Opened again at once, it is not crawled again (for fifteen minutes).
    sql = "SELECT replies_fetched_at FROM statuses WHERE uri = $1"
    crawled = await rows(a.rt, sql, root["uri"])
    assert crawled[0]["replies_fetched_at"] is not None
    await descendants()
    assert await rows(a.rt, sql, root["uri"]) == crawled


async def _when(read: Any, ok: Any) -> Any:
    found = await read()
    return found if ok(found) else None


async def test_the_crawl_is_bounded_and_stays_on_the_notes_server(
    local: Runtime, api: Any, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reply_crawl, "MAX_REPLIES", 2)
    remote = await start_remote(nursery, 2)
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    root = remote.note(bob, "<p>Root</p>")
    replies = [remote.note(bob, f"<p>{n}</p>", inReplyTo=root["id"]) for n in range(3)]
    elsewhere = f"{remote.origin(1)}/replies/more"
    collection = f"{root['id']}/replies"
    remote.put(
        {
            "id": f"{collection}/page2",
            "type": "CollectionPage",
            "items": [replies[1]["id"], replies[2]["id"]],
            "next": elsewhere,  # another server: never followed
        }
    )
    root["replies"] = {
        "id": collection,
        "type": "Collection",
        "first": {
            "type": "CollectionPage",
            "items": [replies[0]],
            "next": f"{collection}/page2",
        },
    }
    code, found = await get(api, alice, f"/api/v2/search?q={root['id']}&resolve=true")
    assert code == 200 and len(found["statuses"]) == 1, found
    status_id = found["statuses"][0]["id"]
    code, _ = await get(api, alice, f"/api/v1/statuses/{status_id}/context")
    assert code == 200
    assert await drain(local, (reply_crawl.FETCH_REPLIES.name,)) == 1
    code, context = await get(api, alice, f"/api/v1/statuses/{status_id}/context")
    # Two replies at most per crawl: the third is left for a later one.
    assert [s["uri"] for s in context["descendants"]] == [r["id"] for r in replies[:2]]
    assert remote.gets(replies[2]["id"]) == 0
    assert not [r for r in remote.requests if r.path == "/replies/more"]
