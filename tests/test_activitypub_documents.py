"""Actors and collections as other servers fetch them; the instance actor; content negotiation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.oauth_flow import register_app, token_for
from wildebeest_trio import jsonld
from wildebeest_trio.federation.instance_actor import ensure_instance_actor, instance_actor
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.signatures import PublicKey
from wildebeest_trio.store import accounts as account_rows

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
PASSWORD = "correct horse battery"


async def test_actor_document(rt: Runtime, client: Any) -> None:
    await create_local_account(rt, "alice", "alice@example.org", password=PASSWORD)
    token = await token_for(client, await register_app(client), "alice@example.org", PASSWORD)
    await client.patch(
        "/api/v1/accounts/update_credentials",
        headers={"Authorization": f"Bearer {token}"},
        form={
            "display_name": "Alice",
            "note": "Hello",
            "locked": "true",
            "fields_attributes[0][name]": "Web",
            "fields_attributes[0][value]": "https://alice.example",
        },
    )
    base = rt.config.base_url
    for headers in (AP, LD):
        response = await client.get("/users/alice", headers=headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/activity+json")
        assert response.headers["Vary"] == "Accept"
    actor = await response.get_json()
    assert actor["id"] == f"{base}/users/alice"
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["name"] == "Alice" and actor["summary"] == "<p>Hello</p>"
    assert actor["inbox"] == f"{base}/users/alice/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{base}/inbox"
    assert actor["manuallyApprovesFollowers"] is True
    assert actor["url"] == f"{base}/@alice"
    assert actor["attachment"][0]["type"] == "PropertyValue"
    assert actor["publicKey"]["id"] == f"{base}/users/alice#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    PublicKey.from_pem(actor["publicKey"]["publicKeyPem"])
    assert actor["@context"][0] == "https://www.w3.org/ns/activitystreams"
    # Valid JSON-LD with the contexts every server bundles: it expands to RDF cleanly.
    nquads = jsonld.to_rdf(actor)
    assert "<https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers>" in nquads
    assert "<http://schema.org#value>" in nquads


async def test_browsers_get_the_profile_page(rt: Runtime, client: Any) -> None:
    await create_local_account(rt, "bob", "bob@example.org", password=PASSWORD)
    response = await client.get("/users/bob", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/@bob"
    assert response.headers["Vary"] == "Accept"


async def test_unknown_actor_and_collections(rt: Runtime, client: Any) -> None:
    await create_local_account(rt, "carol", "carol@example.org", password=PASSWORD)
    assert (await client.get("/users/nobody", headers=AP)).status_code == 404
    followers = await (await client.get("/users/carol/followers", headers=AP)).get_json()
    assert followers["type"] == "OrderedCollection" and followers["totalItems"] == 0
    assert followers["first"].endswith("/users/carol/followers?page=1")
    page = await (await client.get("/users/carol/followers?page=1", headers=AP)).get_json()
    assert page["type"] == "OrderedCollectionPage" and page["orderedItems"] == []
    assert (await client.get("/users/carol/following?page=x", headers=AP)).status_code == 400


# GoToSocial's username characters (its `usernameGrp`, ASCII part): no `:`, so a domain
# with a port is no username it accepts, and every fetch signed by such an actor fails.
GOTOSOCIAL_USERNAME = re.compile(r"[A-Za-z0-9._-]+")


async def _finger(client: Any, resource: str) -> dict[str, Any]:
    response = await client.get("/.well-known/webfinger", query_string={"resource": resource})
    assert response.status_code == 200, resource
    return dict(await response.get_json())


async def test_instance_actor_and_webfinger(rt: Runtime, client: Any) -> None:
    await ensure_instance_actor(rt)
    await ensure_instance_actor(rt)  # idempotent
    row = await instance_actor(rt)
    assert row is not None
    assert ":" in rt.config.domain  # the case that broke: a domain with a port
    response = await client.get("/actor", headers=AP)
    actor = await response.get_json()
    assert actor["type"] == "Application"
    assert actor["id"] == f"{rt.config.base_url}/actor"
    # Mastodon's fixed name, valid on every server whatever our domain looks like.
    assert actor["preferredUsername"] == "mastodon.internal"
    assert GOTOSOCIAL_USERNAME.fullmatch(actor["preferredUsername"])
    assert actor["publicKey"]["publicKeyPem"] == row["public_key_pem"]
    # Found by its name (what a peer checks after fetching the actor), and by the names
    # servers knew it by before: the bare domain, the domain as a username.
    for resource in (
        f"acct:mastodon.internal@{rt.config.domain}",
        rt.config.domain,
        f"acct:{rt.config.domain}@{rt.config.domain}",
        actor["id"],
    ):
        body = await _finger(client, resource)
        assert body["subject"] == f"acct:mastodon.internal@{rt.config.domain}"
        self_link = next(link for link in body["links"] if link["rel"] == "self")
        assert self_link["href"] == actor["id"]
    # The instance actor is not a person: no actor document under /users, no user count.
    assert (await client.get(f"/users/{rt.config.domain}", headers=AP)).status_code == 404
    assert (await client.get("/users/mastodon.internal", headers=AP)).status_code == 404
    stats = (await (await client.get("/api/v1/instance")).get_json())["stats"]
    assert stats["user_count"] == 0


async def test_instance_actor_serves_the_endpoints_it_advertises(rt: Runtime, client: Any) -> None:
    await ensure_instance_actor(rt)
    actor = await (await client.get("/actor", headers=AP)).get_json()
    path = actor["outbox"].removeprefix(rt.config.base_url)
    assert path == "/actor/outbox"
    response = await client.get(path, headers=AP)
    assert response.status_code == 200
    assert response.content_type.startswith("application/activity+json")
    outbox = await response.get_json()
    assert outbox["id"] == actor["outbox"]
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 0
    page = await (
        await client.get(outbox["first"].removeprefix(rt.config.base_url), headers=AP)
    ).get_json()
    assert page["type"] == "OrderedCollectionPage" and page["orderedItems"] == []
    assert page["partOf"] == actor["outbox"]
    # Its inbox is the shared inbox: an unsigned POST is refused for want of a signature.
    inbox = actor["inbox"].removeprefix(rt.config.base_url)
    follow = {
        "id": "https://remote.example/follows/1",
        "type": "Follow",
        "actor": "https://remote.example/users/ann",
        "object": actor["id"],
    }
    response = await client.post(inbox, json=follow, headers=AP)
    assert response.status_code == 401


async def test_an_instance_actor_named_after_the_domain_takes_the_new_name(
    rt: Runtime, client: Any
) -> None:
    await ensure_instance_actor(rt)
    before = await instance_actor(rt)
    assert before is not None
    # As an older version created it: named after the domain.
    await rt.store.write(
        account_rows.rename_local_account, before["id"], rt.config.domain, before["updated_at"]
    )
    await ensure_instance_actor(rt)  # the next start
    after = await instance_actor(rt)
    assert after is not None
    assert after["username"] == "mastodon.internal"
    assert (after["id"], after["uri"], after["public_key_pem"]) == (
        before["id"],
        before["uri"],
        before["public_key_pem"],
    )
    actor = await (await client.get("/actor", headers=AP)).get_json()
    assert actor["preferredUsername"] == "mastodon.internal"
    body = await _finger(client, f"acct:{rt.config.domain}@{rt.config.domain}")
    assert body["subject"] == f"acct:mastodon.internal@{rt.config.domain}"


@pytest.mark.parametrize("hidden", [True, False])
async def test_hidden_collections_show_only_counts(rt: Runtime, client: Any, hidden: bool) -> None:
    await create_local_account(rt, "dave", "dave@example.org", password=PASSWORD)
    token = await token_for(client, await register_app(client), "dave@example.org", PASSWORD)
    await client.patch(
        "/api/v1/accounts/update_credentials",
        headers={"Authorization": f"Bearer {token}"},
        form={"hide_collections": "true" if hidden else "false"},
    )
    collection = await (await client.get("/users/dave/following", headers=AP)).get_json()
    assert ("first" in collection) is not hidden
    page = await client.get("/users/dave/following?page=1", headers=AP)
    assert page.status_code == (403 if hidden else 200)
