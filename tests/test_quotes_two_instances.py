"""Quote posts between two live instances, as Mastodon 4.5 federates them: the quoted
author's server approves at once or when its author decides (a QuoteRequest answered by an
Accept carrying a QuoteAuthorization stamp, or a Reject), takes an approval back by
deleting the stamp, and a third server believes a quote only once the stamp checks out.

Instance A runs on each test backend, instance B on SQLite; each is used through its
Mastodon API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config
from tests.social import User, act, get, make_user, post

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def _resolved(side: Instance, user: User, uri: str) -> dict[str, Any]:
    """A post as `side` knows it, fetched from its server when it is not known yet."""
    code, found = await get(side.client, user, f"/api/v2/search?q={uri}&resolve=true&type=statuses")
    assert code == 200 and [s["uri"] for s in found["statuses"]] == [uri], found
    return dict(found["statuses"][0])


async def _quote_state(side: Instance, user: User, status_id: str, state: str) -> Any:
    """The status once its quote is in `state` (None before)."""
    code, status = await get(side.client, user, f"/api/v1/statuses/{status_id}")
    return status if code == 200 and status["quote"] and status["quote"]["state"] == state else None


async def _listed(side: Instance, user: User, status_id: str, *, pending: bool = False) -> Any:
    """The statuses quoting a status, as its author lists them (waiting ones with
    `pending`); their ids on `side` by their ActivityPub ids."""
    query = "?pending=true" if pending else ""
    code, found = await get(side.client, user, f"/api/v1/statuses/{status_id}/quotes{query}")
    assert code == 200, found
    return {s["uri"]: s["id"] for s in found}


async def _fetch(side: Instance, url: str) -> tuple[int, Any]:
    """An ActivityPub document from `side`, as another server asks for it."""
    path = url.removeprefix(side.rt.config.base_url)
    response = await side.client.get(path, headers=AP)
    body = await response.get_json() if response.status_code == 200 else None
    return response.status_code, body


async def test_automatic_approval_then_revocation_and_deletion(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    original = await post(a.client, alice, "Quote me if you like")
    remote = await _resolved(b, bob, original["uri"])
    # B reads who may quote from the Note's interactionPolicy.
    assert remote["quote_approval"] == {
        "automatic": ["public"],
        "manual": [],
        "current_user": "automatic",
    }

    quote = await post(b.client, bob, "Well said", quoted_status_id=remote["id"])
    assert quote["quote"] == {"state": "pending", "quoted_status": None}  # A decides
    seen = await eventually(
        lambda: _quote_state(b, bob, quote["id"], "accepted"), "A's approval on B"
    )
    assert seen["quote"]["quoted_status"]["uri"] == original["uri"]

    # On A: alice is told, the quote counts and is listed, and its stamp is served.
    async def told() -> list[Any]:
        _, notes = await get(a.client, alice, "/api/v1/notifications?types[]=quote")
        return list(notes)

    [note] = await eventually(told, "the quote notification on A")
    assert note["account"]["acct"] == f"bob@{b.host}" and note["status"]["uri"] == quote["uri"]
    assert note["status"]["quote"]["quoted_status"]["id"] == original["id"]
    _, counted = await get(a.client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 1
    listed = await _listed(a, alice, original["id"])
    assert list(listed) == [quote["uri"]]

    async def stamped() -> Any:
        code, note = await _fetch(b, quote["uri"])
        return note if code == 200 and note.get("quoteAuthorization") else None

    served = await eventually(stamped, "B's Note naming the stamp")
    assert served["quote"] == original["uri"] and served["quoteUri"] == original["uri"]
    stamp_url = served["quoteAuthorization"]
    assert stamp_url.startswith(f"{a.rt.config.base_url}/users/alice/quote_authorizations/")
    code, stamp = await _fetch(a, stamp_url)
    assert code == 200
    assert stamp["type"] == "QuoteAuthorization"
    assert stamp["attributedTo"] == f"{a.rt.config.base_url}/users/alice"
    assert stamp["interactingObject"] == quote["uri"]
    assert stamp["interactionTarget"] == original["uri"]

    # Alice takes it back: the stamp is deleted, and B hears of it.
    code, revoked = await act(
        a.client, alice, f"/api/v1/statuses/{original['id']}/quotes/{listed[quote['uri']]}/revoke"
    )
    assert code == 200 and revoked["quote"]["state"] == "revoked"
    assert (await _fetch(a, stamp_url))[0] == 404
    await eventually(lambda: _quote_state(b, bob, quote["id"], "revoked"), "the revocation on B")

    # A second quote, then the quoted post deleted: B shows the quote as deleted.
    again = await post(b.client, bob, "Once more", quoted_status_id=remote["id"])
    await eventually(lambda: _quote_state(b, bob, again["id"], "accepted"), "the second approval")
    response = await a.client.delete(f"/api/v1/statuses/{original['id']}", headers=alice.headers)
    assert response.status_code == 200
    await eventually(lambda: _quote_state(b, bob, again["id"], "deleted"), "the deletion on B")


async def test_manual_approval_accept_and_reject(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    carol = await make_user(b.rt, b.client, "carol")
    original = await post(
        a.client,
        alice,
        "Ask me first",
        quote_approval_policy={"automatic": [], "manual": ["public"]},
    )
    remote = await _resolved(b, bob, original["uri"])
    assert remote["quote_approval"]["manual"] == ["public"]
    assert remote["quote_approval"]["current_user"] == "manual"

    asked = await post(b.client, bob, "May I?", quoted_status_id=remote["id"])
    other = await post(b.client, carol, "Me too?", quoted_status_id=remote["id"])

    async def waiting() -> Any:
        found = await _listed(a, alice, original["id"], pending=True)
        return found if len(found) == 2 else None

    waiting_on_a = await eventually(waiting, "both requests waiting on A")
    assert set(waiting_on_a) == {asked["uri"], other["uri"]}
    # Nothing is decided meanwhile.
    assert (await _quote_state(b, bob, asked["id"], "pending")) is not None

    base = f"/api/v1/statuses/{original['id']}/quotes"
    code, approved = await act(a.client, alice, f"{base}/{waiting_on_a[asked['uri']]}/authorize")
    assert code == 200 and approved["quote"]["state"] == "accepted"
    code, refused = await act(a.client, alice, f"{base}/{waiting_on_a[other['uri']]}/reject")
    assert code == 200 and refused["quote"]["state"] == "rejected"

    seen = await eventually(
        lambda: _quote_state(b, bob, asked["id"], "accepted"), "the approval on B"
    )
    assert seen["quote"]["quoted_status"]["uri"] == original["uri"]
    seen = await eventually(
        lambda: _quote_state(b, carol, other["id"], "rejected"), "the refusal on B"
    )
    assert seen["quote"]["quoted_status"] is None
    _, counted = await get(a.client, alice, f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 1


async def test_a_third_server_checks_the_stamp(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    carol = await make_user(b.rt, b.client, "carol")
    dave = await make_user(b.rt, b.client, "dave")
    await follow_accepted(a, alice, b, carol)
    # Carol quotes dave on B (approved there at once); alice on A follows carol.
    daves = await post(b.client, dave, "Dave's thought")
    quote = await post(b.client, carol, "Dave is right", quoted_status_id=daves["id"])
    assert quote["quote"]["state"] == "accepted"

    async def arrived() -> Any:
        code, found = await get(a.client, alice, "/api/v1/timelines/home")
        return next((s for s in found if s["uri"] == quote["uri"]), None) if code == 200 else None

    seen = await eventually(arrived, "carol's quote on A")

    # A fetches dave's post and B's stamp, and believes the quote only then.
    async def checked() -> Any:
        return await _quote_state(a, alice, seen["id"], "accepted")

    verified = await eventually(checked, "the stamp checked on A")
    assert verified["quote"]["quoted_status"]["uri"] == daves["uri"]
    assert verified["quote"]["quoted_status"]["account"]["acct"] == f"dave@{b.host}"
