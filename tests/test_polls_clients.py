"""Mastodon.py against a live server: a poll and its votes, v2 and v1 filters, and a
scheduled status, as a Mastodon client drives them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trio

from tests.test_clients import PASSWORD
from tests.test_statuses_clients import _login
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonAPIError, MastodonNotFoundError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    ann_id = str(ann.me()["id"])
    ben.account_follow(ann_id)

    # A poll posted with the client's helper, voted on by a follower.
    poll = ann.make_poll(["tea", "coffee"], expires_in=600, multiple=False)
    status = ann.status_post("Which?", poll=poll)
    poll_id = str(status["poll"]["id"])
    assert [o["title"] for o in status["poll"]["options"]] == ["tea", "coffee"]
    voted = ben.poll_vote(poll_id, [1])
    assert voted["voted"] is True and list(voted["own_votes"]) == [1]
    assert voted["votes_count"] == 1 and voted["options"][1]["votes_count"] == 1
    assert ann.poll(poll_id)["votes_count"] == 1
    try:
        ben.poll_vote(poll_id, [0])
    except MastodonAPIError as exc:
        assert "already voted" in str(exc)
    else:  # pragma: no cover - the assertion explains
        raise AssertionError("voted twice")
    try:
        ben.poll("424242")
    except MastodonNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a missing poll was found")

    # A v2 filter hides Ann's coffee talk from Ben's home; a v1 filter warns.
    made = ben.create_filter_v2(
        "No coffee",
        ["home"],
        "hide",
        keywords_attributes=[{"keyword": "espresso", "whole_word": True}],
    )
    assert [k["keyword"] for k in made["keywords"]] == ["espresso"]
    assert [str(f["id"]) for f in ben.filters_v2()] == [str(made["id"])]
    coffee = ann.status_post("An espresso, please")
    home = ben.timeline_home()
    assert str(coffee["id"]) not in [str(s["id"]) for s in home]
    legacy = ben.filter_create("tea", ["home"], irreversible=False, whole_word=True)
    assert legacy["phrase"] == "tea"
    tea = ann.status_post("Tea time")
    shown = next(s for s in ben.timeline_home() if str(s["id"]) == str(tea["id"]))
    assert shown["filtered"][0]["keyword_matches"] == ["Tea"]
    assert {f["phrase"] for f in ben.filters()} == {"espresso", "tea"}
    ben.delete_filter_v2(made["id"])
    assert str(coffee["id"]) in [str(s["id"]) for s in ben.timeline_home()]

    # A scheduled status comes back as a ScheduledStatus, listed until cancelled.
    later = ann.status_post("Later", scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    assert "scheduled_at" in later and later["params"]["text"] == "Later"
    assert [str(s["id"]) for s in ann.scheduled_statuses()] == [str(later["id"])]
    moved = ann.scheduled_status_update(later["id"], datetime.now(UTC) + timedelta(hours=2))
    assert moved["scheduled_at"] > later["scheduled_at"]
    ann.scheduled_status_delete(later["id"])
    assert list(ann.scheduled_statuses()) == []


async def test_mastodon_py_polls_filters_scheduled(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)
