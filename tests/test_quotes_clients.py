"""Mastodon.py's quote calls (Mastodon 4.5) against a live server: quoting, listing quotes,
the quote notification, changing who may quote, revoking, the default policy."""

from __future__ import annotations

import trio

from tests.test_clients import PASSWORD
from tests.test_statuses_clients import _login
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account


def _scenario(base: str) -> None:
    from mastodon.errors import MastodonNotFoundError

    ann = _login(base, "ann@example.org")
    ben = _login(base, "ben@example.org")
    instance = ann.instance_v2()
    assert instance["api_versions"]["mastodon"] == 7

    original = ann.status_post("Worth quoting")
    assert original["quote_approval"]["automatic"] == ["public"]
    quote = ben.status_post("Agreed", quoted_status_id=original["id"])
    assert quote["quote"]["state"] == "accepted"
    assert str(quote["quote"]["quoted_status"]["id"]) == str(original["id"])
    assert [str(s["id"]) for s in ann.status_quotes(original["id"])] == [str(quote["id"])]
    [note] = ann.notifications(types=["quote"])
    assert str(note["status"]["id"]) == str(quote["id"])
    assert ann.status(original["id"])["quotes_count"] == 1

    closed = ann.status_update_quote_approval_policy(original["id"], "nobody")
    assert closed["quote_approval"]["automatic"] == []
    try:
        ben.status_post("Again", quoted_status_id=original["id"])
    except MastodonNotFoundError:
        pass
    else:  # pragma: no cover - the assertion explains
        raise AssertionError("quoted a post whose policy says nobody")
    # Approvals given before stay, until revoked.
    revoked = ann.status_quote_revoke(original["id"], quote["id"])
    assert revoked["quote"]["state"] == "revoked"
    assert ann.status_quotes(original["id"]) == []

    ben.account_update_credentials(default_quote_policy="followers")
    assert ben.me()["source"]["quote_policy"] == "followers"
    assert ben.status_post("Mine")["quote_approval"]["automatic"] == ["followers"]


async def test_mastodon_py_quotes(rt: Runtime, live_server: str) -> None:
    for name in ("ann", "ben"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    await trio.to_thread.run_sync(_scenario, live_server)
