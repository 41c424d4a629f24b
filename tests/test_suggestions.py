"""Follow suggestions: friends of friends first, then popular local accounts, minus
everyone the user already knows, blocks, mutes or dismissed."""

from __future__ import annotations

from typing import Any

from tests.fakes.rows import accept_our_request, remote_account
from tests.social import act, follow, get, make_user, token_with
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection


async def test_suggestions_come_from_the_graph(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    cid = await make_user(rt, client, "cid")
    dan = await make_user(rt, client, "dan")
    eve = await make_user(rt, client, "eve")
    fay = await make_user(rt, client, "fay")
    remote = await remote_account(rt, "zed", "remote.example")
    hidden = await make_user(rt, client, "hid")

    async def undiscoverable(conn: Connection) -> None:
        await conn.execute("UPDATE accounts SET discoverable = FALSE WHERE id = $1", int(hidden.id))

    await rt.store.write(undiscoverable)
    await follow(client, ann, bob)
    await follow(client, ann, cid)
    await follow(client, bob, dan)
    await follow(client, cid, dan)
    await follow(client, bob, hidden)
    assert (await act(client, bob, f"/api/v1/accounts/{remote}/follow"))[0] == 200
    await accept_our_request(rt, int(bob.id), remote)
    await follow(client, dan, eve)  # eve: the most followed local account not yet known
    await follow(client, fay, eve)

    code, body = await get(client, ann, "/api/v2/suggestions")
    assert code == 200
    got = [(s["account"]["id"], s["sources"], s["source"]) for s in body]
    # dan is followed by two of ann's follows, zed by one; then local popularity.
    assert got[0] == (dan.id, ["friends_of_friends", "most_followed"], "past_interactions")
    assert got[1] == (str(remote), ["friends_of_friends"], "past_interactions")
    assert got[2] == (eve.id, ["most_followed"], "global")
    ids = [g[0] for g in got]
    assert ann.id not in ids and bob.id not in ids and cid.id not in ids
    assert hidden.id not in ids and fay.id in ids
    assert body[0]["account"]["acct"] == "dan"

    code, accounts = await get(client, ann, "/api/v1/suggestions?limit=2")
    assert [a["id"] for a in accounts] == [dan.id, str(remote)]

    response = await client.delete(f"/api/v1/suggestions/{dan.id}", headers=ann.headers)
    assert response.status_code == 200 and await response.get_json() == {}
    assert (await act(client, ann, f"/api/v1/accounts/{eve.id}/block"))[0] == 200
    assert (await act(client, ann, f"/api/v1/accounts/{fay.id}/mute"))[0] == 200
    code, body = await get(client, ann, "/api/v2/suggestions")
    ids = [s["account"]["id"] for s in body]
    assert ids[0] == str(remote)
    assert dan.id not in ids and eve.id not in ids and fay.id not in ids


async def test_suggestion_errors(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    assert (await client.delete("/api/v1/suggestions/999", headers=ann.headers)).status_code == 404
    assert (await client.delete("/api/v1/suggestions/x", headers=ann.headers)).status_code == 404
    write_only = await token_with(client, ann, "write")
    response = await client.get(
        "/api/v2/suggestions", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    read_only = await token_with(client, ann, "read")
    response = await client.delete(
        f"/api/v1/suggestions/{ann.id}", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
    assert (await client.get("/api/v2/suggestions")).status_code == 401
