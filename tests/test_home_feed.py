"""Home feeds: the home timeline is read from a feed the write paths keep, and the feed
changes with every input of the home timeline, on both backends.

Each check reads the home timeline through the API and the feed's rows, checks the feed is
current (so the answer came from it, not from the statuses), and compares both with the
home timeline computed from the statuses (`statuses.home_page`, what the timeline was
before feeds), which they equal but where Mastodon's boost rule keeps a boost out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config, pg_database
from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import add_follower, remote_account, remote_status, rows
from tests.social import PASSWORD, User, act, follow, follow_remote, get, make_user, post
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import account_settings, home_feed
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.services.tokens import issue_cli_token
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store import home_feeds as feed_rows
from wildebeest_trio.store import statuses as status_rows
from wildebeest_trio.store.migrate import migrate
from wildebeest_trio.store.paging import Page

pytest_plugins = ("tests.fakes.fixtures",)


async def _user(rt: Runtime, client: Any, name: str) -> User:
    return await make_user(rt, client, name)


@pytest.fixture
async def alice(rt: Runtime, client: Any) -> User:
    return await _user(rt, client, "alice")


@pytest.fixture
async def bob(rt: Runtime, client: Any, alice: User) -> User:
    return await _user(rt, client, "bob")


@pytest.fixture
async def carol(rt: Runtime, client: Any, bob: User) -> User:
    return await _user(rt, client, "carol")


@pytest.fixture
async def dave(rt: Runtime, client: Any, carol: User) -> User:
    return await _user(rt, client, "dave")


async def home(client: Any, user: User) -> list[str]:
    """The ids of the user's home timeline (a page of 40), through the API."""
    code, page = await get(client, user, "/api/v1/timelines/home?limit=40")
    assert code == 200, page
    return [s["id"] for s in page]


async def feed(rt: Runtime, user: User) -> list[str]:
    """The live statuses of the user's feed, newest first; the feed must be current."""
    state = await rt.store.read(feed_rows.state, int(user.id), now_ms())
    assert state.current, state
    found = await rows(
        rt,
        "SELECT h.status_id FROM home_feed_entries h JOIN statuses s ON s.id = h.status_id "
        "WHERE h.account_id = $1 AND s.deleted_at IS NULL ORDER BY h.status_id DESC",
        int(user.id),
    )
    return [str(r["status_id"]) for r in found]


async def computed(rt: Runtime, user: User) -> list[str]:
    """The home timeline computed from the statuses, as before feeds (40 newest)."""

    async def unit(conn: Connection) -> list[str]:
        found = await status_rows.home_page(conn, int(user.id), Page(limit=40), now_ms())
        return [str(r["id"]) for r in found]

    return await rt.store.read(unit)


async def check(
    client: Any, rt: Runtime, user: User, expected: list[str], *, kept_out: tuple[str, ...] = ()
) -> None:
    """The home timeline and the feed are `expected`; the timeline computed from the
    statuses is the same plus the boosts the boost rule keeps out (`kept_out`)."""
    assert await home(client, user) == expected
    assert await feed(rt, user) == expected
    assert sorted(await computed(rt, user)) == sorted([*expected, *kept_out])


def ids(*statuses: dict[str, Any]) -> list[str]:
    return [s["id"] for s in statuses]


async def boost(client: Any, user: User, status: dict[str, Any]) -> dict[str, Any]:
    code, body = await act(client, user, f"/api/v1/statuses/{status['id']}/reblog")
    assert code == 200, body
    return body


async def rebuild_jobs(rt: Runtime) -> int:
    return await drain(rt, [home_feed.REBUILD.name])


# Statuses ----------------------------------------------------------------------------------------


