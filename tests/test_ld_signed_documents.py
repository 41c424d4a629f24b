"""Every kind of document the server LD-signs, checked as strict peers check it.

Fedify canonicalizes with jsonld.js in safe mode: a term the document's `@context` does
not define (ActivityStreams maps it to a blank node) fails canonicalization, and with it
the RsaSignature2017, so such an activity relayed or forwarded by another server is
refused wherever Fedify runs. Each kind of LD-signed activity is made here through the
API, taken from the delivery queue exactly as it would be POSTed, and checked by jsonld.js
in safe mode (under Node, `tests/js`) and by our own verifier.
"""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from quart.datastructures import FileStorage

from tests.fakes.remote import RemoteServer, account_on, distinct_ports
from tests.fakes.rows import add_follower, remote_status
from tests.jsonld_js import check_ld_signatures
from tests.social import PASSWORD, User, act, make_user, post
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.outbox import dispatch_pending
from wildebeest_trio.jsonld import verify_ld_signature
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import moves
from wildebeest_trio.services.account_settings import delete_account
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows

#: (activity type, object type) of every LD-signed kind, `link` for an object given by
#: its id: posts, polls and their tallies, edits, profiles, boosts and their undoing,
#: deletions of posts and accounts, moves.
SIGNED_KINDS = {
    ("Create", "Note"),
    ("Create", "Question"),
    ("Update", "Note"),
    ("Update", "Question"),
    ("Update", "Person"),
    ("Announce", "link"),
    ("Undo", "Announce"),
    ("Delete", "Tombstone"),
    ("Delete", "link"),
    ("Move", "link"),
}


def _kind(activity: dict[str, Any]) -> tuple[str, str]:
    obj = activity.get("object")
    return activity["type"], obj["type"] if isinstance(obj, dict) else "link"


async def _dispatch(rt: Runtime) -> None:
    """Turn the pending events into deliveries now, as the outbox consumer would (an event
    whose post is gone by the time it is read sends nothing)."""
    while (await dispatch_pending(rt))[0]:
        pass


async def _signed_bodies(rt: Runtime) -> list[dict[str, Any]]:
    """The distinct LD-signed bodies queued for delivery."""
    await _dispatch(rt)

    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT payload FROM jobs WHERE kind = $1", DELIVER.name)

    bodies = {json.loads(row["payload"])["body"] for row in await rt.store.read(unit)}
    activities = [json.loads(body) for body in sorted(bodies)]
    return [a for a in activities if "signature" in a]


async def _picture(client: Any, user: User) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, "JPEG")
    response = await client.post(
        "/api/v1/media",
        headers=user.headers,
        files={"file": FileStorage(io.BytesIO(out.getvalue()), "p.jpg", content_type="image/jpeg")},
        form={"description": "A green field", "focus": "0.5,-0.25"},
    )
    assert response.status_code in (200, 202), await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def _public_pem(rt: Runtime, name: str) -> str:
    row = await rt.store.read(account_rows.actor_by_uri, f"{rt.config.base_url}/users/{name}")
    assert row is not None
    return str(row["public_key_pem"])


async def test_every_ld_signed_activity_passes_jsonld_js_safe_mode(
    rt: Runtime, client: Any
) -> None:
    # Remote accounts whose inboxes receive the deliveries (queued, never sent here).
    hosts = RemoteServer(ports=distinct_ports(2))
    fan = await account_on(rt, hosts, 0, "fan")
    zoe = await account_on(rt, hosts, 1, "zoe")
    alice, bob, carol, dora = [
        await make_user(rt, client, n) for n in ("alice", "bob", "carol", "dora")
    ]
    for user in (alice, bob):
        await add_follower(rt, fan, int(user.id))
    keys = {
        f"{rt.config.base_url}/users/{u.name}#main-key": await _public_pem(rt, u.name)
        for u in (alice, bob, dora)
    }

    # A profile with fields; a post with everything a Note carries; a poll and a vote in it.
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={
            "display_name": "Alice",
            "note": "Down the rabbit hole",
            "fields_attributes": [{"name": "Home", "value": "https://example.org"}],
        },
    )
    assert response.status_code == 200
    zoes_uri = f"{hosts.origin(1)}/users/zoe/statuses/1"
    zoes = await remote_status(rt, zoe, "h1.test", "<p>remote</p>", uri=zoes_uri, url=zoes_uri)
    note = await post(
        client,
        alice,
        "Hello @zoe@h1.test #wonderland",
        in_reply_to_id=str(zoes),
        spoiler_text="a warning",
        language="en",
        media_ids=[await _picture(client, alice)],
    )
    await _dispatch(rt)
    poll = await post(
        client, alice, "Tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in": 3600}
    )
    code, _ = await act(client, carol, f"/api/v1/polls/{poll['poll']['id']}/votes", choices=[0])
    assert code == 200
    # Edited, boosted and unboosted, deleted.
    response = await client.put(
        f"/api/v1/statuses/{note['id']}", headers=alice.headers, json={"status": "Hello again"}
    )
    assert response.status_code == 200
    await _dispatch(rt)
    assert (await act(client, alice, f"/api/v1/statuses/{zoes}/reblog"))[0] == 200
    await _dispatch(rt)
    assert (await act(client, alice, f"/api/v1/statuses/{zoes}/unreblog"))[0] == 200
    response = await client.delete(f"/api/v1/statuses/{note['id']}", headers=alice.headers)
    assert response.status_code == 200
    # An alias (bob's profile names alice), a move, a deleted account.
    await moves.add_alias(rt, "bob", f"alice@{rt.config.domain}")
    await moves.start_move(rt, "alice", "bob")
    await delete_account(rt, int(dora.id), PASSWORD)

    signed = await _signed_bodies(rt)
    assert {_kind(a) for a in signed} == SIGNED_KINDS
    [create] = [a for a in signed if _kind(a) == ("Create", "Note")]
    assert create["object"]["attachment"][0]["focalPoint"] == [0.5, -0.25]
    assert create["object"]["inReplyTo"] == zoes_uri
    profiles = [a["object"] for a in signed if _kind(a) == ("Update", "Person")]
    assert any(p.get("alsoKnownAs") for p in profiles) and any(p["attachment"] for p in profiles)
    assert any(p.get("movedTo") for p in profiles)
    items = [(a, keys[a["signature"]["creator"]]) for a in signed]
    verdicts = await check_ld_signatures(items)
    refused = [
        (_kind(a), verdict["error"], a)
        for (a, _), verdict in zip(items, verdicts, strict=True)
        if verdict != {"verified": True}
    ]
    assert refused == []
    assert all(verify_ld_signature(a, pem) for a, pem in items)
