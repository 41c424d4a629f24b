"""Collections (Mastodon 4.6): made, read, changed and left through the API as Mastodon.py
calls it, refused where Mastodon refuses, and federated as Mastodon federates them
(FeaturedCollection documents, Add/Update/Remove to followers, a FeatureRequest to a
remote account featured)."""

from __future__ import annotations

import json
from typing import Any

import trio

from tests.fakes.instance import drain, queued_deliveries
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import account_id_of, add_follower, remote_account, rows
from tests.jsonld_js import unverified_when_signed
from tests.social import User, act, get, make_user, token_with
from tests.test_statuses_clients import _login
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.federation.outbox import dispatch_pending
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}
PASSWORD = "correct horse battery"


def _scenario(base: str) -> dict[str, Any]:
    """Alice curates, Bob is featured and leaves, Carol looks on (Mastodon.py)."""
    from mastodon import MastodonAPIError

    alice = _login(base, "alice@example.org")
    bob = _login(base, "bob@example.org")
    carol = _login(base, "carol@example.org")
    bob_id, carol_id = bob.me()["id"], carol.me()["id"]
    alice_id = alice.me()["id"]

    made = alice.collection_create(
        "Good people",
        description="Well worth following",
        language="en",
        tag_name="friends",
        discoverable=True,
        account_ids=[bob_id],
    )["collection"]
    seen = carol.collection(made["id"])
    owned = alice.account_collections(alice_id)
    added = alice.collection_item_add(made["id"], carol_id)["collection_item"]
    featuring_carol = carol.account_in_collections(carol_id)
    changed = alice.collection_update(made["id"], name="Great people", sensitive=True)
    errors: dict[str, int] = {}
    for name, call in (
        ("too_long", lambda: alice.collection_create("x" * 41)),
        ("not_owner", lambda: bob.collection_update(made["id"], name="Mine")),
        ("twice", lambda: alice.collection_item_add(made["id"], carol_id)),
        ("missing", lambda: carol.collection(12345)),
    ):
        try:
            call()
        except MastodonAPIError as exc:
            errors[name] = int(exc.args[1])
    bob_item = next(i for i in changed["collection"]["items"] if i["account_id"] == bob_id)
    try:
        carol.collection_item_revoke(made["id"], bob_item["id"])
    except MastodonAPIError as exc:
        errors["revoke_other"] = int(exc.args[1])
    bob.collection_item_revoke(made["id"], bob_item["id"])
    after_revoke = carol.collection(made["id"])
    featuring_bob = bob.account_in_collections(bob_id)
    alice.collection_item_delete(made["id"], added["id"])
    after_delete = alice.collection(made["id"])
    hidden = alice.collection_create("Private picks", discoverable=False)["collection"]
    seen_by_carol = carol.account_collections(alice_id)
    seen_by_alice = alice.account_collections(alice_id)
    alice.collection_delete(hidden["id"])
    try:
        alice.collection(hidden["id"])
    except MastodonAPIError as exc:
        errors["deleted"] = int(exc.args[1])
    return {
        "ids": {"alice": alice_id, "bob": bob_id, "carol": carol_id},
        "made": made,
        "seen": seen,
        "owned": owned,
        "added": added,
        "featuring_carol": featuring_carol,
        "changed": changed["collection"],
        "errors": errors,
        "after_revoke": after_revoke,
        "featuring_bob": featuring_bob,
        "after_delete": after_delete,
        "seen_by_carol": [c["name"] for c in seen_by_carol["collections"]],
        "seen_by_alice": [c["name"] for c in seen_by_alice["collections"]],
    }


