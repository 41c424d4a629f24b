"""Every local action through the Mastodon API reaches the right remote inboxes, signed.

Fake remote hosts (one app on many ports) verify each POST's HTTP signature with the
sender's key; public posts and Deletes must also carry a valid RsaSignature2017.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer, account_on, trust_local_key, wait_for
from tests.fakes.rows import add_follower
from tests.social import User, act, make_user, post
from wildebeest_trio.config import Config
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.outbox import dispatch_pending, run_outbox
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.jsonld import verify_ld_signature
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.serializers.activitypub import AS_PUBLIC
from wildebeest_trio.services.domain_blocks import block_domain
from wildebeest_trio.store import Connection
from wildebeest_trio.store import follows as follow_rows
from wildebeest_trio.store import statuses as status_rows

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url, allow_private_addresses=True)


@pytest.fixture
async def alice(rt: Runtime, client: Any, hosts: RemoteServer) -> AsyncIterator[User]:
    user = await make_user(rt, client, "alice")
    await trust_local_key(rt, hosts, "alice")
    yield user


@pytest.fixture
async def federating(rt: Runtime, nursery: trio.Nursery) -> None:
    """The outbox consumer and delivery workers, as `serve` runs them."""
    nursery.start_soon(run_outbox, rt)
    nursery.start_soon(run_workers, rt, 4)


async def _jobs(rt: Runtime) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return await conn.fetch("SELECT * FROM jobs WHERE kind = $1", DELIVER.name)

    return await rt.store.read(unit)


async def _pending_events(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL"))

    return await rt.store.read(unit)


async def test_public_post_goes_once_to_each_followers_server(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    pem = hosts.keys[f"{rt.config.base_url}/users/alice#main-key"]
    # Two followers share host 0's shared inbox; host 1 publishes no shared inbox.
    for name in ("bob", "carol"):
        await add_follower(rt, await account_on(rt, hosts, 0, name), int(alice.id))
    dave = await account_on(rt, hosts, 1, "dave", shared_inbox=False)
    await add_follower(rt, dave, int(alice.id))
    await account_on(rt, hosts, 2, "erin")  # known, not a follower

    status = await post(client, alice, "Hello #fediverse")
    await wait_for(lambda: len(hosts.received) >= 2)
    await trio.sleep(0.2)  # nothing more arrives
    assert [d.path for d in hosts.at(0)] == ["/inbox"]
    assert [d.path for d in hosts.at(1)] == ["/users/dave/inbox"]
    assert hosts.at(2) == [] and hosts.refused == []
    create = hosts.at(0)[0].activity
    assert create["type"] == "Create"
    assert create["actor"] == f"{rt.config.base_url}/users/alice"
    assert create["to"] == [AS_PUBLIC]
    assert create["cc"] == [f"{rt.config.base_url}/users/alice/followers"]
    note = create["object"]
    assert note["id"] == status["uri"] and note["type"] == "Note"
    assert note["url"] == status["url"]
    assert {"type": "Hashtag", "name": "#fediverse"}.items() <= note["tag"][0].items()
    assert create["signature"]["type"] == "RsaSignature2017"
    assert verify_ld_signature(create, pem)
    assert hosts.at(0)[0].key_id == f"{rt.config.base_url}/users/alice#main-key"


async def test_private_reaches_followers_and_direct_only_the_mentioned(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    follower = await account_on(rt, hosts, 0, "bob")
    await add_follower(rt, follower, int(alice.id))
    await account_on(rt, hosts, 1, "carol", domain="carol.test")

    private = await post(client, alice, "for followers", visibility="private")
    await wait_for(lambda: len(hosts.received) >= 1)
    direct = await post(client, alice, "hi @carol@carol.test", visibility="direct")
    await wait_for(lambda: len(hosts.received) >= 2)
    await trio.sleep(0.2)
    [to_followers] = hosts.at(0)
    assert to_followers.activity["object"]["id"] == private["uri"]
    assert to_followers.activity["to"] == [f"{rt.config.base_url}/users/alice/followers"]
    assert to_followers.activity["cc"] == []
    assert "signature" not in to_followers.activity  # only public posts are LD-signed
    [to_mentioned] = hosts.at(1)
    carol_uri = f"{hosts.origin(1)}/users/carol"
    assert to_mentioned.activity["object"]["id"] == direct["uri"]
    assert to_mentioned.activity["to"] == [carol_uri] and to_mentioned.activity["cc"] == []
    assert {"type": "Mention", "href": carol_uri, "name": "@carol@carol.test"} in (
        to_mentioned.activity["object"]["tag"]
    )


async def test_edit_and_delete(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    pem = hosts.keys[f"{rt.config.base_url}/users/alice#main-key"]
    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), int(alice.id))
    status = await post(client, alice, "first")
    await wait_for(lambda: len(hosts.received) >= 1)
    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "second"}
    )
    assert response.status_code == 200
    await wait_for(lambda: len(hosts.received) >= 2)
    update = hosts.received[1].activity
    assert update["type"] == "Update" and update["object"]["content"] == "<p>second</p>"
    assert update["object"]["updated"]
    assert update["id"].startswith(f"{status['uri']}#updates/")
    assert verify_ld_signature(update, pem)
    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    await wait_for(lambda: len(hosts.received) >= 3)
    delete = hosts.received[2].activity
    assert delete["type"] == "Delete" and delete["id"] == f"{status['uri']}#delete"
    assert delete["object"] == {"id": status["uri"], "type": "Tombstone", "atomUri": status["uri"]}
    assert verify_ld_signature(delete, pem)


async def _remote_status(rt: Runtime, author_id: int, uri: str) -> int:
    status_id = rt.ids.next_id()
    now = now_ms()
    await rt.store.write(
        status_rows.insert_status,
        {
            "id": status_id,
            "uri": uri,
            "url": uri,
            "account_id": author_id,
            "local": False,
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "reblog_of_id": None,
            "text": "",
            "content": "<p>remote</p>",
            "spoiler_text": "",
            "sensitive": False,
            "visibility": "public",
            "language": None,
            "application_id": None,
            "conversation_id": status_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    return status_id


async def test_favourite_and_boost_and_their_undos(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    pem = hosts.keys[f"{rt.config.base_url}/users/alice#main-key"]
    author = await account_on(rt, hosts, 1, "carol")
    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), int(alice.id))
    uri = f"{hosts.origin(1)}/users/carol/statuses/1"
    status_id = await _remote_status(rt, author, uri)
    actor = f"{rt.config.base_url}/users/alice"

    assert (await act(client, alice, f"/api/v1/statuses/{status_id}/favourite"))[0] == 200
    await wait_for(lambda: len(hosts.of_type("Like")) == 1)
    [like] = hosts.of_type("Like")
    assert like.path == "/users/carol/inbox"  # Mastodon sends a Like to the author's inbox
    assert like.activity["object"] == uri and like.activity["actor"] == actor
    assert (await act(client, alice, f"/api/v1/statuses/{status_id}/unfavourite"))[0] == 200
    await wait_for(lambda: len(hosts.of_type("Undo")) == 1)
    [undo] = hosts.of_type("Undo")
    assert undo.activity["object"]["type"] == "Like"
    assert undo.activity["object"]["id"] == like.activity["id"]

    code, boost = await act(client, alice, f"/api/v1/statuses/{status_id}/reblog")
    assert code == 200
    await wait_for(lambda: len(hosts.of_type("Announce")) == 2)
    announces = hosts.of_type("Announce")
    assert {d.port for d in announces} == {hosts.ports[0], hosts.ports[1]}
    announce = announces[0].activity
    assert announce["object"] == uri and announce["id"] == boost["uri"]
    assert announce["to"] == [AS_PUBLIC]
    assert announce["cc"] == [f"{hosts.origin(1)}/users/carol", f"{actor}/followers"]
    assert verify_ld_signature(announce, pem)
    assert (await act(client, alice, f"/api/v1/statuses/{status_id}/unreblog"))[0] == 200
    await wait_for(lambda: len(hosts.of_type("Undo")) == 3)
    undo_announce = [d for d in hosts.of_type("Undo") if d.activity["object"]["type"] == "Announce"]
    assert len(undo_announce) == 2
    assert undo_announce[0].activity["object"]["id"] == boost["uri"]
    assert verify_ld_signature(undo_announce[0].activity, pem)


async def test_follow_unfollow_block_unblock(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    target = await account_on(rt, hosts, 2, "zed")
    target_uri = f"{hosts.origin(2)}/users/zed"
    actor = f"{rt.config.base_url}/users/alice"
    assert (await act(client, alice, f"/api/v1/accounts/{target}/follow"))[0] == 200
    await wait_for(lambda: len(hosts.received) == 1)
    follow = hosts.received[0]
    assert follow.path == "/users/zed/inbox"
    assert follow.activity["type"] == "Follow" and follow.activity["object"] == target_uri
    # The request remembers the Follow's id, so the remote Accept can be matched to it.
    row = await rt.store.read(follow_rows.request_row, int(alice.id), target)
    assert row is not None and row["uri"] == follow.activity["id"]

    assert (await act(client, alice, f"/api/v1/accounts/{target}/unfollow"))[0] == 200
    await wait_for(lambda: len(hosts.received) == 2)
    undo = hosts.received[1].activity
    assert undo["type"] == "Undo" and undo["object"]["id"] == follow.activity["id"]
    assert undo["object"]["type"] == "Follow" and undo["actor"] == actor

    assert (await act(client, alice, f"/api/v1/accounts/{target}/block"))[0] == 200
    await wait_for(lambda: len(hosts.received) == 3)
    block = hosts.received[2].activity
    assert block["type"] == "Block" and block["object"] == target_uri
    assert (await act(client, alice, f"/api/v1/accounts/{target}/unblock"))[0] == 200
    await wait_for(lambda: len(hosts.received) == 4)
    unblock = hosts.received[3].activity
    assert unblock["type"] == "Undo" and unblock["object"]["id"] == block["id"]
    assert all(d.path == "/users/zed/inbox" for d in hosts.received)


async def test_accept_and_reject_follow_requests(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"locked": True}
    )
    assert response.status_code == 200
    requesters = [await account_on(rt, hosts, i, f"r{i}") for i in (0, 1)]

    async def ask(conn: Connection) -> None:
        for i, requester in enumerate(requesters):
            await follow_rows.insert_request(
                conn,
                {
                    "id": rt.ids.next_id(),
                    "account_id": requester,
                    "target_account_id": int(alice.id),
                    "uri": f"{hosts.origin(i)}/follows/{i}",
                    "show_reblogs": True,
                    "notify": False,
                    "created_at": now_ms(),
                },
            )

    await rt.store.write(ask)
    path = "/api/v1/follow_requests"
    assert (await act(client, alice, f"{path}/{requesters[0]}/authorize"))[0] == 200
    assert (await act(client, alice, f"{path}/{requesters[1]}/reject"))[0] == 200
    await wait_for(lambda: len(hosts.of_type("Accept")) == 1 and len(hosts.of_type("Reject")) == 1)
    [accept], [reject] = hosts.of_type("Accept"), hosts.of_type("Reject")
    assert accept.path == "/users/r0/inbox" and reject.path == "/users/r1/inbox"
    assert accept.activity["object"]["id"] == f"{hosts.origin(0)}/follows/0"
    assert accept.activity["object"]["actor"] == f"{hosts.origin(0)}/users/r0"
    assert reject.activity["object"]["id"] == f"{hosts.origin(1)}/follows/1"


async def test_profile_update_and_pins_reach_followers(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    pem = hosts.keys[f"{rt.config.base_url}/users/alice#main-key"]
    await add_follower(rt, await account_on(rt, hosts, 3, "bob"), int(alice.id))
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"display_name": "Alice Liddell"},
    )
    assert response.status_code == 200
    await wait_for(lambda: len(hosts.received) == 1)
    update = hosts.received[0].activity
    assert update["type"] == "Update" and update["object"]["type"] == "Person"
    assert update["object"]["name"] == "Alice Liddell"
    assert verify_ld_signature(update, pem)

    status = await post(client, alice, "pin me")
    await wait_for(lambda: len(hosts.received) == 2)
    assert (await act(client, alice, f"/api/v1/statuses/{status['id']}/pin"))[0] == 200
    assert (await act(client, alice, f"/api/v1/statuses/{status['id']}/unpin"))[0] == 200
    await wait_for(lambda: len(hosts.received) == 4)
    add, remove = hosts.received[2].activity, hosts.received[3].activity
    assert add["type"] == "Add" and remove["type"] == "Remove"
    assert add["object"] == status["uri"]
    assert add["target"] == f"{rt.config.base_url}/users/alice/collections/featured"


async def test_local_only_and_suspended_domains_get_nothing(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User
) -> None:
    bob = await make_user(rt, client, "bob")
    await add_follower(rt, int(bob.id), int(alice.id))
    blocked = await account_on(rt, hosts, 0, "eve")
    await add_follower(rt, blocked, int(alice.id))

    async def suspend(conn: Connection) -> None:
        await block_domain(conn, rt.ids, "127.0.0.1", severity="suspend")

    await rt.store.write(suspend)
    await post(client, alice, "local news")
    handled, queued = await dispatch_pending(rt)
    assert handled >= 1 and queued == 0
    assert await _jobs(rt) == [] and await _pending_events(rt) == 0


async def _bodies(rt: Runtime) -> list[dict[str, Any]]:
    import json

    return [json.loads(job["payload"])["body"] for job in await _jobs(rt)]


async def test_authorized_fetch_signs_only_deletes(
    tmp_path: Path, database_url: str, hosts: RemoteServer
) -> None:
    import json

    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.federation.outbox import purge_dispatched
    from wildebeest_trio.services import statuses
    from wildebeest_trio.services.accounts import create_local_account

    config = make_config(tmp_path / "af", database_url, authorized_fetch=True)
    async with open_server_runtime(config) as rt:
        created = await create_local_account(rt, "alice", "a@example.org", password="pw-123456")
        await add_follower(rt, await account_on(rt, hosts, 0, "bob"), created.account_id)
        bundle = await statuses.post(rt, created.account_id, statuses.Draft(text="hello"))
        await dispatch_pending(rt)
        await statuses.delete(rt, created.account_id, bundle.order[0])
        await dispatch_pending(rt)
        activities = {a["type"]: a for a in map(json.loads, await _bodies(rt))}
        # As Mastodon in secure mode: no LD signature but on a Delete (`always_sign`).
        assert "signature" not in activities["Create"]
        assert activities["Delete"]["signature"]["type"] == "RsaSignature2017"
        # Dispatched events are kept a week, then forgotten.
        assert await purge_dispatched(rt) == 0

        async def age(conn: Connection) -> None:
            await conn.execute("UPDATE outbox SET dispatched_at = 1")

        await rt.store.write(age)
        assert await purge_dispatched(rt) == 2


async def test_polls_federate_as_questions_and_votes(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    from wildebeest_trio.store import polls as poll_rows

    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), int(alice.id))
    carol = await make_user(rt, client, "carol")
    # A local poll: followers' servers get a Question, then its tallies after a vote.
    status = await post(
        client, alice, "Tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in": 3600}
    )
    await wait_for(lambda: len(hosts.received) == 1)
    question = hosts.received[0].activity["object"]
    assert question["type"] == "Question" and question["endTime"]
    assert [o["name"] for o in question["oneOf"]] == ["tea", "coffee"]
    poll_id = status["poll"]["id"]
    code, _ = await act(client, carol, f"/api/v1/polls/{poll_id}/votes", choices=[1])
    assert code == 200
    await wait_for(lambda: len(hosts.received) == 2)
    update = hosts.received[1].activity
    assert update["type"] == "Update" and update["object"]["type"] == "Question"
    assert [o["replies"]["totalItems"] for o in update["object"]["oneOf"]] == [0, 1]
    assert hosts.received[1].key_id == f"{rt.config.base_url}/users/alice#main-key"

    # A remote poll: the vote is a Create of a Note named after the option, to its author.
    author = await account_on(rt, hosts, 1, "pollster")
    uri = f"{hosts.origin(1)}/users/pollster/statuses/9"
    remote_status = await _remote_status(rt, author, uri)
    remote_poll = rt.ids.next_id()

    async def add_poll(conn: Connection) -> None:
        await poll_rows.insert_poll(
            conn,
            {
                "id": remote_poll,
                "account_id": author,
                "status_id": remote_status,
                "options": ["yes", "no"],
                "multiple": False,
                "hide_totals": False,
                "expires_at": now_ms() + 3_600_000,
                "created_at": now_ms(),
            },
        )

    await rt.store.write(add_poll)
    code, body = await act(client, alice, f"/api/v1/polls/{remote_poll}/votes", choices=[0])
    assert code == 200, body
    await wait_for(lambda: len(hosts.at(1)) == 1)
    [vote] = hosts.at(1)
    assert vote.path == "/users/pollster/inbox"
    assert vote.activity["type"] == "Create"
    assert vote.activity["object"]["name"] == "yes"
    assert vote.activity["object"]["inReplyTo"] == uri
    assert vote.activity["object"]["to"] == [f"{hosts.origin(1)}/users/pollster"]


async def test_a_forwarded_report_goes_as_a_flag_from_the_instance_actor(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    from wildebeest_trio.federation.instance_actor import ensure_instance_actor, instance_actor

    await ensure_instance_actor(rt)
    actor = await instance_actor(rt)
    assert actor is not None
    hosts.keys[f"{actor['uri']}#main-key"] = actor["public_key_pem"]
    spammer = await account_on(rt, hosts, 0, "spammer")
    code, report = await act(
        client, alice, "/api/v1/reports", account_id=str(spammer), comment="spam", forward=True
    )
    assert code == 200, report
    await wait_for(lambda: len(hosts.received) >= 1)
    [flag] = hosts.at(0)
    assert flag.activity["type"] == "Flag"
    assert flag.activity["actor"] == actor["uri"]  # not alice: reporters stay anonymous
    assert flag.activity["object"] == [f"{hosts.origin(0)}/users/spammer"]
    assert flag.activity["content"] == "spam"
    assert flag.key_id == f"{actor['uri']}#main-key"


async def test_a_deleted_account_sends_delete_to_every_known_server(
    rt: Runtime, client: Any, hosts: RemoteServer, alice: User, federating: None
) -> None:
    from tests.social import PASSWORD
    from wildebeest_trio.services.account_settings import delete_account

    pem = hosts.keys[f"{rt.config.base_url}/users/alice#main-key"]
    await add_follower(rt, await account_on(rt, hosts, 0, "bob"), int(alice.id))
    await account_on(rt, hosts, 1, "carol")  # known, not a follower
    await delete_account(rt, int(alice.id), PASSWORD)
    await wait_for(lambda: len(hosts.received) >= 2)
    for index in (0, 1):
        [delete] = hosts.at(index)
        assert delete.activity["type"] == "Delete"
        assert delete.activity["object"] == f"{rt.config.base_url}/users/alice"
        assert verify_ld_signature(delete.activity, pem)
