"""Test helpers: remote accounts and statuses written straight into the store (as the
federation layer would), for features that treat remote content differently."""

from __future__ import annotations

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import statuses as status_rows


async def remote_account(rt: Runtime, username: str, domain: str, **extra: object) -> int:
    """Insert a remote account; its id."""
    account_id = rt.ids.next_id()
    uri = f"https://{domain}/users/{username}"
    now = now_ms()
    row = {
        "id": account_id,
        "username": username,
        "domain": domain,
        "uri": uri,
        "url": f"https://{domain}/@{username}",
        "actor_type": "Person",
        "display_name": "",
        "note": "",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "inbox_url": f"{uri}/inbox",
        "shared_inbox_url": f"https://{domain}/inbox",
        "outbox_url": f"{uri}/outbox",
        "followers_url": f"{uri}/followers",
        "following_url": f"{uri}/following",
        "featured_url": None,
        "created_at": now,
        "updated_at": now,
        **extra,
    }

    async def unit(conn: Connection) -> None:
        await account_rows.insert_account(conn, row)

    await rt.store.write(unit)
    return account_id


async def remote_status(
    rt: Runtime, account_id: int, domain: str, content: str, **extra: object
) -> int:
    """Insert a public remote status by `account_id`; its id."""
    status_id = rt.ids.next_id()
    now = now_ms()
    row = {
        "id": status_id,
        "uri": f"https://{domain}/statuses/{status_id}",
        "url": f"https://{domain}/@x/{status_id}",
        "account_id": account_id,
        "local": False,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog_of_id": None,
        "text": "",
        "content": content,
        "spoiler_text": "",
        "sensitive": False,
        "visibility": "public",
        "language": "en",
        "application_id": None,
        "conversation_id": None,
        "created_at": now,
        "updated_at": now,
        **extra,
    }

    async def unit(conn: Connection) -> None:
        await status_rows.insert_status(conn, row)

    await rt.store.write(unit)
    return status_id


async def follow_rows_between(rt: Runtime, follower_id: int, target_id: int) -> None:
    """Record an accepted follow (e.g. a remote account following a local one)."""
    from wildebeest_trio.store import follows as follow_rows

    async def unit(conn: Connection) -> None:
        await follow_rows.insert_follow(
            conn,
            {
                "id": rt.ids.next_id(),
                "account_id": follower_id,
                "target_account_id": target_id,
                "show_reblogs": True,
                "notify": False,
                "languages": None,
                "created_at": now_ms(),
            },
        )

    await rt.store.write(unit)


async def accept_our_request(rt: Runtime, follower_id: int, target_id: int) -> None:
    """What a remote Accept does to a local account's pending follow request."""
    from wildebeest_trio.services.follows import accept_request_in
    from wildebeest_trio.store import follows as follow_rows

    async def unit(conn: Connection) -> None:
        request = await follow_rows.request_row(conn, follower_id, target_id)
        assert request is not None, "no pending follow request"
        await accept_request_in(conn, rt, request, federate=False)

    await rt.store.write(unit)