async def test_mastodon_py_collections_story(rt: Runtime, live_server: str) -> None:
    for name in ("alice", "bob", "carol"):
        await create_local_account(rt, name, f"{name}@example.org", password=PASSWORD)
    result = await trio.to_thread.run_sync(_scenario, live_server)
    ids, made = result["ids"], result["made"]

    assert made["name"] == "Good people" and made["description"] == "Well worth following"
    assert made["account_id"] == ids["alice"] and made["local"] is True
    assert made["language"] == "en" and made["discoverable"] is True
    assert made["sensitive"] is False and made["item_count"] == 1
    assert made["tag"] == {"name": "friends", "url": f"{rt.config.base_url}/tags/friends"}
    assert made["uri"] == f"{rt.config.base_url}/users/alice/collections/{made['id']}"
    [item] = made["items"]
    assert item["account_id"] == ids["bob"] and item["state"] == "accepted"
    assert made["created_at"].tzinfo is not None  # Mastodon.py parsed the timestamp

    # CollectionWithAccounts: the owner and the accounts featured.
    assert result["seen"]["collection"]["id"] == made["id"]
    assert {a["id"] for a in result["seen"]["accounts"]} == {ids["alice"], ids["bob"]}
    assert [c["id"] for c in result["owned"]["collections"]] == [made["id"]]
    assert result["added"]["state"] == "accepted" and result["added"]["account_id"] == ids["carol"]
    assert [c["id"] for c in result["featuring_carol"]["collections"]] == [made["id"]]
    changed = result["changed"]
    assert changed["name"] == "Great people" and changed["sensitive"] is True
    assert changed["description"] == "Well worth following" and changed["item_count"] == 2

    assert result["errors"] == {
        "too_long": 422,
        "not_owner": 403,
        "twice": 422,
        "missing": 404,
        "revoke_other": 403,
        "deleted": 404,
    }
    # Bob left: others no longer see him, and he is in no collection.
    assert [i["account_id"] for i in result["after_revoke"]["collection"]["items"]] == [
        ids["carol"]
    ]
    assert result["featuring_bob"]["collections"] == []
    assert result["after_delete"]["collection"]["items"] == []
    # A collection that is not discoverable is its owner's alone.
    assert result["seen_by_carol"] == ["Great people"]
    assert result["seen_by_alice"] == ["Private picks", "Great people"]


async def _sent(rt: Runtime) -> list[dict[str, Any]]:
    while (await dispatch_pending(rt))[0]:
        pass
    return [json.loads(job["body"]) for job in await queued_deliveries(rt)]