async def test_posts_boosts_and_deletes_reach_the_feed(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User, dave: User
) -> None:
    assert await home(client, alice) == []  # the first read builds the feed
    mine = await post(client, alice, "mine")
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    first = await post(client, bob, "bob's first")
    await check(client, rt, alice, ids(first, mine))

    # A boost of a status the feed shows near its top stays out (Mastodon's
    # REBLOG_FALLOFF), also for its booster's own home.
    kept_out = await boost(client, carol, first)
    await check(client, rt, alice, ids(first, mine), kept_out=(kept_out["id"],))
    own_boost = await boost(client, alice, first)
    await check(client, rt, alice, ids(first, mine), kept_out=(kept_out["id"], own_boost["id"]))
    await act(client, alice, f"/api/v1/statuses/{first['id']}/unreblog")

    # A boost of what the feed does not show joins it; a second boost of the same stays
    # out while the first is near the top, and takes its place when the first is undone.
    stranger = await post(client, dave, "dave is not followed")
    by_carol = await boost(client, carol, stranger)
    by_bob = await boost(client, bob, stranger)
    await check(
        client, rt, alice, ids(by_carol, first, mine), kept_out=(kept_out["id"], by_bob["id"])
    )
    await act(client, carol, f"/api/v1/statuses/{stranger['id']}/unreblog")
    await check(client, rt, alice, ids(by_bob, first, mine), kept_out=(kept_out["id"],))

    # Deleting a status takes it and its boosts out of every feed.
    response = await client.delete(f"/api/v1/statuses/{stranger['id']}", headers=dave.headers)
    assert response.status_code == 200
    await check(client, rt, alice, ids(first, mine), kept_out=(kept_out["id"],))
    response = await client.delete(f"/api/v1/statuses/{first['id']}", headers=bob.headers)
    assert response.status_code == 200
    await check(client, rt, alice, ids(mine))
    left = await rows(
        rt, "SELECT status_id FROM home_feed_entries WHERE status_id = $1", int(first["id"])
    )
    assert left == []

    # Replies: to followed accounts, to oneself and in one's own thread come in; to others
    # not (until they are followed: then they are merged in).
    to_dave = await post(
        client, bob, "@dave hi", in_reply_to_id=(await post(client, dave, "d"))["id"]
    )
    to_me = await post(client, bob, "@alice hi", in_reply_to_id=mine["id"])
    direct = await post(client, bob, "@alice secret", visibility="direct")
    not_me = await post(client, bob, "@carol secret", visibility="direct")
    await check(client, rt, alice, ids(direct, to_me, mine))
    assert not_me["id"] not in await feed(rt, alice)
    await follow(client, alice, dave)
    daves = [s["id"] for s in (await get(client, alice, f"/api/v1/accounts/{dave.id}/statuses"))[1]]
    await check(client, rt, alice, [direct["id"], to_me["id"], to_dave["id"], *daves, mine["id"]])


