"""Documents served to other servers: statuses, their activities, outbox, featured, and
authorized fetch (signed GETs, checked with the signer's cached key)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer, account_on
from tests.fakes.rows import add_follower
from tests.social import User, act, make_user, post
from tests.web_helpers import log_in
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.serializers.activitypub import AS_PUBLIC
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.signatures import generate_rsa_keypair, sign_request

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}


#: How peers sign their GETs: Mastodon (draft-cavage), Mastodon 4.7's RFC 9421 retry, and
#: Fedify's RFC 9421 first attempt made by an independent implementation.
SCHEMES = ["cavage", "rfc9421", "fedify"]


class Signer:
    """A remote actor whose key our server already knows, signing GETs."""

    def __init__(
        self, rt: Runtime, account_id: int, uri: str, private_pem: str, scheme: str = "cavage"
    ) -> None:
        self.rt, self.account_id, self.uri, self.private_pem = rt, account_id, uri, private_pem
        self.scheme = scheme

    def headers(self, path: str) -> dict[str, str]:
        """The headers of a GET of `path` on our public URL, signed as `scheme` signs."""
        url = f"{self.rt.config.base_url}{path}"
        key_id = f"{self.uri}#main-key"
        headers = dict(AP)
        if self.scheme == "fedify":
            return fedify_signed_get(url, headers, key_id, self.private_pem)
        scheme = "rfc9421" if self.scheme == "rfc9421" else "cavage"
        headers.update(
            sign_request(
                "GET",
                url,
                headers,
                None,
                key_id=key_id,
                private_key=self.private_pem,
                scheme=scheme,
            )
        )
        return headers


@dataclass
class _Message:
    """The request interface http-message-signatures reads and writes."""

    method: str
    url: str
    headers: dict[str, str]


def fedify_signed_get(
    url: str, headers: dict[str, str], key_id: str, private_pem: str
) -> dict[str, str]:
    """A GET signed as Fedify signs it by default (RFC 9421 over the target URI and authority)."""
    message = _Message(
        "GET",
        url,
        {**headers, "Host": urlsplit(url).netloc, "Date": formatdate(usegmt=True)},
    )
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    ).sign(
        message,
        key_id=key_id,
        created=datetime.datetime.now(datetime.UTC),
        covered_component_ids=["@method", "@target-uri", "@authority", "host", "date"],
        include_alg=False,
        label="sig1",
    )
    return message.headers


def forge(headers: dict[str, str]) -> dict[str, str]:
    """The headers with a signature value that cannot verify (either spec)."""
    value = headers["Signature"]
    forged = value.replace('signature="', 'signature="AAAA').replace("sig1=:", "sig1=:AAAA")
    assert forged != value
    return {**headers, "Signature": forged}


async def make_signer(
    rt: Runtime, hosts: RemoteServer, index: int, name: str, scheme: str = "cavage"
) -> Signer:
    private_pem, public_pem = generate_rsa_keypair()
    uri = f"{hosts.origin(index)}/users/{name}"
    account_id = await account_on(rt, hosts, index, name, key=(f"{uri}#main-key", public_pem))
    return Signer(rt, account_id, uri, private_pem, scheme)


async def _get(client: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    return await client.get(path, headers=AP if headers is None else headers)


def _path(uri: str) -> str:
    return "/" + uri.split("/", 3)[3]


async def test_note_and_create_by_content_type(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "Hello, world", language="en")
    path = _path(status["uri"])
    response = await _get(client, path)
    assert response.status_code == 200
    assert response.content_type.startswith("application/activity+json")
    assert "Accept" in response.headers["Vary"]
    note = await response.get_json()
    assert note["id"] == status["uri"] and note["type"] == "Note"
    assert note["to"] == [AS_PUBLIC] and note["contentMap"] == {"en": "<p>Hello, world</p>"}
    response = await _get(client, f"{path}/activity")
    create = await response.get_json()
    assert create["type"] == "Create" and create["object"]["id"] == status["uri"]
    # Browsers go to the web page, as on Mastodon.
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"] == status["url"]
    assert (await _get(client, "/users/alice/statuses/12345")).status_code == 404
    assert (await _get(client, "/users/alice/statuses/notanid")).status_code == 404


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_private_and_direct_only_to_permitted_signers(
    rt: Runtime, client: Any, hosts: RemoteServer, scheme: str
) -> None:
    await ensure_instance_keys(rt)
    alice = await make_user(rt, client, "alice")
    follower = await make_signer(rt, hosts, 0, "fan", scheme)
    stranger = await make_signer(rt, hosts, 1, "stranger", scheme)
    await add_follower(rt, follower.account_id, int(alice.id))
    private = await post(client, alice, "followers only", visibility="private")
    path = _path(private["uri"])
    assert (await _get(client, path)).status_code == 404
    response = await _get(client, path, follower.headers(path))
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert (await response.get_json())["id"] == private["uri"]
    assert "Signature" in response.headers["Vary"]
    if scheme == "rfc9421":
        # Behind a proxy the request comes in under another Host; the signed target URI
        # is still our public URL.
        proxied = {**follower.headers(path), "Host": "backend.internal:8080"}
        assert (await _get(client, path, proxied)).status_code == 200
    assert (await _get(client, path, stranger.headers(path))).status_code == 404
    # A follower's signature that does not verify counts for nothing.
    forged = forge(follower.headers(path))
    assert (await _get(client, path, forged)).status_code == 404

    await account_on(rt, hosts, 1, "stranger", key=None)  # known as stranger@h1.test
    direct = await post(client, alice, "psst @stranger@h1.test", visibility="direct")
    path = _path(direct["uri"])
    assert (await _get(client, path, stranger.headers(path))).status_code == 200
    assert (await _get(client, path, follower.headers(path))).status_code == 404


async def test_a_status_hidden_from_a_browser_looks_missing(rt: Runtime, client: Any) -> None:
    # No oracle: a browser gets the same 404 for a status it may not see as for none at all,
    # where it used to be sent on (302) to the web page of a status that exists.
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    html = {"Accept": "text/html"}
    missing = await client.get("/users/alice/statuses/12345", headers=html)
    assert missing.status_code == 404
    private = await post(client, alice, "followers only", visibility="private")
    direct = await post(client, alice, "psst @bob", visibility="direct")
    for status in (private, direct):
        for suffix in ("", "/activity"):
            hidden = await client.get(_path(status["uri"]) + suffix, headers=html)
            assert hidden.status_code == 404
            assert await hidden.get_data() == await missing.get_data()
    # Deleted, a followers-only status stays unknown; only a public one leaves a Tombstone.
    await client.delete(f"/api/v1/statuses/{private['id']}", headers=alice.headers)
    assert (await _get(client, _path(private["uri"]))).status_code == 404
    # Whoever may see it is still sent on to its page: its author, a mentioned account.
    await log_in(client, "alice")
    shown = await client.get(_path(direct["uri"]), headers=html)
    assert shown.status_code == 302 and shown.headers["Location"] == direct["url"]
    await log_in(client, "bob")
    assert (await client.get(_path(direct["uri"]), headers=html)).status_code == 302
    # Public statuses, to anyone.
    client.cookie_jar.clear()
    public = await post(client, bob, "hello")
    assert (await client.get(_path(public["uri"]), headers=html)).status_code == 302


async def test_deleted_status_is_gone(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "soon gone")
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    response = await _get(client, _path(status["uri"]))
    assert response.status_code == 410
    assert await response.get_json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": status["uri"],
        "type": "Tombstone",
    }


async def test_outbox_pages_and_featured(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    bobs = await post(client, bob, "boost me")
    first = await post(client, alice, "one")
    await post(client, alice, "hidden", visibility="private")
    code, boost = await act(client, alice, f"/api/v1/statuses/{bobs['id']}/reblog")
    assert code == 200
    assert (await act(client, alice, f"/api/v1/statuses/{first['id']}/pin"))[0] == 200

    outbox = await (await _get(client, "/users/alice/outbox")).get_json()
    base = rt.config.base_url
    assert outbox["type"] == "OrderedCollection"
    assert outbox["totalItems"] == 3 and outbox["first"] == f"{base}/users/alice/outbox?page=true"
    page = await (await _get(client, "/users/alice/outbox?page=true")).get_json()
    assert page["type"] == "OrderedCollectionPage"
    assert [i["type"] for i in page["orderedItems"]] == ["Announce", "Create"]
    assert page["orderedItems"][0]["object"] == bobs["uri"]
    assert page["orderedItems"][0]["id"] == boost["uri"]
    assert page["orderedItems"][1]["object"]["id"] == first["uri"]
    assert "next" not in page  # not a full page
    older = await (
        await _get(client, f"/users/alice/outbox?page=true&max_id={first['id']}")
    ).get_json()
    assert older["orderedItems"] == []
    bad = await _get(client, "/users/alice/outbox?page=true&max_id=x")
    assert bad.status_code == 400

    featured = await (await _get(client, "/users/alice/collections/featured")).get_json()
    assert featured["totalItems"] == 1
    assert featured["orderedItems"][0]["id"] == first["uri"]
    assert featured["orderedItems"][0]["type"] == "Note"

    # Featured hashtags, the collection the actor names as `featuredTags`.
    actor = await (await _get(client, "/users/alice")).get_json()
    assert actor["featuredTags"].endswith("/users/alice/collections/tags")
    empty = await (await _get(client, "/users/alice/collections/tags")).get_json()
    assert empty["type"] == "Collection" and empty["items"] == []
    code, made = await act(client, alice, "/api/v1/featured_tags", name="Trio")
    assert code == 200, made
    tags = await (await _get(client, "/users/alice/collections/tags")).get_json()
    assert tags["totalItems"] == 1
    assert tags["items"] == [
        {"type": "Hashtag", "href": f"{rt.config.base_url}/tags/trio", "name": "#Trio"}
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_authorized_fetch(
    tmp_path: Path, database_url: str, hosts: RemoteServer, client: Any, scheme: str
) -> None:
    config = make_config(tmp_path / "af", database_url, authorized_fetch=True)
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        await ensure_instance_actor(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            af = test_app.test_client()
            alice = await make_user(rt, af, "alice")
            status = await post(af, alice, "public, but only to signers")
            signer = await make_signer(rt, hosts, 0, "peer", scheme)
            # The actor: Mastodon's minimal document unsigned, the whole one signed.
            minimal = await (await _get(af, "/users/alice")).get_json()
            assert set(minimal) == {
                "@context",
                "id",
                "type",
                "preferredUsername",
                "inbox",
                "outbox",
                "publicKey",
                "endpoints",
            }
            full = await (await _get(af, "/users/alice", signer.headers("/users/alice"))).get_json()
            assert full["followers"].endswith("/users/alice/followers")
            path = _path(status["uri"])
            for unsigned in (path, "/users/alice/outbox", "/users/alice/followers"):
                assert (await _get(af, unsigned)).status_code == 401, unsigned
            forged = forge(signer.headers(path))
            assert (await _get(af, path, forged)).status_code == 401
            response = await _get(af, path, signer.headers(path))
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "max-age=0, private"
            # The instance actor stays open: it ends the key-fetch chicken-and-egg.
            assert (await _get(af, "/actor")).status_code == 200


async def test_moved_account_names_its_target(rt: Runtime, client: Any) -> None:
    alice: User = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")

    async def move(conn: Any) -> None:
        await conn.execute(
            "UPDATE accounts SET moved_to_account_id = $1 WHERE id = $2", int(bob.id), int(alice.id)
        )

    await rt.store.write(move)
    actor = await (await _get(client, "/users/alice")).get_json()
    assert actor["movedTo"] == f"{rt.config.base_url}/users/bob"