async def test_collections_federate_as_mastodon_sends_them(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = await make_user(local, api, "bob")
    carol = await make_user(local, api, "carol")
    follower = await remote_account(local, "fan", "fans.example", origin=remote.base)
    await add_follower(local, follower, int(alice.id))
    featured = await remote_account(local, "star", "stars.example", origin=remote.base)
    base = local.config.base_url
    alice_uri = f"{base}/users/alice"

    code, made = await act(
        api,
        alice,
        "/api/v1/collections",
        name="Mutuals",
        description="my pals",
        account_ids=[bob.id, str(featured)],
    )
    assert code == 200, made
    collection = made["collection"]
    states = {i["account_id"]: i["state"] for i in collection["items"]}
    assert states == {bob.id: "accepted", str(featured): "pending"}
    uri = collection["uri"]

    sent = await _sent(local)
    add = next(a for a in sent if a["type"] == "Add")
    assert add["actor"] == alice_uri and add["target"] == f"{alice_uri}/featured_collections"
    assert add["object"]["type"] == "FeaturedCollection" and add["object"]["id"] == uri
    assert add["object"]["summary"] == "my pals" and add["object"]["totalItems"] == 1
    [member] = add["object"]["orderedItems"]
    assert member["type"] == "FeaturedItem" and member["featuredObject"] == f"{base}/users/bob"
    stamp = member["featureAuthorization"]
    request = next(a for a in sent if a["type"] == "FeatureRequest")
    assert request["object"] == f"{remote.base}/users/star" and request["instrument"] == uri

    # The documents at those addresses.
    response = await api.get(uri.removeprefix(base), headers=AP)
    assert response.status_code == 200
    document = await response.get_json()
    assert document["type"] == "FeaturedCollection" and document["attributedTo"] == alice_uri
    assert [i["featuredObject"] for i in document["orderedItems"]] == [f"{base}/users/bob"]
    response = await api.get("/users/alice/featured_collections", headers=AP)
    listed = await response.get_json()
    assert [c["id"] for c in listed["orderedItems"]] == [uri]
    response = await api.get(stamp.removeprefix(base), headers=AP)
    authorization = await response.get_json()
    assert authorization["type"] == "FeatureAuthorization"
    assert authorization["interactingObject"] == uri
    assert authorization["interactionTarget"] == f"{base}/users/bob"
    response = await api.get("/users/alice", headers=AP)
    actor = await response.get_json()
    assert actor["featuredCollections"] == f"{alice_uri}/featured_collections"

    # Carol blocks Alice: she cannot be featured; an undiscoverable account neither.
    assert (await act(api, carol, f"/api/v1/accounts/{alice.id}/block"))[0] == 200
    code, body = await act(
        api, alice, f"/api/v1/collections/{collection['id']}/items", account_id=carol.id
    )
    assert code == 403, body
    code, body = await act(api, alice, f"/api/v1/collections/{collection['id']}/items")
    assert code == 422 and body == {"error": "`account_id` parameter is missing"}

    # Changes go out as Update and Remove.
    already = len(await _sent(local))
    response = await api.patch(
        f"/api/v1/collections/{collection['id']}", headers=alice.headers, json={"name": "Pals"}
    )
    assert response.status_code == 200
    bob_item = next(i for i in collection["items"] if i["account_id"] == bob.id)
    code, _ = await act(
        api, bob, f"/api/v1/collections/{collection['id']}/items/{bob_item['id']}/revoke"
    )
    assert code == 200
    response = await api.delete(f"/api/v1/collections/{collection['id']}", headers=alice.headers)
    assert response.status_code == 200
    sent = (await _sent(local))[already:]
    assert [a["type"] for a in sent] == ["Update", "Remove", "Remove"]
    update, remove_item, remove = sent
    assert update["object"]["name"] == "Pals" and update["to"] == [
        "https://www.w3.org/ns/activitystreams#Public"
    ]
    assert remove_item["target"] == uri and remove_item["object"].endswith(
        f"/collection_items/{bob_item['id']}"
    )
    assert remove["target"] == f"{alice_uri}/featured_collections" and remove["object"] == uri
    assert (await api.get(uri.removeprefix(base), headers=AP)).status_code == 404
    assert await rows(local, "SELECT id FROM collection_items") == []

    # Each is defined by its own @context: jsonld.js in safe mode (as Fedify reads them)
    # signs and verifies them without an undefined term.
    checked = [document, listed, authorization, add, request, update, remove_item, remove]
    assert await unverified_when_signed(checked) == []


async def test_scopes_and_anonymous_reads(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    reader = User("alice", alice.id, await token_with(client, alice, "read"))
    code, body = await act(client, reader, "/api/v1/collections", name="Nope")
    assert code == 403, body
    granular = User("alice", alice.id, await token_with(client, alice, "write:collections"))
    code, made = await act(client, granular, "/api/v1/collections", name="Yes")
    assert code == 200, made
    code, seen = await get(client, None, f"/api/v1/collections/{made['collection']['id']}")
    assert code == 200 and seen["accounts"][0]["id"] == alice.id
    code, listed = await get(client, None, f"/api/v1/accounts/{alice.id}/collections?limit=1")
    assert code == 200 and len(listed["collections"]) == 1
    assert (await get(client, None, "/api/v1/accounts/999999/collections"))[0] == 404
    code, body = await get(client, None, f"/api/v1/accounts/{alice.id}/collections?limit=-1")
    assert code == 400, body
    anonymous = await client.post("/api/v1/collections", json={"name": "x"})
    assert anonymous.status_code == 401


async def test_remote_collections_and_feature_answers(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    base = local.config.base_url
    mia, star = remote.actor("mia"), remote.actor("star")
    await refresh_actor(local, star.uri)
    star_id = await account_id_of(local, star.uri)
    fan = await remote_account(local, "fan", "fans.example", origin=remote.base)
    await add_follower(local, fan, int(alice.id))

    # Alice features Star, who approves with a stamp: her place is accepted, and the Add
    # that goes to Alice's followers names the stamp.
    code, made = await act(api, alice, "/api/v1/collections", name="Stars", account_ids=[star_id])
    assert code == 200, made
    collection = made["collection"]
    assert [i["state"] for i in collection["items"]] == ["pending"]
    request = next(a for a in await _sent(local) if a["type"] == "FeatureRequest")
    stamp = f"{star.uri}/feature_authorizations/1"
    accept = remote.activity(star, "Accept", request["id"], result=stamp)
    assert await deliver(api, local, star, accept) == 202
    await drain(local)
    code, seen = await get(api, None, f"/api/v1/collections/{collection['id']}")
    assert [i["state"] for i in seen["collection"]["items"]] == ["accepted"]
    added = [a for a in await _sent(local) if a["type"] == "Add"][-1]
    assert added["target"] == collection["uri"]
    assert added["object"]["featuredObject"] == star.uri
    assert added["object"]["featureAuthorization"] == stamp
    # Another's answer, or a second one, changes nothing.
    again = remote.activity(mia, "Reject", request["id"])
    assert await deliver(api, local, mia, again) == 202
    await drain(local)
    code, seen = await get(api, None, f"/api/v1/collections/{collection['id']}")
    assert [i["state"] for i in seen["collection"]["items"]] == ["accepted"]

    # Mia's own collection, as her server sends it.
    uri = f"{mia.uri}/collections/7"
    document = {
        "id": uri,
        "type": "FeaturedCollection",
        "attributedTo": mia.uri,
        "name": "Mia's <b>picks</b>",
        "summaryMap": {"en": "<p>Worth it</p>"},
        "sensitive": False,
        "discoverable": True,
        "published": "2026-02-25T11:35:01Z",
        "topic": {"type": "Hashtag", "name": "#art", "href": f"{remote.base}/tags/art"},
        "totalItems": 2,
        "orderedItems": [
            {
                "id": f"{mia.uri}/collection_items/1",
                "type": "FeaturedItem",
                "featuredObject": star.uri,
            },
            # A local account is featured only through a FeatureRequest it approved.
            {
                "id": f"{mia.uri}/collection_items/2",
                "type": "FeaturedItem",
                "featuredObject": f"{base}/users/alice",
            },
        ],
    }
    target = f"{mia.uri}/featured_collections"
    add = remote.activity(mia, "Add", document, target=target)
    assert await deliver(api, local, mia, add) == 202
    await drain(local)
    mia_id = await account_id_of(local, mia.uri)
    code, listed = await get(api, alice, f"/api/v1/accounts/{mia_id}/collections")
    assert code == 200, listed
    [kept] = listed["collections"]
    assert kept["uri"] == uri and kept["local"] is False and kept["name"] == "Mia's picks"
    assert kept["description"] == "Worth it" and kept["language"] == "en"
    assert kept["tag"]["name"] == "art"
    assert [i["account_id"] for i in kept["items"]] == [str(star_id)]
    code, featuring = await get(api, None, f"/api/v1/accounts/{star_id}/in_collections")
    assert {c["id"] for c in featuring["collections"]} == {kept["id"], collection["id"]}

    # Items and names change; then the collection goes.
    remove_item = remote.activity(mia, "Remove", f"{mia.uri}/collection_items/1", target=uri)
    update = remote.activity(mia, "Update", {**document, "name": "Mia's best"})
    for activity in (remove_item, update):
        assert await deliver(api, local, mia, activity) == 202
        await drain(local)
    code, seen = await get(api, None, f"/api/v1/collections/{kept['id']}")
    assert seen["collection"]["name"] == "Mia's best"
    # (the Update carries the full list again: Star is back, as the document says)
    assert [i["account_id"] for i in seen["collection"]["items"]] == [str(star_id)]
    await deliver(api, local, mia, remote.activity(mia, "Remove", uri, target=target))
    await drain(local)
    code, listed = await get(api, alice, f"/api/v1/accounts/{mia_id}/collections")
    assert listed["collections"] == []
    # A collection said to be someone else's is not taken.
    forged = {**document, "id": f"{star.uri}/collections/9", "attributedTo": star.uri}
    await deliver(api, local, mia, remote.activity(mia, "Add", forged, target=target))
    await drain(local)
    code, listed = await get(api, alice, f"/api/v1/accounts/{star_id}/collections")
    assert listed["collections"] == []


async def test_remote_accounts_ask_to_feature_local_ones(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    hermit = await make_user(local, api, "hermit")
    response = await api.patch(
        "/api/v1/accounts/update_credentials", headers=hermit.headers, json={"discoverable": False}
    )
    assert response.status_code == 200
    base = local.config.base_url
    mia = remote.actor("mia")
    uri = f"{mia.uri}/collections/3"
    remote.put(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": uri,
            "type": "FeaturedCollection",
            "attributedTo": mia.uri,
            "name": "Locals I like",
            "summary": "",
            "totalItems": 0,
            "orderedItems": [],
        }
    )
    for name in ("alice", "hermit"):
        request = remote.activity(mia, "FeatureRequest", f"{base}/users/{name}", instrument=uri)
        assert await deliver(api, local, mia, request) == 202
    await drain(local)
    answers = [a for a in await _sent(local) if a["type"] in ("Accept", "Reject")]
    assert [(a["type"], a["actor"]) for a in answers] == [
        ("Accept", f"{base}/users/alice"),
        ("Reject", f"{base}/users/hermit"),
    ]
    accept = answers[0]
    assert accept["to"] == mia.uri and accept["object"].startswith(f"{mia.uri}/activities/")
    response = await api.get(accept["result"].removeprefix(base), headers=AP)
    stamp = await response.get_json()
    assert stamp["type"] == "FeatureAuthorization" and stamp["interactingObject"] == uri
    assert stamp["interactionTarget"] == f"{base}/users/alice"
    code, featuring = await get(api, alice, f"/api/v1/accounts/{alice.id}/in_collections")
    assert code == 200
    assert [(c["uri"], c["local"]) for c in featuring["collections"]] == [(uri, False)]
    code, featuring = await get(api, hermit, f"/api/v1/accounts/{hermit.id}/in_collections")
    assert featuring["collections"] == []


async def test_bad_input_gets_mastodons_4xx(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    for fields in (
        {"name": ""},
        {"name": "ok", "description": "d" * 101},
        {"name": "ok", "language": "not a language"},
        {"name": "ok", "tag_name": "two words"},
        {"name": "ok", "sensitive": "maybe"},
        {"name": "ok", "account_ids": ["x"]},
        {"name": "ok", "account_ids": ["99999"]},
        {"name": ["a", "list"]},
    ):
        code, body = await act(client, alice, "/api/v1/collections", **fields)
        assert 400 <= code < 500 and "error" in body, (fields, code, body)
    for path in (
        "/api/v1/collections/99999",
        "/api/v1/collections/abc",
        f"/api/v1/accounts/{alice.id}/in_collections?offset=-1",
        "/api/v1/annual_reports/99999999999999999999",
        "/api/v1/annual_reports/1200",
    ):
        code, body = await get(client, alice, path)
        assert 400 <= code < 500, (path, code, body)
    code, made = await act(client, alice, "/api/v1/collections", name="Mine")
    collection_id = made["collection"]["id"]
    for path in (
        f"/api/v1/collections/{collection_id}/items/99999/revoke",
        "/api/v1/collections/99999/items",
    ):
        code, body = await act(client, alice, path, account_id=alice.id)
        assert code == 404, (path, code, body)
    response = await client.delete(
        f"/api/v1/collections/{collection_id}/items/99999", headers=alice.headers
    )
    assert response.status_code == 404
