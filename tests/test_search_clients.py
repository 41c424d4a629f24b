"""Mastodon.py's `search_v2` (each type, resolve, paging) and `account_search` against a
live server, on both backends."""

from __future__ import annotations

import trio

from tests.test_clients import PASSWORD
from tests.test_statuses_clients import _login
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonAPIError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    ann_id = str(ann.me()["id"])

    public = ann.status_post("The great #wildebeest migration starts")
    ann.status_post("Secret wildebeest plans", visibility="private")
    for i in range(3):
        ann.status_post(f"wildebeest count {i}")

    # Statuses: ben does not follow ann, so her private post is not his to find.
    found = ben.search_v2("wildebeest migration", result_type="statuses")
    assert [str(s["id"]) for s in found["statuses"]] == [str(public["id"])]
    assert found["accounts"] == [] and found["hashtags"] == []
    assert len(ben.search_v2("wildebeest", result_type="statuses")["statuses"]) == 4
    assert len(ann.search_v2("wildebeest", result_type="statuses")["statuses"]) == 5
    assert len(ann.search_v2("wildebeest from:ann -count", result_type="statuses")["statuses"]) == 2
    # Offset paging.
    first = ann.search_v2("wildebeest", result_type="statuses", limit=2)["statuses"]
    second = ann.search_v2("wildebeest", result_type="statuses", limit=2, offset=2)["statuses"]
    assert len(first) == 2 and len(second) == 2
    assert not {s["id"] for s in first} & {s["id"] for s in second}

    # Accounts (search_v2 resolves by default: a local acct needs no WebFinger).
    accounts = ben.search_v2("ann", result_type="accounts")["accounts"]
    assert [str(a["id"]) for a in accounts] == [ann_id]
    host = base.split("://", 1)[1]
    exact = ben.search_v2(f"@ann@{host}", result_type="accounts")["accounts"]
    assert exact[0]["acct"] == "ann"
    assert [a["acct"] for a in ben.account_search("an")] == ["ann"]
    assert ben.account_search("ann", following=True) == []

    # Hashtags, with their history (Mastodon.py asks to exclude unreviewed tags, which
    # keeps the exact name).
    tags = ben.search_v2("wildebeest", result_type="hashtags")["hashtags"]
    assert [t["name"] for t in tags] == ["wildebeest"]
    assert len(tags[0]["history"]) == 7 and tags[0]["history"][0]["uses"] == "1"
    prefixed = ben.search_v2("wildeb", result_type="hashtags", exclude_unreviewed=False)
    assert [t["name"] for t in prefixed["hashtags"]] == ["wildebeest"]

    # A status URL resolves to the status.
    by_url = ben.search_v2(public["url"])
    assert [str(s["id"]) for s in by_url["statuses"]] == [str(public["id"])]

    # Bad input is an API error, not a crash.
    try:
        ben.search_v2("wildebeest before:someday", result_type="statuses")
    except MastodonAPIError as exc:
        assert "422" in str(exc) or "Invalid date" in str(exc)
    else:
        raise AssertionError("a bad date must be refused")


async def test_mastodon_py_search(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)
