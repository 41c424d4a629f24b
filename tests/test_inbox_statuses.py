"""Inbound Create, Update, Delete, Like and Announce, seen through the Mastodon API."""

from __future__ import annotations

from typing import Any

from tests.fakes.instance import drain, queued_deliveries
from tests.fakes.remote import PUBLIC, RemoteServer, deliver
from tests.fakes.rows import accept_our_request, rows
from tests.social import User, act, follow_remote, get, make_user
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)


async def _status_of(local: Runtime, uri: str) -> str:
    found = await rows(local, "SELECT id FROM statuses WHERE uri = $1", uri)
    assert found, uri
    return str(found[0]["id"])


async def _home(api: Any, user: User) -> list[dict[str, Any]]:
    status, page = await get(api, user, "/api/v1/timelines/home")
    assert status == 200
    return page


async def _notifications(local: Runtime, user: User) -> list[str]:
    found = await rows(
        local, "SELECT type FROM notifications WHERE account_id = $1 ORDER BY id", int(user.id)
    )
    return [r["type"] for r in found]


async def test_create_reaches_followers_sanitized_with_tags_media_and_emoji(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)
    note = remote.note(
        bob,
        content='<p>Hi <script>alert(1)</script><a href="javascript:x" onclick="y">#wild</a>'
        " :blob:</p>",
        tag=[
            {"type": "Hashtag", "name": "#wild", "href": "http://x/tags/wild"},
            {
                "type": "Emoji",
                "name": ":blob:",
                "id": f"{remote.origin()}/emoji/1",
                "icon": {"type": "Image", "url": f"{remote.origin()}/blob.png"},
            },
        ],
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": f"{remote.origin()}/media/1.png",
                "name": "a cat",
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "focalPoint": [0.5, -0.25],
                "width": 640,
                "height": 480,
            }
        ],
        sensitive=True,
        summary="cw",
    )
    create = remote.activity(bob, "Create", note, to=note["to"], cc=note["cc"])
    assert await deliver(api, local, bob, create) == 202
    await drain(local)
    home = await _home(api, alice)
    assert len(home) == 1
    status = home[0]
    assert status["uri"] == note["id"] and status["visibility"] == "public"
    assert "<script" not in status["content"] and "javascript" not in status["content"]
    assert "onclick" not in status["content"]
    assert status["spoiler_text"] == "cw" and status["sensitive"] is True
    assert [t["name"] for t in status["tags"]] == ["wild"]
    [media] = status["media_attachments"]
    assert media["remote_url"] == f"{remote.origin()}/media/1.png"
    assert media["description"] == "a cat" and media["type"] == "image"
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    emoji = await rows(local, "SELECT shortcode, domain, image_remote_url FROM custom_emojis")
    assert emoji == [
        {"shortcode": "blob", "domain": bob.host, "image_remote_url": f"{remote.origin()}/blob.png"}
    ]
    status_code, tagged = await get(api, alice, "/api/v1/timelines/tag/wild")
    assert status_code == 200 and [s["uri"] for s in tagged] == [note["id"]]
    # Posts from accounts nobody here follows, addressed to nobody here, are not kept.
    stranger = remote.actor("stranger")
    lone = remote.note(stranger)
    create = remote.activity(stranger, "Create", lone)
    assert await deliver(api, local, stranger, create) == 202
    await drain(local)
    assert await rows(local, "SELECT id FROM statuses WHERE uri = $1", lone["id"]) == []


