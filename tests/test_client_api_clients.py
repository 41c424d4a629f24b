"""Mastodon.py against a live server: the client methods of issue 18 as the library calls
them (instance documents, several accounts at once, the directory, removing a follower,
endorsements, the Profile entity, several statuses at once, featuring a hashtag)."""

from __future__ import annotations

import io

import trio
from PIL import Image

from tests.test_clients import PASSWORD
from tests.test_statuses_clients import _login
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonAPIError, MastodonNotFoundError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    ann_id = str(ann.me()["id"])
    ben_id = str(ben.me()["id"])

    # Instance documents.
    weeks = ann.instance_activity()
    assert len(weeks) == 12 and int(weeks[0]["logins"]) >= 2
    assert list(ann.instance_peers()) == []
    try:
        ann.instance_terms_of_service()
        raise AssertionError("no terms were published")
    except MastodonNotFoundError:
        pass

    # Several accounts at once, and the directory.
    assert [str(a["id"]) for a in ann.accounts([ben_id, ann_id])] == [ben_id, ann_id]
    listed = ann.directory(local=True, order="new")
    assert {str(a["id"]) for a in listed} == {ben_id}  # not oneself

    # A follower removed; an account endorsed on the 4.4 paths.
    ben.account_follow(ann_id)
    assert ann.account_relationships(ben_id)[0]["followed_by"]
    relationship = ann.account_remove_from_followers(ben_id)
    assert relationship["followed_by"] is False
    ann.account_follow(ben_id)
    assert ann.account_endorse(ben_id)["endorsed"] is True
    assert [str(a["id"]) for a in ann.endorsements()] == [ben_id]
    assert ann.account_unendorse(ben_id)["endorsed"] is False

    # The Profile entity (4.6).
    profile = ann.profile_update(
        display_name="Ann",
        note="about me",
        show_media=False,
        fields=[("site", "https://example.org")],
        avatar=io.BytesIO(_png()),
        avatar_mime_type="image/png",
    )
    assert profile["display_name"] == "Ann" and profile["show_media"] is False
    assert profile["note"] == "about me"
    assert [(f["name"], f["value"]) for f in profile["fields"]] == [("site", "https://example.org")]
    assert ann.profile()["avatar"] is not None
    account = ann.account_delete_avatar()
    assert str(account["avatar"]).endswith("/static/avatar.png")
    assert ann.profile()["avatar"] is None

    # Several statuses at once.
    first = ann.status_post("first")
    second = ann.status_post("second")
    found = ben.statuses([second["id"], first["id"], "999"])
    assert [str(s["id"]) for s in found] == [str(second["id"]), str(first["id"])]

    # Featuring a hashtag from the tag.
    tag = ann.tag_feature("wildebeest")
    assert tag["name"] == "wildebeest" and tag["featuring"] is True
    assert [t["name"] for t in ann.featured_tags()] == ["wildebeest"]
    assert ann.tag_unfeature("wildebeest")["featuring"] is False
    try:
        ann.tag_feature("not a tag")
        raise AssertionError("an invalid name was featured")
    except (MastodonAPIError, MastodonNotFoundError):
        pass


async def test_mastodon_py_client_api_story(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)
