"""Mastodon.py against a live server: two friends and a stranger post and interact; each
sees what Mastodon would show them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import trio

from tests.test_clients import PASSWORD, _complete_login_in_browser
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

SCOPES = ["read", "write", "follow", "push"]


def _login(base: str, email: str) -> Any:
    from mastodon import Mastodon

    client_id, client_secret = Mastodon.create_app(
        "pytest-statuses", api_base_url=base, scopes=SCOPES
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base,
        version_check_mode="none",
    )
    url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    api.log_in(code=_complete_login_in_browser(url, email), scopes=SCOPES, allow_http=True)
    return api


def _ids(items: Any) -> list[str]:
    return [str(item["id"]) for item in items]


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonAPIError, MastodonNotFoundError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    stranger = _login(base, "sam@example.org")
    ann_id = str(ann.me()["id"])
    ben_id = str(ben.me()["id"])

    # They follow each other.
    ann.account_follow(ben_id)
    ben.account_follow(ann_id)
    rel = ann.account_relationships(ben_id)[0]
    assert rel["following"] and rel["followed_by"]
    assert ann.account(ann_id)["followers_count"] == 1
    assert _ids(ben.account_followers(ann_id)) == [ben_id]

    # Ann posts at every visibility (with an idempotent retry).
    public = ann.status_post("Hello #wildebeest https://example.org", idempotency_key="k-1")
    again = ann.status_post("Hello #wildebeest https://example.org", idempotency_key="k-1")
    assert str(again["id"]) == str(public["id"])
    unlisted = ann.status_post("quietly", visibility="unlisted")
    private = ann.status_post("followers only", visibility="private", spoiler_text="cw")
    direct = ann.status_post("@ben just for you", visibility="direct")
    assert public["url"] == f"{base}/@ann/{public['id']}"
    assert public["tags"][0]["name"] == "wildebeest"
    assert private["sensitive"] is True and private["spoiler_text"] == "cw"
    assert direct["mentions"][0]["acct"] == "ben"

    # Ben sees all four at home; the stranger sees only what is public.
    mine = {str(s["id"]) for s in (public, unlisted, private, direct)}
    assert mine <= set(_ids(ben.timeline_home()))
    assert str(ben.status(private["id"])["id"]) == str(private["id"])
    for hidden in (private, direct):
        try:
            stranger.status(hidden["id"])
        except MastodonNotFoundError:
            pass
        else:  # pragma: no cover - the assertion below explains
            raise AssertionError(f"a stranger saw a {hidden['visibility']} status")
    assert set(_ids(stranger.account_statuses(ann_id))) == {
        str(public["id"]),
        str(unlisted["id"]),
    }
    assert _ids(stranger.timeline_public(local=True)) == [str(public["id"])]
    assert stranger.timeline_home() == []

    # Ben replies, boosts, favourites and bookmarks.
    reply = ben.status_post("@ann nice", in_reply_to_id=public["id"])
    assert str(reply["in_reply_to_id"]) == str(public["id"])
    boost = ben.status_reblog(public["id"])
    assert str(boost["reblog"]["id"]) == str(public["id"]) and boost["reblog"]["reblogged"]
    faved = ben.status_favourite(public["id"])
    assert faved["favourited"] and faved["favourites_count"] == 1
    assert ben.status_bookmark(private["id"])["bookmarked"]
    assert _ids(ben.bookmarks()) == [str(private["id"])]
    assert _ids(ben.favourites()) == [str(public["id"])]
    seen = ann.status(public["id"])
    assert (seen["replies_count"], seen["reblogs_count"], seen["favourites_count"]) == (1, 1, 1)
    assert _ids(ann.status_favourited_by(public["id"])) == [ben_id]
    assert _ids(ann.status_reblogged_by(public["id"])) == [ben_id]
    context = ann.status_context(public["id"])
    assert _ids(context["descendants"]) == [str(reply["id"])]
    assert _ids(ann.status_context(reply["id"])["ancestors"]) == [str(public["id"])]
    home = _ids(ann.timeline_home())
    # Ben's reply heads Ann's home; his boost of her post does not show there, since the
    # post itself is among the newest of her feed (Mastodon's reblog falloff).
    assert home[0] == str(reply["id"]) and str(public["id"]) in home
    assert str(boost["id"]) not in home

    # Ann edits; everyone reads the new text and the history.
    edited = ann.status_update(public["id"], "Hello again #wildebeest")
    assert edited["edited_at"] is not None
    assert "Hello again" in ben.status(public["id"])["content"]
    assert len(stranger.status_history(public["id"])) == 2
    assert ann.status_source(public["id"])["text"] == "Hello again #wildebeest"
    try:
        ben.status_update(public["id"], "not mine")
    except MastodonAPIError as exc:
        assert "not allowed" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("Ben edited Ann's status")

    # Undo, then delete with redraft text.
    assert not ben.status_unreblog(public["id"])["reblogged"]
    assert not ben.status_unfavourite(public["id"])["favourited"]
    assert not ben.status_unbookmark(private["id"])["bookmarked"]
    deleted = ann.status_delete(unlisted["id"])
    assert deleted["text"] == "quietly"
    try:
        ben.status(unlisted["id"])
    except MastodonNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a deleted status is still there")

    # A blocked account sees nothing of Ann's.
    sam_id = str(stranger.me()["id"])
    assert ann.account_block(sam_id)["blocking"]
    try:
        stranger.status(public["id"])
    except MastodonNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a blocked account saw a status")
    assert stranger.account_statuses(ann_id) == []
    assert str(public["id"]) not in _ids(stranger.timeline_public())
    assert _ids(ann.blocks()) == [sam_id]
    assert not ann.account_unblock(sam_id)["blocking"]
    assert str(stranger.status(public["id"])["id"]) == str(public["id"])

    # Pagination through Mastodon.py's own Link handling.
    for i in range(5):
        ann.status_post(f"page filler {i}")
    first = ann.timeline_home(limit=3)
    second = ann.fetch_next(first)
    assert len(first) == 3 and second and len(second) == 3
    assert not set(_ids(first)) & set(_ids(second))
    newer = ann.fetch_previous(second)
    assert _ids(newer) == _ids(first)

    # Lists, direct conversations, hashtags, markers, mutes and endorsements.
    friends = ann.list_create("Friends", replies_policy="followed")
    ann.list_accounts_add(friends["id"], [ben_id])
    assert [str(x["id"]) for x in ann.account_lists(ben_id)] == [str(friends["id"])]
    ben_post = ben.status_post("on a list")
    assert str(ann.timeline_list(friends["id"])[0]["id"]) == str(ben_post["id"])
    conversation = ben.conversations()[0]
    assert conversation["unread"] and str(conversation["last_status"]["id"]) == str(direct["id"])
    assert not ben.conversations_read(conversation["id"])["unread"]
    assert ann.tag_follow("wildebeest")["following"] is True
    assert "wildebeest" in [t["name"].lower() for t in ann.followed_tags()]
    assert [t["name"].lower() for t in stranger.trending_tags()] == ["wildebeest"]
    marked = ann.markers_set("home", ben_post["id"])
    assert str(marked["home"]["last_read_id"]) == str(ben_post["id"])
    assert str(ann.markers_get("home")["home"]["last_read_id"]) == str(ben_post["id"])
    assert ann.account_mute(sam_id, duration=60)["muting"]
    assert [str(a["id"]) for a in ann.mutes()] == [sam_id]
    assert ann.status_mute(public["id"])["muted"]
    assert ann.account_endorse(ben_id)["endorsed"]
    assert [str(a["id"]) for a in ann.endorsements()] == [ben_id]

    ann.account_unfollow(ben_id)
    assert ann.account(ben_id)["followers_count"] == 0
    assert ben_id not in {str(s["account"]["id"]) for s in ann.timeline_home()}


async def test_mastodon_py_statuses_story(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben", "sam"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)


async def test_toot_posts_reads_and_pages(rt: Runtime, live_server: str, tmp_path: Path) -> None:
    await create_local_account(rt, "tooter", "tooter@example.org", password=PASSWORD)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    toot = [sys.executable, "-m", "toot"]

    async def run(*args: str) -> str:
        done = await trio.run_process(
            [*toot, *args], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
        return done.stdout.decode()

    await run(
        "login_cli",
        "--instance",
        live_server,
        "--email",
        "tooter@example.org",
        "--password",
        PASSWORD,
    )
    for i in range(5):
        out = await run("post", f"toot number {i} #tooted")
        assert "Toot posted" in out, out
    # toot reads the next page from the Link header (`<...>; rel="next"` first).
    shown = await run("timeline", "--count", "2", "--once")
    assert "toot number 4" in shown and "toot number 3" in shown
    assert "toot number 2" not in shown
    tagged = await run("timeline", "--tag", "tooted", "--once", "--count", "5")
    assert all(f"toot number {i}" in tagged for i in range(5))
    assert "Statuses: 5" in await run("whoami")
