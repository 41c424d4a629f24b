"""A timeline's answer is joined from encoded parts (`serializers.statuses.status_json`):
each kept status's viewer-independent JSON, encoded once, with what the viewer and other
statuses decide encoded per request. Decoded, it is exactly the Status entity the
serializer builds, for every kind of status and every viewer, cold and kept."""

from __future__ import annotations

import json
from typing import Any

from tests.social import User, act, follow, post
from tests.test_entity_cache import alice, bob, carol, home, public, warn_of
from tests.test_media_delete import uploaded
from tests.test_preview_cards import png
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.serializers.statuses import status_entity, status_json, statuses_json
from wildebeest_trio.services import timelines
from wildebeest_trio.store import Connection
from wildebeest_trio.store import preview_cards as card_rows
from wildebeest_trio.store.paging import Page
from wildebeest_trio.store.statuses import StatusBundle

__all__ = ["alice", "bob", "carol"]  # the fixtures, as tests/test_entity_cache.py has them


async def _card(rt: Runtime, status_id: str, url: str, author: int | None) -> None:
    """A preview card attached to the status (naming an author's Account, or none)."""

    async def attach(conn: Connection) -> None:
        nullable = {"image_remote_url", "image_key", "blurhash", "published_at", "language"}
        fields: dict[str, Any] = {c: None if c in nullable else "" for c in card_rows.CARD_COLUMNS}
        fields.update(url=url, title="A title", width=0, height=0, author_account_id=author)
        fields.update(type="link", link_type="unknown")
        card_id = await card_rows.save_card(conn, rt.ids.next_id(), fields, 1)
        await card_rows.attach(conn, int(status_id), card_id, url, 1)

    await rt.store.write(attach)


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys each come once (a key in both joined parts would decode to
    one value silently)."""
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


async def _same_as_entities(rt: Runtime, viewer: User | None, *, own: bool) -> StatusBundle:
    """Check every status of the local public page (`own`: of the viewer's home), and
    every status inside them, as `viewer` sees it: the encoded JSON decodes to the
    entity. The page's bundle."""
    viewer_id = int(viewer.id) if viewer else None
    if own:
        bundle = await timelines.home(rt, viewer_id or 0, Page(limit=40))
    else:
        bundle = await timelines.public(rt, viewer_id, Page(limit=40), local=True)
    config = rt.config
    for status_id in bundle.statuses:
        for shallow in (False, True):
            encoded = status_json(config, bundle, status_id, shallow=shallow)
            entity = status_entity(config, bundle, status_id, shallow=shallow)
            assert json.loads(encoded, object_pairs_hook=_once) == entity, (viewer, status_id)
    page = [status_entity(config, bundle, i) for i in bundle.order]
    assert json.loads(statuses_json(config, bundle, bundle.order)) == page
    assert statuses_json(config, bundle, []) == b"[]"
    return bundle


async def test_encoded_statuses_decode_to_the_entities_for_every_viewer(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    await follow(client, bob, alice)
    await follow(client, alice, bob)
    media = await uploaded(client, alice, png(32, 32))
    original = await post(
        client,
        alice,
        "cats #Tea @bob https://example.com/plain",
        poll={"options": ["tea", "coffee"], "expires_in": 3600},
        spoiler_text="about cats",
    )
    pictured = await post(
        client, alice, "a picture https://example.com/by", media_ids=[media["id"]]
    )
    await _card(rt, original["id"], "https://example.com/plain", None)
    await _card(rt, pictured["id"], "https://example.com/by", int(bob.id))
    photo = await uploaded(client, alice, png(16, 16))
    await post(client, alice, "just a photo", media_ids=[photo["id"]], sensitive=True)
    plain = await post(client, bob, "plain words, no cats")
    assert (await act(client, alice, f"/api/v1/statuses/{plain['id']}/favourite"))[0] == 200
    assert (await act(client, carol, f"/api/v1/statuses/{plain['id']}/reblog"))[0] == 200
    quote = await post(client, bob, "so true, cats", quoted_status_id=original["id"])
    await post(client, carol, "quoting a quote", quoted_status_id=quote["id"])
    assert (await act(client, carol, f"/api/v1/statuses/{quote['id']}/reblog"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{original['id']}/favourite"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{pictured['id']}/bookmark"))[0] == 200
    assert (await act(client, bob, f"/api/v1/statuses/{original['id']}/mute"))[0] == 200
    assert (await act(client, alice, f"/api/v1/statuses/{original['id']}/pin"))[0] == 200
    poll_id = original["poll"]["id"]
    assert (await act(client, bob, f"/api/v1/polls/{poll_id}/votes", choices=["1"]))[0] == 200
    await warn_of(client, bob, "cats")
    pages = [(v, False) for v in (alice, bob, carol, None)] + [(carol, True), (bob, True)]
    for viewer, own in pages:  # cold: built and kept here
        assert len((await _same_as_entities(rt, viewer, own=own)).order) >= 3
    boosts = 0
    for viewer, own in pages:  # every part kept, encoded once
        bundle = await _same_as_entities(rt, viewer, own=own)
        assert all(bundle.entries[i].base_json is not None for i in bundle.order)
        boosts += sum(1 for i in bundle.order if bundle.statuses[i]["reblog_of_id"])
    assert boosts >= 2  # carol's boosts, in her home

    # Through the API: the answer as an app decodes it shows each part once.
    seen = (await public(client, bob))[original["id"]]
    assert seen["favourited"] is True and seen["muted"] is True and seen["filtered"]
    assert seen["poll"]["voted"] is True and seen["poll"]["own_votes"] == [1]
    assert seen["card"]["title"] == "A title" and seen["media_attachments"] == []
    by_bob = (await public(client, alice))[pictured["id"]]
    assert by_bob["card"]["authors"][0]["account"]["id"] == bob.id
    assert by_bob["media_attachments"][0]["id"] == media["id"]
    boost = next(s for s in (await home(client, carol)).values() if s["reblog"])
    assert boost["reblog"]["quote"]["quoted_status"]["id"] == original["id"]
