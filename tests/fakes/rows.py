"""Remote accounts, statuses and follows written straight into the store, as the federation
layer writes them (for features that treat remote content differently), and rows read back."""

from __future__ import annotations

from typing import Any

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.follows import accept_request_in
from wildebeest_trio.store import Connection
from wildebeest_trio.store import accounts as account_rows
from wildebeest_trio.store import follows as follow_rows
from wildebeest_trio.store import statuses as status_rows


async def remote_account(
    rt: Runtime,
    username: str,
    domain: str,
    *,
    origin: str | None = None,
    shared_inbox: bool = True,
    key: tuple[str, str] | None = None,
    **columns: Any,
) -> int:
    """A remote account stored as a fetched actor is, with its key (id, public PEM) when
    given; its id. It lives at `origin` (`https://<domain>` unless given); `columns` replace
    the other defaults."""
    origin = origin or f"https://{domain}"
    uri = f"{origin}/users/{username}"
    account = {
        "id": rt.ids.next_id(),
        "uri": uri,
        "username": username,
        "domain": domain,
        "url": f"{origin}/@{username}",
        "actor_type": "Person",
        "display_name": "",
        "note": "",
        "fields": "[]",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "inbox_url": f"{uri}/inbox",
        "shared_inbox_url": f"{origin}/inbox" if shared_inbox else None,
        "outbox_url": f"{uri}/outbox",
        "followers_url": f"{uri}/followers",
        "following_url": f"{uri}/following",
        "featured_url": None,
        "avatar_remote_url": None,
        "header_remote_url": None,
        "also_known_as": "[]",
        **columns,
    }
    key_id, public_pem = key or (None, None)

    async def unit(conn: Connection) -> int:
        return await account_rows.upsert_remote_actor(
            conn, account, key_id, public_pem, rt.ids.next_id(), now_ms()
        )

    return int(await rt.store.write(unit))


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


async def add_follower(rt: Runtime, follower_id: int, target_id: int) -> None:
    """Record that an account follows another (as an accepted Follow does)."""

    async def unit(conn: Connection) -> None:
        await follow_rows.insert_follow(
            conn,
            {
                "id": rt.ids.next_id(),
                "account_id": follower_id,
                "target_account_id": target_id,
                "uri": None,
                "show_reblogs": True,
                "notify": False,
                "languages": None,
                "created_at": now_ms(),
            },
        )

    await rt.store.write(unit)


async def accept_our_request(rt: Runtime, follower_id: int, target_id: int) -> None:
    """What a remote Accept does to a local account's pending follow request."""

    async def unit(conn: Connection) -> None:
        request = await follow_rows.request_row(conn, follower_id, target_id)
        assert request is not None, "no pending follow request"
        await accept_request_in(conn, rt, request, federate=False)

    await rt.store.write(unit)


async def rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The rows a query reads."""

    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(sql, *args)]

    return await rt.store.read(unit)


async def account_id_of(rt: Runtime, uri: str) -> int:
    """The id of the account known by `uri`."""
    found = await rows(rt, "SELECT id FROM accounts WHERE uri = $1", uri)
    assert found, uri
    return int(found[0]["id"])
