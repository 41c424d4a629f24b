"""Notifications through the Mastodon API: made by local actions, listed, grouped,
dismissed, counted against the marker, and filtered by the notification policy."""

from __future__ import annotations

from typing import Any

from tests.oauth_flow import app_only_token
from tests.social import User, act, follow, get, make_user, post, token_with
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import Connection


async def _notes(client: Any, user: User, query: str = "") -> list[dict[str, Any]]:
    status, body = await get(client, user, f"/api/v1/notifications{query}")
    assert status == 200, body
    return body


def _types(notes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(n["type"], n["account"]["username"]) for n in notes]


async def test_each_local_action_notifies_with_mastodons_fields(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")

    await follow(client, bob, alice)
    status, _ = await act(client, alice, f"/api/v1/accounts/{bob.id}/follow", notify=True)
    assert status == 200
    mention = await post(client, bob, "hello @alice")
    mine = await post(client, alice, "something to like")
    assert (await act(client, carol, f"/api/v1/statuses/{mine['id']}/favourite"))[0] == 200
    assert (await act(client, carol, f"/api/v1/statuses/{mine['id']}/reblog"))[0] == 200

    notes = await _notes(client, alice)
    assert _types(notes) == [
        ("reblog", "carol"),
        ("favourite", "carol"),
        ("status", "bob"),
        ("mention", "bob"),
        ("follow", "bob"),
    ]
    by_type = {n["type"]: n for n in notes}
    assert by_type["mention"]["status"]["id"] == mention["id"]
    assert by_type["status"]["status"]["id"] == mention["id"]
    # A boost notification carries the boosted status, not the boost.
    assert by_type["reblog"]["status"]["id"] == mine["id"]
    assert by_type["favourite"]["status"]["favourites_count"] == 1
    assert by_type["favourite"]["group_key"].startswith(f"favourite-{mine['id']}-")
    assert by_type["mention"]["group_key"] == f"ungrouped-{by_type['mention']['id']}"
    follow_note = by_type["follow"]
    assert "status" not in follow_note and "filtered" not in follow_note
    assert follow_note["account"]["id"] == bob.id
    assert follow_note["created_at"].endswith("Z")
    # Bob was told that alice follows him; the follow from bob to alice is his own.
    assert _types(await _notes(client, bob)) == [("follow", "alice")]

    # An edit tells those who boosted the status (not for a new post).
    edited = await client.put(
        f"/api/v1/statuses/{mine['id']}", headers=alice.headers, json={"status": "edited"}
    )
    assert edited.status_code == 200
    carol_notes = await _notes(client, carol)
    assert _types(carol_notes) == [("update", "alice")]
    assert carol_notes[0]["status"]["content"] == "<p>edited</p>"

    # A locked account gets follow requests.
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=carol.headers, json={"locked": True}
    )
    assert response.status_code == 200
    await follow(client, bob, carol)
    assert _types(await _notes(client, carol))[0] == ("follow_request", "bob")
    me = await get(client, carol, "/api/v1/accounts/verify_credentials")
    assert me[1]["source"]["follow_requests_count"] == 1

    one = await get(client, alice, f"/api/v1/notifications/{by_type['mention']['id']}")
    assert one == (200, by_type["mention"])
    # Another user's notification is not found.
    assert (await get(client, bob, f"/api/v1/notifications/{notes[0]['id']}"))[0] == 404