async def test_an_edit_adding_a_mention_brings_a_direct_status_in(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await follow(client, alice, bob)
    await home(client, alice)
    secret = await post(client, bob, "nobody yet", visibility="direct")
    await check(client, rt, alice, [])
    response = await client.put(
        f"/api/v1/statuses/{secret['id']}", headers=bob.headers, json={"status": "@alice now"}
    )
    assert response.status_code == 200
    await check(client, rt, alice, ids(secret))
    response = await client.put(
        f"/api/v1/statuses/{secret['id']}", headers=bob.headers, json={"status": "gone again"}
    )
    assert response.status_code == 200
    await check(client, rt, alice, [])


# Relationships ---------------------------------------------------------------------------------


async def test_follows_blocks_mutes_and_reblog_settings_change_the_feed(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User, dave: User
) -> None:
    await home(client, alice)
    before = await post(client, bob, "bob before the follow")
    await follow(client, alice, bob)  # merges what bob wrote
    await check(client, rt, alice, ids(before))
    await follow(client, alice, carol)
    carols = await post(client, carol, "carol")
    daves = await post(client, dave, "dave")
    boosted = await boost(client, bob, daves)
    await check(client, rt, alice, ids(boosted, carols, before))

    # A follow without boosts drops them; with boosts again, they are merged back.
    await act(client, alice, f"/api/v1/accounts/{bob.id}/follow", reblogs=False)
    await check(client, rt, alice, ids(carols, before))
    await act(client, alice, f"/api/v1/accounts/{bob.id}/follow", reblogs=True)
    await check(client, rt, alice, ids(boosted, carols, before))

    # Muting drops an account's statuses and boosts of them; unmuting makes the feed
    # stale: read from the statuses (the same answer) until the rebuild job ran.
    # (Both kinds of mute hide from home: this one leaves dave's notifications alone.)
    await act(client, alice, f"/api/v1/accounts/{dave.id}/mute", notifications=False)
    await check(client, rt, alice, ids(carols, before))
    await act(client, alice, f"/api/v1/accounts/{dave.id}/unmute")
    assert await home(client, alice) == ids(boosted, carols, before)
    assert not (await rt.store.read(feed_rows.state, int(alice.id), now_ms())).current
    assert await rebuild_jobs(rt) == 1
    await check(client, rt, alice, ids(boosted, carols, before))

    # Blocks hide both ways: dave blocking alice takes boosts of dave out of her home.
    await act(client, dave, f"/api/v1/accounts/{alice.id}/block")
    await check(client, rt, alice, ids(carols, before))
    await act(client, dave, f"/api/v1/accounts/{alice.id}/unblock")
    assert await home(client, alice) == ids(boosted, carols, before)
    assert await rebuild_jobs(rt) == 1
    await check(client, rt, alice, ids(boosted, carols, before))
    await follow(client, carol, alice)
    hers = await post(client, alice, "alice")
    await check(client, rt, carol, ids(hers, carols))
    await act(client, alice, f"/api/v1/accounts/{carol.id}/block")
    await check(client, rt, alice, ids(hers, boosted, before))
    await check(client, rt, carol, ids(carols))  # the blocked one loses alice's too

    # Unfollowing removes everything of bob's.
    await act(client, alice, f"/api/v1/accounts/{bob.id}/unfollow")
    await check(client, rt, alice, ids(hers))


async def test_a_deleted_account_leaves_every_feed(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await follow(client, alice, bob)
    mine = await post(client, alice, "mine")
    await post(client, bob, "bob")
    await post(client, bob, "@alice hi", in_reply_to_id=mine["id"])
    await check(client, rt, alice, (await computed(rt, alice)))
    await account_settings.delete_account(rt, int(bob.id), PASSWORD)
    left = await rows(
        rt,
        "SELECT h.status_id FROM home_feed_entries h JOIN statuses s ON s.id = h.status_id "
        "WHERE s.account_id = $1",
        int(bob.id),
    )
    assert left == []
    assert await home(client, alice) == ids(mine)  # her feed is rebuilt: the follow ended
    assert await rebuild_jobs(rt) == 1
    await check(client, rt, alice, ids(mine))


async def test_a_timed_mute_ends_with_its_statuses_back(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await follow(client, alice, bob)
    said = await post(client, bob, "bob")
    await check(client, rt, alice, ids(said))
    code, _ = await act(client, alice, f"/api/v1/accounts/{bob.id}/mute", duration=1)
    assert code == 200
    await check(client, rt, alice, [])
    await trio.sleep(1.1)
    assert await home(client, alice) == ids(said)  # from the statuses: the feed is stale
    assert await rebuild_jobs(rt) == 1
    await check(client, rt, alice, ids(said))


async def test_exclusive_lists_filters_and_hashtags(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    bobs = await post(client, bob, "bob on a list")
    carols = await post(client, carol, "carol about spiders")
    await check(client, rt, alice, ids(carols, bobs))

    _, listed = await act(client, alice, "/api/v1/lists", title="Bob", exclusive=True)
    base = f"/api/v1/lists/{listed['id']}"
    assert (await act(client, alice, base + "/accounts", account_ids=[bob.id]))[0] == 200
    await check(client, rt, alice, ids(carols))
    later = await post(client, bob, "bob again")
    await check(client, rt, alice, ids(carols))
    response = await client.put(base, headers=alice.headers, json={"exclusive": False})
    assert response.status_code == 200
    await check(client, rt, alice, ids(later, carols, bobs))
    response = await client.put(base, headers=alice.headers, json={"exclusive": True})
    assert response.status_code == 200
    await check(client, rt, alice, ids(carols))
    response = await client.delete(
        base + "/accounts", headers=alice.headers, json={"account_ids": [bob.id]}
    )
    assert response.status_code == 200
    await check(client, rt, alice, ids(later, carols, bobs))

    # A filter hiding a word hides at read time, as Mastodon: the feed keeps the status.
    code, created = await act(
        client,
        alice,
        "/api/v2/filters",
        title="Spiders",
        context=["home"],
        filter_action="hide",
        keywords_attributes=[{"keyword": "spiders"}],
    )
    assert code == 200, created
    assert await home(client, alice) == ids(later, bobs)
    assert await feed(rt, alice) == ids(later, carols, bobs)
    response = await client.delete(f"/api/v2/filters/{created['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert await home(client, alice) == ids(later, carols, bobs)

    # A followed hashtag brings public statuses from anyone; unfollowing takes them out.
    dave = await make_user(rt, client, "dave")
    tagged = await post(client, dave, "look #Cats")
    quiet = await post(client, dave, "#cats quietly", visibility="unlisted")
    assert (await act(client, alice, "/api/v1/tags/cats/follow"))[0] == 200
    await check(client, rt, alice, ids(tagged, later, carols, bobs))
    newer = await post(client, dave, "more #cats")
    await check(client, rt, alice, ids(newer, tagged, later, carols, bobs))
    assert quiet["id"] not in await feed(rt, alice)
    assert (await act(client, alice, "/api/v1/tags/cats/unfollow"))[0] == 200
    await check(client, rt, alice, ids(later, carols, bobs))


# Federation ------------------------------------------------------------------------------------


async def _status_id(local: Runtime, uri: str) -> str:
    found = await rows(local, "SELECT id FROM statuses WHERE uri = $1", uri)
    assert found, uri
    return str(found[0]["id"])


async def test_remote_posts_through_the_inbox_and_domain_blocks(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    assert await home(api, alice) == []
    bob = remote.actor("bob")
    note = remote.note(bob, content="<p>from afar</p>")
    await follow_remote(api, local, alice, bob)
    assert await deliver(api, local, bob, remote.activity(bob, "Create", note)) == 202
    await drain(local)
    remote_id = await _status_id(local, note["id"])
    await check(api, local, alice, [remote_id])

    # An Announce of a local status by a followed remote account.
    mine = await post(api, await make_user(local, api, "carol"), "carol's")
    announce = remote.activity(
        bob, "Announce", f"{local.config.base_url}/users/carol/statuses/{mine['id']}"
    )
    assert await deliver(api, local, bob, announce) == 202
    await drain(local)
    boost_id = await _status_id(local, announce["id"])
    await check(api, local, alice, [boost_id, remote_id])
    # Its Undo takes it out again.
    undo = remote.activity(bob, "Undo", announce)
    assert await deliver(api, local, bob, undo) == 202
    await drain(local)
    await check(api, local, alice, [remote_id])

    # Blocking the domain takes its statuses out (and ends the follow); unblocking does
    # not bring them back, the follow having ended.
    response = await api.post(
        "/api/v1/domain_blocks", headers=alice.headers, form={"domain": bob.host}
    )
    assert response.status_code == 200
    await check(api, local, alice, [])
    response = await api.open(
        "/api/v1/domain_blocks", method="DELETE", headers=alice.headers, form={"domain": bob.host}
    )
    assert response.status_code == 200
    assert await rebuild_jobs(local) == 0  # stale: rebuilt only once read
    assert await home(api, alice) == []
    assert await rebuild_jobs(local) == 1
    await check(api, local, alice, [])

    # A Delete takes a remote status out of every feed.
    await follow_remote(api, local, alice, bob)
    await check(api, local, alice, [remote_id])
    delete = remote.activity(bob, "Delete", {"id": note["id"], "type": "Tombstone"})
    assert await deliver(api, local, bob, delete) == 202
    await drain(local)
    await check(api, local, alice, [])


# Bounds and absence -------------------------------------------------------------------------------


async def test_a_feed_keeps_its_newest_800(
    rt: Runtime, client: Any, alice: User, bob: User, carol: User
) -> None:
    await follow(client, alice, bob)
    await home(client, alice)
    old = await post(client, carol, "older than what the feed will keep")
    posted = [(await post(client, bob, f"number {n}"))["id"] for n in range(810)]
    assert await home_feed.trim_feeds(rt) >= 1
    kept = await feed(rt, alice)
    assert kept == list(reversed(posted))[:800]
    # Paging through the home timeline ends with the 800th newest.
    seen: list[str] = []
    path = "/api/v1/timelines/home?limit=40"
    while True:
        code, page = await get(client, alice, path)
        assert code == 200
        if not page:
            break
        seen += [s["id"] for s in page]
        path = f"/api/v1/timelines/home?limit=40&max_id={page[-1]['id']}"
    assert seen == kept
    # A follow merges only what is newer than where the feed is complete.
    fresh = await post(client, carol, "newer")
    await follow(client, alice, carol)
    assert await feed(rt, alice) == [fresh["id"], *kept[:799]]
    assert old["id"] not in await home(client, alice)


async def test_a_feed_is_rebuilt_for_someone_back_after_a_week(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    await follow(client, alice, bob)
    said = await post(client, bob, "before")
    await check(client, rt, alice, ids(said))

    async def away(conn: Connection) -> None:
        await conn.execute(
            "UPDATE home_feeds SET read_at = $1 WHERE account_id = $2",
            now_ms() - feed_rows.AWAY_MS - 60_000,
            int(alice.id),
        )

    await rt.store.write(away)
    while_away = await post(client, bob, "while alice was away")
    # Writes skipped her feed (bob's own feed got it); upkeep empties hers.
    entries = await rows(
        rt, "SELECT account_id FROM home_feed_entries WHERE status_id = $1", int(while_away["id"])
    )
    assert [str(r["account_id"]) for r in entries] == [bob.id]
    assert await home_feed.clear_away(rt) == 1
    assert (
        await rows(rt, "SELECT * FROM home_feed_entries WHERE account_id = $1", int(alice.id)) == []
    )
    # Her first read answers from the statuses, complete, and asks for the rebuild.
    assert await home(client, alice) == ids(while_away, said)
    assert await rebuild_jobs(rt) == 1
    await check(client, rt, alice, ids(while_away, said))
    later = await post(client, bob, "back")
    await check(client, rt, alice, ids(later, while_away, said))


def test_the_boost_rule_counts_the_newest_entries_only() -> None:
    rule = feed_rows.shown_after_boost_rule
    assert rule([(1, None), (2, 1), (3, 1)]) == [1]
    assert rule([(1, None), (2, None), (3, 2)]) == [1, 2]
    spacer = [(10 + n, None) for n in range(feed_rows.REBLOG_FALLOFF)]
    assert rule([(1, None), *spacer, (100, 1)]) == [1, *[s for s, _ in spacer], 100]
    assert rule([(5, 1), (6, 1), (7, None)]) == [5, 7]


# Upgrading --------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def bare_database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from pg_database(request, migrated=False)


async def test_after_the_upgrade_every_home_is_built_by_its_first_read(
    bare_database: str, tmp_path: Path
) -> None:
    store = await open_store(bare_database, pg_pool_size=2)
    try:
        # every table today's code writes, only the home feeds missing, as before their release
        await migrate(store, leaving_out={20})
    finally:
        await store.aclose()
    config = make_config(tmp_path, bare_database)
    async with open_server_runtime(config, migrate=False) as rt:
        reader = await create_local_account(rt, "reader", "reader@example.org", password="x" * 12)
        writer = await remote_account(rt, "writer", "example.org")
        await add_follower(rt, reader.account_id, writer)
        for n in range(3):
            await remote_status(rt, writer, "example.org", f"<p>old {n}</p>")

        token = (await issue_cli_token(rt, "reader", "read write follow")).token
        user = User("reader", str(reader.account_id), token)
        expected = await computed(rt, user)  # the home timeline before the upgrade
        assert len(expected) == 3
        applied = await migrate(rt.store)
        assert [m.version for m in applied] == [20]
        await ensure_instance_keys(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            assert await home(client, user) == expected
            assert await feed(rt, user) == expected
            assert await rebuild_jobs(rt) == 0


async def test_a_status_deleted_under_its_feed_entry_leaves_a_shorter_page(
    rt: Runtime, client: Any, alice: User, bob: User
) -> None:
    """A page is the feed's entries, minus statuses deleted that the feed still names
    (a deletion whose feed clean-up has not run): the page is shorter, never refilled."""
    await follow(client, alice, bob)
    assert await home(client, alice) == []  # the feed built
    posted = [await post(client, bob, f"post {n}") for n in range(3)]
    assert await home(client, alice) == ids(*reversed(posted))

    async def delete_row_only(conn: Connection) -> None:
        await status_rows.mark_deleted(conn, int(posted[1]["id"]), now_ms())

    await rt.store.write(delete_row_only)
    code, page = await get(client, alice, "/api/v1/timelines/home?limit=2")
    assert code == 200 and [s["id"] for s in page] == [posted[2]["id"]]
    assert await home(client, alice) == ids(posted[2], posted[0])