async def test_mentions_replies_and_direct_messages(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    carol = await make_user(local, api, "carol")
    status_code, original = await act(api, alice, "/api/v1/statuses", status="thread start")
    assert status_code == 200
    bob = remote.actor("bob")
    alice_uri = f"{local.config.base_url}/users/alice"
    reply = remote.note(
        bob,
        content="<p>@alice reply</p>",
        inReplyTo=original["uri"],
        tag=[{"type": "Mention", "href": alice_uri, "name": "@alice"}],
        cc=[bob.followers, alice_uri],
    )
    assert await deliver(api, local, bob, remote.activity(bob, "Create", reply)) == 202
    await drain(local)
    reply_id = await _status_of(local, reply["id"])
    status_code, context = await get(api, alice, f"/api/v1/statuses/{original['id']}/context")
    assert status_code == 200 and [s["id"] for s in context["descendants"]] == [reply_id]
    status_code, parent = await get(api, alice, f"/api/v1/statuses/{original['id']}")
    assert parent["replies_count"] == 1
    assert await _notifications(local, alice) == ["mention"]
    # A direct message to alice through the shared inbox: alice sees it, carol does not.
    secret = remote.note(
        bob,
        content="<p>@alice secret</p>",
        to=[alice_uri],
        cc=[],
        tag=[{"type": "Mention", "href": alice_uri}],
    )
    create = remote.activity(bob, "Create", secret, to=[alice_uri])
    assert await deliver(api, local, bob, create) == 202
    await drain(local)
    secret_id = await _status_of(local, secret["id"])
    status_code, seen = await get(api, alice, f"/api/v1/statuses/{secret_id}")
    assert status_code == 200 and seen["visibility"] == "direct"
    status_code, _ = await get(api, carol, f"/api/v1/statuses/{secret_id}")
    assert status_code == 404
    status_code, _ = await get(api, None, f"/api/v1/statuses/{secret_id}")
    assert status_code == 404
    status_code, conversations = await get(api, alice, "/api/v1/conversations")
    assert status_code == 200 and conversations[0]["last_status"]["id"] == secret_id
    assert await _notifications(local, alice) == ["mention", "mention"]
    assert await _notifications(local, carol) == []


async def test_update_keeps_history_and_profiles_refresh(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    bob_id = await follow_remote(api, local, alice, bob)
    note = remote.note(bob, content="<p>first</p>")
    assert await deliver(api, local, bob, remote.activity(bob, "Create", note)) == 202
    await drain(local)
    status_id = await _status_of(local, note["id"])
    edited = {**note, "content": "<p>second</p>", "updated": "2026-01-02T00:00:00Z"}
    remote.put(edited)
    assert await deliver(api, local, bob, remote.activity(bob, "Update", edited)) == 202
    # An older version arriving late changes nothing.
    stale = {**note, "content": "<p>stale</p>", "updated": "2026-01-01T12:00:00Z"}
    assert await deliver(api, local, bob, remote.activity(bob, "Update", stale)) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{status_id}")
    assert shown["content"] == "<p>second</p>"
    assert shown["edited_at"] is not None and shown["edited_at"].startswith("2026-01-02")
    status_code, history = await get(api, alice, f"/api/v1/statuses/{status_id}/history")
    assert status_code == 200
    assert [h["content"] for h in history] == ["<p>first</p>", "<p>second</p>"]
    # Update of the actor: the profile is fetched again from its origin.
    remote.documents[bob.uri]["name"] = "Robert"
    remote.documents[bob.uri]["summary"] = "<p>new bio<script>x</script></p>"
    update = remote.activity(bob, "Update", {**remote.documents[bob.uri], "name": "Forged"})
    assert await deliver(api, local, bob, update) == 202
    await drain(local)
    status_code, account = await get(api, alice, f"/api/v1/accounts/{bob_id}")
    assert account["display_name"] == "Robert"
    assert account["note"] == "<p>new bio</p>"


async def test_delete_removes_statuses_and_accounts(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    bob_id = await follow_remote(api, local, alice, bob)
    notes = [remote.note(bob, content=f"<p>n{i}</p>") for i in range(3)]
    for note in notes:
        await deliver(api, local, bob, remote.activity(bob, "Create", note))
    await drain(local)
    assert len(await _home(api, alice)) == 3
    first_id = await _status_of(local, notes[0]["id"])
    tombstone = {"id": notes[0]["id"], "type": "Tombstone"}
    assert await deliver(api, local, bob, remote.activity(bob, "Delete", tombstone)) == 202
    await drain(local)
    status_code, _ = await get(api, alice, f"/api/v1/statuses/{first_id}")
    assert status_code == 404
    assert len(await _home(api, alice)) == 2
    # A replayed Create (new activity id) does not bring the deleted note back.
    assert await deliver(api, local, bob, remote.activity(bob, "Create", notes[0])) == 202
    await drain(local)
    status_code, _ = await get(api, alice, f"/api/v1/statuses/{first_id}")
    assert status_code == 404
    assert len(await _home(api, alice)) == 2
    # Someone else cannot delete bob's notes.
    mallory = remote.actor("mallory")
    other = remote.activity(mallory, "Delete", notes[1]["id"])
    assert await deliver(api, local, mallory, other) == 202
    await drain(local)
    assert len(await _home(api, alice)) == 2
    # The actor deletes itself: its posts and the follow are gone.
    assert await deliver(api, local, bob, remote.activity(bob, "Delete", bob.uri)) == 202
    await drain(local)
    assert await _home(api, alice) == []
    status_code, me = await get(api, alice, "/api/v1/accounts/verify_credentials")
    assert me["following_count"] == 0
    status_code, _ = await get(api, alice, f"/api/v1/accounts/{bob_id}")
    assert status_code == 404


async def test_like_and_announce_of_local_posts(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    status_code, posted = await act(api, alice, "/api/v1/statuses", status="like me")
    assert status_code == 200
    bob = remote.actor("bob")
    like = remote.activity(bob, "Like", posted["uri"])
    assert await deliver(api, local, bob, like) == 202
    assert await deliver(api, local, bob, remote.activity(bob, "Like", posted["uri"])) == 202
    boost = remote.activity(bob, "Announce", posted["uri"], to=[PUBLIC], cc=[bob.followers])
    assert await deliver(api, local, bob, boost) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{posted['id']}")
    assert shown["favourites_count"] == 1 and shown["reblogs_count"] == 1
    assert await _notifications(local, alice) == ["favourite", "reblog"]
    status_code, by = await get(api, alice, f"/api/v1/statuses/{posted['id']}/favourited_by")
    assert [a["acct"] for a in by] == [f"bob@{bob.host}"]
    status_code, by = await get(api, alice, f"/api/v1/statuses/{posted['id']}/reblogged_by")
    assert [a["acct"] for a in by] == [f"bob@{bob.host}"]
    assert await deliver(api, local, bob, remote.activity(bob, "Undo", like)) == 202
    assert await deliver(api, local, bob, remote.activity(bob, "Undo", boost["id"])) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{posted['id']}")
    assert shown["favourites_count"] == 0 and shown["reblogs_count"] == 0
    assert "favourite" not in await _notifications(local, alice)  # withdrawn with the Like
    # A Like of a direct post it never saw is ignored.
    status_code, secret = await act(
        api, alice, "/api/v1/statuses", status="secret", visibility="direct"
    )
    assert await deliver(api, local, bob, remote.activity(bob, "Like", secret["uri"])) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{secret['id']}")
    assert shown["favourites_count"] == 0


async def test_announce_fetches_objects_from_their_origin(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)
    # Dave lives on another origin (same port, another host name).
    dave = remote.actor("dave", host="localhost")
    original = remote.note(dave, content="<p>the real text</p>")
    forged = {**original, "content": "<p>forged by bob</p>"}
    boost = remote.activity(bob, "Announce", forged, to=[PUBLIC], cc=[bob.followers])
    assert await deliver(api, local, bob, boost) == 202
    await drain(local)
    home = await _home(api, alice)
    assert len(home) == 1
    assert home[0]["account"]["acct"] == f"bob@{bob.host}"
    assert home[0]["reblog"]["content"] == "<p>the real text</p>"
    assert home[0]["reblog"]["account"]["acct"] == f"dave@{dave.host}"
    # Undo with the Announce embedded.
    assert await deliver(api, local, bob, remote.activity(bob, "Undo", boost)) == 202
    await drain(local)
    assert [s["reblog"] for s in await _home(api, alice)] == []


async def test_only_its_author_boosts_a_followers_only_post(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    dave = remote.actor("dave")
    bob_id = await follow_remote(api, local, alice, bob)
    dave_id = await follow_remote(api, local, alice, dave)
    note = remote.note(bob, content="<p>followers only</p>", to=[bob.followers], cc=[])
    create = remote.activity(bob, "Create", note, to=[bob.followers])
    assert await deliver(api, local, bob, create) == 202
    # As Mastodon: Bob may boost his own followers-only post (to his followers), Dave,
    # who cannot see it, may not.
    by_dave = remote.activity(dave, "Announce", note["id"], to=[PUBLIC])
    assert await deliver(api, local, dave, by_dave) == 202
    by_bob = remote.activity(bob, "Announce", note["id"], to=[PUBLIC])
    assert await deliver(api, local, bob, by_bob) == 202
    await drain(local)
    # Alice's home shows the post, so the boost of it stays out (as Mastodon's feeds keep
    # out a boost of what they show among their 40 newest): the accounts' pages show it.
    assert [s["uri"] for s in await _home(api, alice)] == [note["id"]]
    boosts = [
        s
        for account_id in (bob_id, dave_id)
        for s in (await get(api, alice, f"/api/v1/accounts/{account_id}/statuses"))[1]
        if s["reblog"] is not None
    ]
    assert [(s["account"]["acct"], s["visibility"]) for s in boosts] == [
        (f"bob@{bob.host}", "private")  # never wider than the post it boosts
    ]
    assert boosts[0]["reblog"]["uri"] == note["id"]
    assert boosts[0]["reblog"]["reblogs_count"] == 1


async def test_replies_to_unknown_posts_fetch_the_parent(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)
    dave = remote.actor("dave", host="localhost")
    parent = remote.note(dave, content="<p>the question</p>")
    reply = remote.note(bob, content="<p>the answer</p>", inReplyTo=parent["id"])
    assert await deliver(api, local, bob, remote.activity(bob, "Create", reply)) == 202
    await drain(local)
    reply_id = await _status_of(local, reply["id"])
    status_code, context = await get(api, alice, f"/api/v1/statuses/{reply_id}/context")
    assert status_code == 200
    assert [s["content"] for s in context["ancestors"]] == ["<p>the question</p>"]
    assert context["ancestors"][0]["replies_count"] == 1
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{reply_id}")
    assert shown["in_reply_to_id"] == context["ancestors"][0]["id"]


async def test_media_of_domains_with_reject_media_are_dropped(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    from wildebeest_trio.services.domain_blocks import block_domain
    from wildebeest_trio.store import Connection

    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)

    async def block(conn: Connection) -> None:
        await block_domain(conn, local.ids, "127.0.0.1", severity="noop", reject_media=True)

    await local.store.write(block)
    image = {"type": "Document", "mediaType": "image/png", "url": f"{remote.origin()}/m.png"}
    note = remote.note(bob, content="<p>with media</p>", attachment=[image])
    assert await deliver(api, local, bob, remote.activity(bob, "Create", note)) == 202
    await drain(local)
    [status] = await _home(api, alice)
    assert status["content"] == "<p>with media</p>" and status["media_attachments"] == []


async def test_an_unreachable_origin_is_retried_later(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)
    dave = remote.actor("dave", host="localhost")
    original = remote.note(dave, content="<p>later</p>")
    remote.answer(original["id"], 503)
    boost = remote.activity(bob, "Announce", original["id"], to=[PUBLIC])
    assert await deliver(api, local, bob, boost) == 202
    await drain(local)
    [job] = await rows(local, "SELECT state, attempts, last_error FROM jobs")
    assert job["state"] == "pending" and job["attempts"] == 1
    assert "503" in job["last_error"]
    assert await _home(api, alice) == []
    # The origin is back: the retry (made due now) brings the boost in.
    remote.answers.clear()

    async def due(conn: Any) -> None:
        await conn.execute("UPDATE jobs SET run_at = 0")

    await local.store.write(due)
    await drain(local)
    home = await _home(api, alice)
    assert [s["reblog"]["content"] for s in home] == ["<p>later</p>"]


async def test_personal_inbox_delivery_addresses_its_owner(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    carol = await make_user(local, api, "carol")
    bob = remote.actor("bob")
    # Followers-only, delivered to alice's own inbox, naming nobody: alice was meant.
    note = remote.note(bob, content="<p>just for you</p>", to=[bob.followers], cc=[])
    create = remote.activity(bob, "Create", note, to=[bob.followers])
    assert await deliver(api, local, bob, create, path="/users/alice/inbox") == 202
    await drain(local)
    status_id = await _status_of(local, note["id"])
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{status_id}")
    assert status_code == 200 and shown["visibility"] == "private"
    status_code, _ = await get(api, carol, f"/api/v1/statuses/{status_id}")
    assert status_code == 404


async def test_create_by_reference_and_the_bell(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    carol = await make_user(local, api, "carol")
    bob = remote.actor("bob")
    bob_id = await follow_remote(api, local, alice, bob)
    status_code, body = await act(api, carol, f"/api/v1/accounts/{bob_id}/follow", notify=True)
    assert status_code == 200 and body["notifying"] is True
    await accept_our_request(local, int(carol.id), bob_id)  # the bell survives the Accept
    note = remote.note(bob, content="<p>by reference</p>")
    # The object given by id only: fetched from bob's server.
    assert await deliver(api, local, bob, remote.activity(bob, "Create", note["id"])) == 202
    await drain(local)
    assert [s["content"] for s in await _home(api, alice)] == ["<p>by reference</p>"]
    assert await _notifications(local, carol) == ["status"]
    assert await _notifications(local, alice) == []


async def test_public_posts_to_a_personal_inbox_mention_nobody_silently(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    note = remote.note(bob, content="<p>public, addressed to alice</p>")
    note["cc"] = [bob.followers, f"{local.config.base_url}/users/alice"]
    remote.put(note)
    create = remote.activity(bob, "Create", note)
    assert await deliver(api, local, bob, create, path="/users/alice/inbox") == 202
    await drain(local)
    status_id = await _status_of(local, note["id"])
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{status_id}")
    assert status_code == 200 and shown["mentions"] == []
    assert await _notifications(local, alice) == []


async def test_boosts_of_suspended_domains_are_not_fetched(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    from wildebeest_trio.services.domain_blocks import block_domain
    from wildebeest_trio.store import Connection

    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)
    dave = remote.actor("dave", host="localhost")
    original = remote.note(dave, content="<p>from a suspended server</p>")

    async def block(conn: Connection) -> None:
        await block_domain(conn, local.ids, "localhost", severity="suspend")

    await local.store.write(block)
    boost = remote.activity(bob, "Announce", original["id"], to=[PUBLIC])
    assert await deliver(api, local, bob, boost) == 202
    await drain(local)
    assert await _home(api, alice) == []
    assert await rows(local, "SELECT id FROM accounts WHERE uri = $1", dave.uri) == []


async def test_remote_questions_become_polls_with_fresh_tallies(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await follow_remote(api, local, alice, bob)

    def options(yes: int, no: int) -> list[dict[str, Any]]:
        return [
            {"type": "Note", "name": "yes", "replies": {"type": "Collection", "totalItems": yes}},
            {"type": "Note", "name": "no", "replies": {"type": "Collection", "totalItems": no}},
        ]

    question = remote.note(
        bob,
        type="Question",
        content="<p>Well?</p>",
        oneOf=options(2, 1),
        endTime="2099-01-01T00:00:00Z",
        votersCount=3,
    )
    assert await deliver(api, local, bob, remote.activity(bob, "Create", question)) == 202
    await drain(local)
    status_id = await _status_of(local, question["id"])
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{status_id}")
    poll = shown["poll"]
    assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [("yes", 2), ("no", 1)]
    assert poll["votes_count"] == 3 and poll["voters_count"] == 3 and poll["multiple"] is False
    assert poll["expires_at"].startswith("2099-01-01")
    # An Update without `updated` carries new tallies only.
    tallied = {**question, "oneOf": options(5, 1), "votersCount": 6}
    assert await deliver(api, local, bob, remote.activity(bob, "Update", tallied)) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{status_id}")
    assert status_code == 200
    assert [o["votes_count"] for o in shown["poll"]["options"]] == [5, 1]
    assert shown["poll"]["voters_count"] == 6 and shown["edited_at"] is None


async def test_remote_votes_in_local_polls(api: Any, local: Runtime, remote: RemoteServer) -> None:
    alice = await make_user(local, api, "alice")
    status_code, posted = await act(
        api,
        alice,
        "/api/v1/statuses",
        status="tea or coffee?",
        poll={"options": ["tea", "coffee"], "expires_in": 3600},
    )
    assert status_code == 200, posted
    bob = remote.actor("bob")
    vote = remote.note(
        bob,
        name="coffee",
        content=None,
        inReplyTo=posted["uri"],
        to=[f"{local.config.base_url}/users/alice"],
        cc=[],
    )
    assert await deliver(api, local, bob, remote.activity(bob, "Create", vote)) == 202
    # The same vote again (another activity) is not counted twice.
    assert await deliver(api, local, bob, remote.activity(bob, "Create", vote)) == 202
    await drain(local)
    status_code, shown = await get(api, alice, f"/api/v1/statuses/{posted['id']}")
    assert [o["votes_count"] for o in shown["poll"]["options"]] == [0, 1]
    assert shown["poll"]["voters_count"] == 1
    # A vote is not a post.
    assert await rows(local, "SELECT id FROM statuses WHERE uri = $1", vote["id"]) == []


async def test_signed_public_replies_to_local_posts_are_forwarded_to_followers(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    import json

    from wildebeest_trio.jsonld import sign_ld_signature

    alice = await make_user(local, api, "alice")
    carol = remote.actor("carol", host="localhost")  # a follower of alice elsewhere
    follow = remote.activity(carol, "Follow", f"{local.config.base_url}/users/alice")
    assert await deliver(api, local, carol, follow) == 202
    await drain(local)
    status_code, posted = await act(api, alice, "/api/v1/statuses", status="Questions?")
    assert status_code == 200

    async def forwarded() -> list[dict[str, Any]]:
        found = await queued_deliveries(local)
        return [j for j in found if "Answers" in j["body"] or "unsigned" in j["body"]]

    bob = remote.actor("bob")
    for content, signed in (("<p>unsigned</p>", False), ("<p>Answers!</p>", True)):
        reply = remote.note(
            bob, content=content, inReplyTo=posted["uri"], cc=[bob.followers, alice_uri(local)]
        )
        create = remote.activity(bob, "Create", reply, to=[PUBLIC])
        if signed:
            create = sign_ld_signature(create, bob.private_pem, bob.key_id)
        assert await deliver(api, local, bob, create) == 202
        await drain(local)
    # Only the LD-signed reply goes on, to carol's server, signed by alice; not back to bob.
    [job] = await forwarded()
    assert job["inbox"] == f"{remote.origin(host='localhost')}/inbox"
    assert job["key_id"] == f"{alice_uri(local)}#main-key"
    body = json.loads(job["body"])
    assert body["object"]["content"] == "<p>Answers!</p>" and "signature" in body


def alice_uri(local: Runtime) -> str:
    return f"{local.config.base_url}/users/alice"