async def test_sign_ups_notify_admins_and_moderators(rt: Runtime, client: Any) -> None:
    await create_local_account(
        rt, "boss", "boss@example.org", password="correct horse battery", role="admin"
    )
    boss_token = await _password_token(client, "boss")
    plain = await make_user(rt, client, "plain")
    app = await app_only_token(client)
    response = await client.post(
        "/api/v1/accounts",
        headers={"Authorization": f"Bearer {app}"},
        form={
            "username": "newbie",
            "email": "newbie@example.org",
            "password": "long enough pw",
            "agreement": "true",
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    boss = User("boss", "", boss_token)
    notes = await _notes(client, boss)
    assert _types(notes) == [("admin.sign_up", "newbie")]
    assert "status" not in notes[0]
    assert await _notes(client, plain) == []


async def _password_token(client: Any, name: str) -> str:
    from tests.oauth_flow import register_app, token_for

    app = await register_app(client)
    token = await token_for(client, app, f"{name}@example.org", "correct horse battery")
    client.cookie_jar.clear()
    return token


async def test_undoing_withdraws_and_deleting_hides(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    mine = await post(client, alice, "mine")
    await act(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await act(client, bob, f"/api/v1/statuses/{mine['id']}/reblog")
    await follow(client, bob, alice)
    assert {t for t, _ in _types(await _notes(client, alice))} == {"favourite", "reblog", "follow"}

    await act(client, bob, f"/api/v1/statuses/{mine['id']}/unfavourite")
    await act(client, bob, f"/api/v1/statuses/{mine['id']}/unreblog")
    await act(client, bob, f"/api/v1/accounts/{alice.id}/unfollow")
    assert await _notes(client, alice) == []

    # Requests answered either way take their notification with them.
    await client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"locked": True}
    )
    await follow(client, bob, alice)
    await follow(client, carol, alice)
    assert len(await _notes(client, alice)) == 2
    assert (await act(client, alice, f"/api/v1/follow_requests/{bob.id}/authorize"))[0] == 200
    assert (await act(client, alice, f"/api/v1/follow_requests/{carol.id}/reject"))[0] == 200
    assert await _notes(client, alice) == []

    # A deleted status takes its notifications out of the list.
    liked = await post(client, alice, "liked then deleted")
    await act(client, carol, f"/api/v1/statuses/{liked['id']}/favourite")
    assert len(await _notes(client, alice)) == 1
    assert (
        await client.delete(f"/api/v1/statuses/{liked['id']}", headers=alice.headers)
    ).status_code == 200
    assert await _notes(client, alice) == []

    # A block clears what the blocked account caused.
    await act(client, carol, f"/api/v1/statuses/{mine['id']}/favourite")
    assert len(await _notes(client, alice)) == 1
    await act(client, alice, f"/api/v1/accounts/{carol.id}/block")
    assert await _notes(client, alice) == []


async def test_mutes_and_muted_conversations_send_nothing(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    await act(client, alice, f"/api/v1/accounts/{bob.id}/mute")
    mine = await post(client, alice, "thread start")
    await act(client, bob, f"/api/v1/statuses/{mine['id']}/favourite")
    await act(client, alice, f"/api/v1/statuses/{mine['id']}/mute")
    await post(client, carol, "@alice replying", in_reply_to_id=mine["id"])
    assert await _notes(client, alice) == []
    # Muting without notifications still lets them through.
    await act(client, alice, f"/api/v1/accounts/{carol.id}/mute", notifications=False)
    other = await post(client, alice, "another thread")
    await act(client, carol, f"/api/v1/statuses/{other['id']}/favourite")
    assert _types(await _notes(client, alice)) == [("favourite", "carol")]


async def test_types_account_and_pagination(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    statuses = [await post(client, alice, f"post {i}") for i in range(3)]
    for s in statuses:
        await act(client, bob, f"/api/v1/statuses/{s['id']}/favourite")
    await post(client, carol, "hi @alice")
    await follow(client, carol, alice)

    all_notes = await _notes(client, alice)
    assert len(all_notes) == 5
    favs = await _notes(client, alice, "?types[]=favourite")
    assert [n["type"] for n in favs] == ["favourite"] * 3
    several = await _notes(client, alice, "?types[]=follow&types[]=mention")
    assert {n["type"] for n in several} == {"follow", "mention"}
    others = await _notes(client, alice, "?exclude_types[]=favourite&exclude_types[]=follow")
    assert [n["type"] for n in others] == ["mention"]
    assert await _notes(client, alice, "?types[]=nonsense") == []
    from_carol = await _notes(client, alice, f"?account_id={carol.id}")
    assert {n["account"]["username"] for n in from_carol} == {"carol"}
    status, body = await get(client, alice, "/api/v1/notifications?account_id=nope")
    assert status == 422 and "error" in body

    # Walk by two: each once, newest first; next carries max_id, prev min_id.
    seen: list[str] = []
    url = "/api/v1/notifications?limit=2"
    while True:
        response = await client.get(url, headers=alice.headers)
        page = await response.get_json()
        if not page:
            assert "Link" not in response.headers
            break
        seen += [n["id"] for n in page]
        link = response.headers["Link"]
        assert 'rel="next"' in link and "max_id=" in link and "min_id=" in link
        url = link.split(";")[0].strip("<>").split("://", 1)[1]
        url = url[url.index("/") :]
    assert seen == [n["id"] for n in all_notes]
    newer = await _notes(client, alice, f"?min_id={all_notes[3]['id']}&limit=2")
    assert [n["id"] for n in newer] == [all_notes[1]["id"], all_notes[2]["id"]]
    since = await _notes(client, alice, f"?since_id={all_notes[3]['id']}&limit=2")
    assert [n["id"] for n in since] == [all_notes[0]["id"], all_notes[1]["id"]]
    assert len(await _notes(client, alice, "?limit=500")) == 5


async def test_dismiss_clear_and_unread_count(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    statuses = [await post(client, alice, f"post {i}") for i in range(4)]
    for s in statuses:
        await act(client, bob, f"/api/v1/statuses/{s['id']}/favourite")
    notes = await _notes(client, alice)
    assert (await get(client, alice, "/api/v1/notifications/unread_count"))[1] == {"count": 4}
    # After the marker: only the newer ones count.
    status, _ = await act(
        client, alice, "/api/v1/markers", notifications={"last_read_id": notes[2]["id"]}
    )
    assert status == 200
    assert (await get(client, alice, "/api/v1/notifications/unread_count"))[1] == {"count": 2}
    assert (await get(client, alice, "/api/v1/notifications/unread_count?limit=1"))[1] == {
        "count": 1
    }
    assert (await get(client, alice, "/api/v2/notifications/unread_count"))[1] == {"count": 2}

    assert await act(client, alice, f"/api/v1/notifications/{notes[0]['id']}/dismiss") == (200, {})
    assert await act(client, alice, "/api/v1/notifications/dismiss", id=notes[1]["id"]) == (200, {})
    assert [n["id"] for n in await _notes(client, alice)] == [notes[2]["id"], notes[3]["id"]]
    assert (await act(client, alice, f"/api/v1/notifications/{notes[0]['id']}/dismiss"))[0] == 404
    assert (await act(client, bob, f"/api/v1/notifications/{notes[2]['id']}/dismiss"))[0] == 404
    assert (await act(client, alice, "/api/v1/notifications/dismiss", id="x"))[0] == 404
    assert (await get(client, alice, "/api/v1/notifications/99999"))[0] == 404
    assert (await get(client, alice, "/api/v1/notifications/abc"))[0] == 404
    assert await act(client, alice, "/api/v1/notifications/clear") == (200, {})
    assert await _notes(client, alice) == []


async def test_v2_groups_favourites_of_one_status(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    fans = [await make_user(rt, client, f"fan{i}") for i in range(3)]
    mine = await post(client, alice, "popular")
    other = await post(client, alice, "less popular")
    for fan in fans:
        await act(client, fan, f"/api/v1/statuses/{mine['id']}/favourite")
    mention = await post(client, fans[0], "@alice look")
    await act(client, fans[1], f"/api/v1/statuses/{other['id']}/favourite")

    status, body = await get(client, alice, "/api/v2/notifications")
    assert status == 200, body
    groups = body["notification_groups"]
    assert [(g["type"], g["notifications_count"]) for g in groups] == [
        ("favourite", 1),
        ("mention", 1),
        ("favourite", 3),
    ]
    popular = groups[2]
    assert popular["group_key"].startswith(f"favourite-{mine['id']}-")
    assert popular["status_id"] == mine["id"]
    assert popular["sample_account_ids"] == [f.id for f in reversed(fans)]
    assert popular["page_max_id"] == popular["most_recent_notification_id"]
    assert int(popular["page_min_id"]) < int(popular["page_max_id"])
    assert popular["latest_page_notification_at"].endswith("Z")
    assert groups[1]["group_key"].startswith("ungrouped-")
    assert {s["id"] for s in body["statuses"]} == {mine["id"], other["id"], mention["id"]}
    assert {a["id"] for a in body["accounts"]} == {alice.id} | {f.id for f in fans}
    assert "partial_accounts" not in body

    # Only boosts grouped: three favourite groups of one.
    status, ungrouped = await get(client, alice, "/api/v2/notifications?grouped_types[]=reblog")
    assert [g["notifications_count"] for g in ungrouped["notification_groups"]] == [1] * 5
    status, only_favs = await get(client, alice, "/api/v2/notifications?types[]=favourite")
    assert [g["type"] for g in only_favs["notification_groups"]] == ["favourite", "favourite"]
    # Partial avatars: the newest account of a group in full, the other samples in part.
    status, partial = await get(
        client,
        alice,
        "/api/v2/notifications?expand_accounts=partial_avatars&max_id="
        + groups[1]["most_recent_notification_id"],
    )
    assert status == 200
    assert {a["id"] for a in partial["accounts"]} == {fans[2].id, alice.id}
    assert [a["id"] for a in partial["partial_accounts"]] == [fans[1].id, fans[0].id]
    assert set(partial["partial_accounts"][0]) == {
        "id",
        "acct",
        "locked",
        "bot",
        "url",
        "avatar",
        "avatar_static",
    }
    status, bad = await get(client, alice, "/api/v2/notifications?expand_accounts=all")
    assert status == 400 and "expand_accounts" in bad["error"]

    # Paged by one group at a time: each group once, Link cursors on notification ids.
    response = await client.get("/api/v2/notifications?limit=1", headers=alice.headers)
    first = await response.get_json()
    assert [g["group_key"] for g in first["notification_groups"]] == [groups[0]["group_key"]]
    assert "max_id=" in response.headers["Link"]
    status, second = await get(
        client,
        alice,
        f"/api/v2/notifications?limit=2&max_id={groups[0]['most_recent_notification_id']}",
    )
    assert [g["group_key"] for g in second["notification_groups"]] == [
        groups[1]["group_key"],
        groups[2]["group_key"],
    ]

    key = popular["group_key"]
    status, one = await get(client, alice, f"/api/v2/notifications/{key}")
    assert status == 200
    assert one["notification_groups"][0]["notifications_count"] == 3
    assert "page_min_id" not in one["notification_groups"][0]
    status, accounts = await get(client, alice, f"/api/v2/notifications/{key}/accounts")
    assert [a["id"] for a in accounts] == [f.id for f in reversed(fans)]
    assert (await get(client, alice, "/api/v2/notifications/favourite-1-1"))[0] == 404
    assert (await get(client, fans[0], f"/api/v2/notifications/{key}"))[0] == 404
    assert (await act(client, alice, f"/api/v2/notifications/{key}/dismiss")) == (200, {})
    status, after = await get(client, alice, "/api/v2/notifications")
    assert [g["type"] for g in after["notification_groups"]] == ["favourite", "mention"]
    assert (await act(client, alice, f"/api/v2/notifications/{key}/dismiss"))[0] == 404
    assert (await get(client, alice, "/api/v2/notifications/unread_count"))[1] == {"count": 2}


async def test_policy_filters_into_requests(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    stranger = await make_user(rt, client, "stranger")
    friend = await make_user(rt, client, "friend")
    pest = await make_user(rt, client, "pest")
    await follow(client, alice, friend)

    status, policy = await get(client, alice, "/api/v2/notifications/policy")
    assert status == 200
    assert policy == {
        "for_not_following": "accept",
        "for_not_followers": "accept",
        "for_new_accounts": "accept",
        "for_private_mentions": "filter",
        "for_limited_accounts": "filter",
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }
    response = await client.patch(
        "/api/v2/notifications/policy",
        headers=alice.headers,
        json={"for_not_following": "filter"},
    )
    assert response.status_code == 200
    assert (await response.get_json())["for_not_following"] == "filter"
    bad = await client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, json={"for_new_accounts": "maybe"}
    )
    assert bad.status_code == 422

    hello = await post(client, stranger, "@alice hello there")
    await post(client, friend, "@alice hi from a friend")
    assert _types(await _notes(client, alice)) == [("mention", "friend")]
    filtered = await _notes(client, alice, "?include_filtered=true")
    assert [(n["type"], n.get("filtered")) for n in filtered] == [
        ("mention", None),
        ("mention", True),
    ]
    status, policy = await get(client, alice, "/api/v2/notifications/policy")
    assert policy["summary"] == {"pending_requests_count": 1, "pending_notifications_count": 1}
    status, v1 = await get(client, alice, "/api/v1/notifications/policy")
    assert v1["filter_not_following"] is True and v1["filter_new_accounts"] is False

    status, requests = await get(client, alice, "/api/v1/notifications/requests")
    assert status == 200 and len(requests) == 1
    request = requests[0]
    assert request["account"]["id"] == stranger.id
    assert request["notifications_count"] == "1"
    assert request["last_status"]["id"] == hello["id"]
    assert (await get(client, alice, f"/api/v1/notifications/requests/{request['id']}")) == (
        200,
        request,
    )
    assert (await get(client, friend, f"/api/v1/notifications/requests/{request['id']}"))[0] == 404
    assert (await get(client, alice, "/api/v1/notifications/requests/merged")) == (
        200,
        {"merged": True},
    )

    status, _ = await act(client, alice, f"/api/v1/notifications/requests/{request['id']}/accept")
    assert status == 200
    assert _types(await _notes(client, alice)) == [("mention", "friend"), ("mention", "stranger")]
    assert (await get(client, alice, "/api/v1/notifications/requests"))[1] == []
    # Accepted: the stranger is let through from now on.
    await post(client, stranger, "@alice again")
    assert _types(await _notes(client, alice))[0] == ("mention", "stranger")

    # Dismissing discards the filtered notifications.
    await post(client, pest, "@alice buy my stuff")
    status, requests = await get(client, alice, "/api/v1/notifications/requests")
    assert (
        await act(client, alice, "/api/v1/notifications/requests/dismiss", id=[requests[0]["id"]])
    )[0] == 200
    assert (await get(client, alice, f"/api/v1/notifications?account_id={pest.id}"))[1] == []
    assert (await act(client, alice, "/api/v1/notifications/requests/12345/accept"))[0] == 404

    # Drop: nothing is kept at all.
    await client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, json={"for_not_following": "drop"}
    )
    await post(client, pest, "@alice hello?")

    async def count(conn: Connection) -> int:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM notifications WHERE from_account_id = $1", int(pest.id)
            )
        )

    assert await rt.store.read(count) == 0


async def test_direct_mentions_from_strangers_are_filtered_by_default(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    stranger = await make_user(rt, client, "stranger")
    await post(client, stranger, "@alice psst", visibility="direct")
    assert await _notes(client, alice) == []
    assert len((await get(client, alice, "/api/v1/notifications/requests"))[1]) == 1
    # A reply to alice's own direct message is not filtered.
    started = await post(client, alice, "@stranger hello", visibility="direct")
    await post(
        client, stranger, "@alice hi back", visibility="direct", in_reply_to_id=started["id"]
    )
    assert _types(await _notes(client, alice)) == [("mention", "stranger")]


async def test_scopes_and_api_level(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    statuses_only = await token_with(client, alice, "read:statuses write:statuses")
    headers = {"Authorization": f"Bearer {statuses_only}"}
    for path in ("/api/v1/notifications", "/api/v2/notifications", "/api/v2/notifications/policy"):
        assert (await client.get(path, headers=headers)).status_code == 403
    assert (await client.post("/api/v1/notifications/clear", headers=headers)).status_code == 403
    readonly = await token_with(client, alice, "read:notifications")
    ro = {"Authorization": f"Bearer {readonly}"}
    assert (await client.get("/api/v1/notifications", headers=ro)).status_code == 200
    assert (await client.post("/api/v1/notifications/clear", headers=ro)).status_code == 403
    assert (await client.get("/api/v1/notifications")).status_code == 401
    instance = await (await client.get("/api/v2/instance")).get_json()
    assert instance["api_versions"]["mastodon"] >= 2


async def test_limited_and_new_accounts_by_policy(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    limited = await make_user(rt, client, "limited")
    newcomer = await make_user(rt, client, "newcomer")
    friend = await make_user(rt, client, "friend")
    await follow(client, alice, friend)

    async def silence(conn: Connection) -> None:
        await conn.execute("UPDATE accounts SET silenced_at = 1 WHERE id = $1", int(limited.id))

    await rt.store.write(silence)
    mine = await post(client, alice, "hello")
    await act(client, limited, f"/api/v1/statuses/{mine['id']}/favourite")
    # A limited account is filtered by default; its favourite waits out of the list.
    assert await _notes(client, alice) == []
    hidden = await _notes(client, alice, "?include_filtered=true")
    assert [(n["type"], n["filtered"]) for n in hidden] == [("favourite", True)]

    # Every account here is days old: filtering new accounts spares only followed ones.
    await client.patch(
        "/api/v2/notifications/policy", headers=alice.headers, json={"for_new_accounts": "filter"}
    )
    await follow(client, newcomer, alice)
    await act(client, friend, f"/api/v1/statuses/{mine['id']}/favourite")
    assert _types(await _notes(client, alice)) == [("favourite", "friend")]
    assert len(await _notes(client, alice, "?include_filtered=true")) == 3


async def test_poll_notifications_through_a_batch(rt: Runtime, client: Any) -> None:
    from wildebeest_trio.services import notifications

    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    asked = await post(client, alice, "which one?")
    await act(client, bob, f"/api/v1/statuses/{asked['id']}/favourite")
    notifier = notifications.Notifier(rt)

    async def unit(conn: Connection) -> None:
        # As the polls helper does when a poll ends: voters and the author are told.
        for account in (alice, bob):
            await notifier.notify(
                conn,
                account_id=int(account.id),
                type="poll",
                from_account_id=int(alice.id),
                status_id=int(asked["id"]),
            )

    await rt.store.write(unit)
    for account in (alice, bob):
        notes = await _notes(client, account, "?types[]=poll")
        assert [(n["type"], n["status"]["id"]) for n in notes] == [("poll", asked["id"])]


async def test_v2_walk_pages_groups_as_mastodon(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    fans = [await make_user(rt, client, f"fan{i}") for i in range(3)]
    statuses = [await post(client, alice, f"post {i}") for i in range(4)]
    # Interleaved: each fan favourites all four statuses, so the groups overlap in time.
    for fan in fans:
        for s in statuses:
            await act(client, fan, f"/api/v1/statuses/{s['id']}/favourite")
    seen: list[tuple[str, int, str]] = []
    url = "/api/v2/notifications?limit=1"
    for _ in range(20):
        response = await client.get(url, headers=alice.headers)
        body = await response.get_json()
        if not body["notification_groups"]:
            assert "Link" not in response.headers
            break
        for g in body["notification_groups"]:
            assert g["page_min_id"] == g["page_max_id"] == g["most_recent_notification_id"]
            seen.append((g["status_id"], g["notifications_count"], g["sample_account_ids"][0]))
        link = response.headers["Link"].split(";")[0].strip("<>")
        url = link[link.index("/api/") :]
    # Below each page's cursor a group shows again with its older notifications, counted
    # up to the page (Mastodon's paginate_groups): the client merges them by group key.
    newest_first = [s["id"] for s in reversed(statuses)]
    assert seen == [
        (status_id, count, fans[count - 1].id) for count in (3, 2, 1) for status_id in newest_first
    ]
