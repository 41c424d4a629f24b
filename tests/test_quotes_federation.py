"""Quote posts with other servers (fakes on 127.0.0.1): the older forms of a quote
(`quoteUrl`), stamps that do or do not check out, QuoteRequests from others answered as the
quoted post's policy says, and the documents we send, each defined by its own @context
(checked by jsonld.js in safe mode, as Fedify checks)."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.instance import drain, queued_deliveries
from tests.fakes.remote import PUBLIC, RemoteActor, RemoteServer, deliver
from tests.fakes.rows import rows
from tests.jsonld_js import unverified_when_signed
from tests.social import User, act, get, make_user, post
from wildebeest_trio.federation.inbox import INBOX
from wildebeest_trio.federation.outbox import dispatch_pending
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.quotes import QUOTE_VERIFY

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}
FEP = "https://w3id.org/fep/044f#"
ANYONE = {"canQuote": {"automaticApproval": [PUBLIC]}}


async def _apply(rt: Runtime) -> None:
    """Run the inbox jobs and the quote checks they queue."""
    await drain(rt, [INBOX.name, QUOTE_VERIFY.name])


async def _sent(rt: Runtime) -> list[dict[str, Any]]:
    """The activities queued for delivery, after the outbox events become deliveries."""
    while (await dispatch_pending(rt))[0]:
        pass
    return [json.loads(job["body"]) for job in await queued_deliveries(rt)]


async def _status_of(rt: Runtime, client: Any, user: User | None, uri: str) -> dict[str, Any]:
    """A stored status by its ActivityPub id, as `user` sees it through the API."""
    [row] = await rows(rt, "SELECT id FROM statuses WHERE uri = $1", uri)
    code, status = await get(client, user, f"/api/v1/statuses/{row['id']}")
    assert code == 200, status
    return dict(status)


def _create(server: RemoteServer, actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return server.activity(actor, "Create", note, to=note["to"], cc=note["cc"])


def _mentioning(user: str, rt: Runtime) -> dict[str, Any]:
    """What a note needs to reach `user` here."""
    uri = f"{rt.config.base_url}/users/{user}"
    return {"tag": [{"type": "Mention", "href": uri, "name": f"@{user}"}], "cc": [uri]}


async def test_a_server_sending_only_quote_url(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    mia = remote.actor("mia")
    earlier = remote.note(mia, "<p>my earlier post</p>")
    # Mia quotes herself the Misskey way: anyone may, no stamp needed.
    note = remote.note(
        mia, "<p>as I said</p>", quoteUrl=earlier["id"], **_mentioning("alice", local)
    )
    assert await deliver(api, local, mia, _create(remote, mia, note)) == 202
    await _apply(local)
    seen = await _status_of(local, api, alice, note["id"])
    assert seen["quote"]["state"] == "accepted"
    assert seen["quote"]["quoted_status"]["uri"] == earlier["id"]
    assert "my earlier post" in seen["quote"]["quoted_status"]["content"]

    # A post naming itself as what it quotes quotes nothing.
    itself = remote.note(mia, "<p>me, me</p>", **_mentioning("alice", local))
    itself["quote"] = itself["id"]
    assert await deliver(api, local, mia, _create(remote, mia, itself)) == 202
    await _apply(local)
    seen = await _status_of(local, api, alice, itself["id"])
    assert seen["quote"] == {"state": "rejected", "quoted_status": None}

    # A stamp said to be ours is never taken from a note: we keep our own.
    claims = remote.note(
        mia,
        "<p>approved, honest</p>",
        quote=f"{mia.uri}/statuses/unknown",
        quoteAuthorization=f"{local.config.base_url}/users/alice/quote_authorizations/1",
        **_mentioning("alice", local),
    )
    assert await deliver(api, local, mia, _create(remote, mia, claims)) == 202
    await _apply(local)
    [kept] = await rows(
        local,
        "SELECT q.approval_uri FROM quotes q JOIN statuses s ON s.id = q.status_id "
        "WHERE s.uri = $1",
        claims["id"],
    )
    assert kept["approval_uri"] is None

    # Quoting alice's post that way asks nobody: as on Mastodon, it shows as a plain post
    # (a quote of a local post is related to us, so it is taken without a follower).
    mine = await post(api, alice, "alice's post")
    legacy = remote.note(mia, "<p>look at this</p>", quoteUrl=mine["uri"])
    assert await deliver(api, local, mia, _create(remote, mia, legacy)) == 202
    await _apply(local)
    seen = await _status_of(local, api, alice, legacy["id"])
    assert seen["quote"] is None and "look at this" in seen["content"]
    _, notes = await get(api, alice, "/api/v1/notifications?types[]=quote")
    assert notes == []
    _, counted = await get(api, alice, f"/api/v1/statuses/{mine['id']}")
    assert counted["quotes_count"] == 0


async def test_remote_quotes_count_only_with_a_stamp_that_checks_out(
    api: Any, local: Runtime, hosts: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    mia = hosts.actor("mia", index=0)
    ned = hosts.actor("ned", index=1)
    neds = hosts.note(ned, "<p>ned's post</p>")

    def stamp(server_actor: RemoteActor, attributed: str, quoting: str, quoted: str) -> str:
        return hosts.put(
            {
                "@context": ["https://www.w3.org/ns/activitystreams"],
                "id": hosts.next_id(server_actor, "stamps"),
                "type": "QuoteAuthorization",
                "attributedTo": attributed,
                "interactingObject": quoting,
                "interactionTarget": quoted,
            }
        )["id"]

    def quoting(stamp_of: Any) -> dict[str, Any]:
        note_id = f"{mia.uri}/statuses/q{hosts.counter + 1}"
        hosts.counter += 1
        note = {
            "id": note_id,
            "type": "Note",
            "attributedTo": mia.uri,
            "content": "<p>quoting ned</p>",
            "published": "2026-01-01T00:00:00Z",
            "to": [PUBLIC],
            "quote": neds["id"],
            "quoteAuthorization": stamp_of(note_id),
            **_mentioning("alice", local),
        }
        return hosts.put(note)

    good = quoting(lambda q: stamp(ned, ned.uri, q, neds["id"]))
    # A stamp on mia's own server speaking for ned; one approving another post; none at all.
    forged = quoting(lambda q: stamp(mia, ned.uri, q, neds["id"]))
    elsewhere = quoting(lambda q: stamp(ned, ned.uri, f"{mia.uri}/statuses/other", neds["id"]))
    missing = quoting(lambda q: f"{ned.uri}/stamps/gone")
    for note in (good, forged, elsewhere, missing):
        assert await deliver(api, local, mia, _create(hosts, mia, note)) == 202
    await _apply(local)

    seen = await _status_of(local, api, alice, good["id"])
    assert seen["quote"]["state"] == "accepted"
    assert seen["quote"]["quoted_status"]["uri"] == neds["id"]
    # A stamp that does not fit is not believed (left pending, as Mastodon leaves it); one
    # that cannot be had refuses the quote.
    for unproven, state in ((forged, "pending"), (elsewhere, "pending"), (missing, "rejected")):
        seen = await _status_of(local, api, alice, unproven["id"])
        assert seen["quote"] == {"state": state, "quoted_status": None}, unproven["id"]


async def _request(
    server: RemoteServer, actor: RemoteActor, quoted_uri: str, instrument: Any
) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"QuoteRequest": f"{FEP}QuoteRequest"},
        ],
        "id": server.next_id(actor, "quote_requests"),
        "type": "QuoteRequest",
        "actor": actor.uri,
        "object": quoted_uri,
        "instrument": instrument,
    }


async def test_quote_requests_from_other_servers(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    mia = remote.actor("mia")
    closed = await post(api, alice, "mine alone", quote_approval_policy="nobody")
    open_ = await post(api, alice, "anyone may quote")

    # Refused: the Reject names the request, and its quoting post.
    note = remote.note(mia, "<p>quoting</p>", quote=closed["uri"])
    request = await _request(remote, mia, closed["uri"], note["id"])
    assert await deliver(api, local, mia, request) == 202
    await _apply(local)
    [reject] = [a for a in await _sent(local) if a["type"] == "Reject"]
    assert reject["actor"] == f"{local.config.base_url}/users/alice"
    assert reject["object"]["type"] == "QuoteRequest"
    assert reject["object"]["id"] == request["id"]
    assert reject["object"]["instrument"] == note["id"]
    assert (await _status_of(local, api, alice, note["id"]))["quote"]["state"] == "rejected"

    # Approved at once, the quoting post taken from the request itself.
    embedded = {
        "id": f"{mia.uri}/statuses/embedded",
        "type": "Note",
        "attributedTo": mia.uri,
        "content": "<p>so true</p>",
        "published": "2026-01-01T00:00:00Z",
        "to": [PUBLIC],
        "quote": open_["uri"],
    }
    request = await _request(remote, mia, open_["uri"], embedded)
    assert await deliver(api, local, mia, request) == 202
    await _apply(local)
    [accept] = [a for a in await _sent(local) if a["type"] == "Accept"]
    assert accept["object"]["id"] == request["id"]
    stamp_url = accept["result"]
    response = await api.get(stamp_url.removeprefix(local.config.base_url), headers=AP)
    assert response.status_code == 200
    stamp = await response.get_json()
    assert stamp["interactingObject"] == embedded["id"]
    assert stamp["interactionTarget"] == open_["uri"]
    seen = await _status_of(local, api, alice, embedded["id"])
    assert seen["quote"]["quoted_status"]["id"] == open_["id"]
    _, notes = await get(api, alice, "/api/v1/notifications?types[]=quote")
    assert [n["status"]["uri"] for n in notes] == [embedded["id"]]

    # A request for a post on someone else's server, or with a quoting post that names
    # another, is refused.
    other = remote.note(mia, "<p>other</p>", quote=closed["uri"])
    request = await _request(remote, mia, open_["uri"], other["id"])
    assert await deliver(api, local, mia, request) == 202
    await _apply(local)
    rejects = [a for a in await _sent(local) if a["type"] == "Reject"]
    assert request["id"] in [r["object"]["id"] for r in rejects]


async def test_quoting_a_post_of_another_server(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    mia = remote.actor("mia")
    ned = remote.actor("ned")
    policyless = remote.note(mia, "<p>no policy</p>")
    quotable = remote.note(mia, "<p>quote me</p>", interactionPolicy=ANYONE)
    found = {}
    for note in (policyless, quotable):
        code, result = await get(api, alice, f"/api/v2/search?q={note['id']}&resolve=true")
        assert code == 200 and result["statuses"], result
        found[note["id"]] = result["statuses"][0]
    # Without a policy only its author may quote it (Mastodon's reading).
    assert found[policyless["id"]]["quote_approval"]["current_user"] == "denied"
    code, _ = await act(
        api, alice, "/api/v1/statuses", status="x", quoted_status_id=found[policyless["id"]]["id"]
    )
    assert code == 404
    assert found[quotable["id"]]["quote_approval"]["automatic"] == ["public"]
    # A policy naming someone else is beyond the flags: its server alone can tell.
    odd = remote.note(
        mia,
        "<p>odd policy</p>",
        interactionPolicy={"canQuote": {"automaticApproval": [ned.uri]}},
    )
    _, result = await get(api, alice, f"/api/v2/search?q={odd['id']}&resolve=true")
    approval = result["statuses"][0]["quote_approval"]
    assert approval == {
        "automatic": ["unsupported_policy"],
        "manual": [],
        "current_user": "unknown",
    }
    asked = await post(api, alice, "may I?", quoted_status_id=result["statuses"][0]["id"])
    assert asked["quote"]["state"] == "pending"

    quote = await post(api, alice, "quoting mia", quoted_status_id=found[quotable["id"]]["id"])
    assert quote["quote"] == {"state": "pending", "quoted_status": None}
    [request] = [
        a
        for a in await _sent(local)
        if a["type"] == "QuoteRequest" and a["object"] == quotable["id"]
    ]
    assert request["actor"] == f"{local.config.base_url}/users/alice"
    assert request["object"] == quotable["id"]
    assert request["instrument"]["id"] == quote["uri"]
    assert request["instrument"]["quote"] == quotable["id"]

    # An Accept from someone else changes nothing; mia's, with her stamp, approves it.
    stamp = f"{mia.uri}/quote_authorizations/1"
    for actor in (ned, mia):
        accept = remote.activity(actor, "Accept", request["id"], result=stamp)
        assert await deliver(api, local, actor, accept) == 202
        await _apply(local)
        _, seen = await get(api, alice, f"/api/v1/statuses/{quote['id']}")
        assert seen["quote"]["state"] == ("pending" if actor is ned else "accepted")
    response = await api.get(quote["uri"].removeprefix(local.config.base_url), headers=AP)
    served = await response.get_json()
    assert served["quoteAuthorization"] == stamp and served["quote"] == quotable["id"]
    # Those who have alice's post get the stamp too (an Update).
    assert any(
        a["type"] == "Update" and a["object"].get("quoteAuthorization") == stamp
        for a in await _sent(local)
    )

    # Mia deletes her stamp: the approval is gone.
    delete = remote.activity(mia, "Delete", stamp, to=[PUBLIC])
    assert await deliver(api, local, mia, delete) == 202
    await _apply(local)
    _, seen = await get(api, alice, f"/api/v1/statuses/{quote['id']}")
    assert seen["quote"] == {"state": "revoked", "quoted_status": None}


async def test_every_quote_document_is_defined_by_its_context(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    """What we send and serve for quotes, checked term by term by jsonld.js in safe mode:
    each signed with a throwaway key, so the signature check canonicalizes it."""
    alice = await make_user(local, api, "alice")
    mia = remote.actor("mia")
    closed = await post(api, alice, "mine alone", quote_approval_policy="nobody")
    asking = await post(
        api, alice, "ask me", quote_approval_policy={"automatic": [], "manual": ["public"]}
    )
    # Mia asks twice: refused for the closed post, left waiting, approved, then revoked.
    refused = remote.note(mia, "<p>no</p>", quote=closed["uri"])
    waiting = remote.note(mia, "<p>please</p>", quote=asking["uri"])
    for target, note in ((closed, refused), (asking, waiting)):
        request = await _request(remote, mia, target["uri"], note["id"])
        assert await deliver(api, local, mia, request) == 202
    await _apply(local)
    [row] = await rows(local, "SELECT id FROM statuses WHERE uri = $1", waiting["id"])
    decision = f"/api/v1/statuses/{asking['id']}/quotes/{row['id']}"
    assert (await act(api, alice, f"{decision}/authorize"))[0] == 200
    sent = await _sent(local)
    [accept] = [a for a in sent if a["type"] == "Accept"]
    response = await api.get(accept["result"].removeprefix(local.config.base_url), headers=AP)
    assert response.status_code == 200
    stamp = await response.get_json()
    assert (await act(api, alice, f"{decision}/revoke"))[0] == 200
    # Alice quotes a post of mia's: a QuoteRequest, and a Note naming the quote and policy.
    quotable = remote.note(mia, "<p>quote me</p>", interactionPolicy=ANYONE)
    _, found = await get(api, alice, f"/api/v2/search?q={quotable['id']}&resolve=true")
    quote = await post(api, alice, "quoting mia", quoted_status_id=found["statuses"][0]["id"])
    response = await api.get(quote["uri"].removeprefix(local.config.base_url), headers=AP)
    note = await response.get_json()
    assert note["interactionPolicy"] == {"canQuote": {"automaticApproval": [PUBLIC]}}
    sent = await _sent(local)
    documents = {a["type"]: a for a in sent if a["type"] in ("QuoteRequest", "Reject", "Delete")}
    assert set(documents) == {"QuoteRequest", "Reject", "Delete"}, [a["type"] for a in sent]
    assert documents["Delete"]["object"] == accept["result"]
    checked = [*documents.values(), accept, stamp, note]
    assert await unverified_when_signed(checked) == []
