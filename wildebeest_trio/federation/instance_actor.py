"""The instance actor: the server's own ActivityPub identity, used to sign fetches."""

from __future__ import annotations

import trio

from ..ids import now_ms
from ..runtime import Runtime
from ..signatures import generate_rsa_keypair
from ..store import Connection, IntegrityError
from ..store import accounts as account_rows
from ..store.rows import ActorRow

#: The instance actor's username, Mastodon's: valid everywhere (GoToSocial refuses a `:`,
#: so the domain, which may carry a port, cannot be the name), and no person can take it
#: (local usernames have no dots).
INSTANCE_ACTOR_USERNAME = "mastodon.internal"


def instance_actor_uri(rt: Runtime) -> str:
    return f"{rt.config.base_url}/actor"


async def instance_actor(rt: Runtime) -> ActorRow | None:
    """The instance actor's account row with its public key, if it exists yet."""
    return await rt.store.read(account_rows.actor_by_uri, instance_actor_uri(rt))


async def ensure_instance_actor(rt: Runtime) -> None:
    """Create the instance actor and its key pair on first start (idempotent, race-safe).

    One made by an older version, named after the domain, takes the new name; its URL,
    keys and the old WebFinger names stay as they were.
    """
    existing = await instance_actor(rt)
    if existing is not None:
        if existing["username"] != INSTANCE_ACTOR_USERNAME:
            await rt.store.write(
                account_rows.rename_local_account,
                existing["id"],
                INSTANCE_ACTOR_USERNAME,
                now_ms(),
            )
        return
    private_pem, public_pem = await trio.to_thread.run_sync(generate_rsa_keypair)
    uri = instance_actor_uri(rt)
    base = rt.config.base_url
    now = now_ms()
    account_id = rt.ids.next_id()
    account: dict[str, object] = {
        "id": account_id,
        "username": INSTANCE_ACTOR_USERNAME,
        "domain": None,
        "uri": uri,
        "url": f"{base}/about",
        "actor_type": "Application",
        "display_name": "",
        "note": "",
        "locked": True,
        "bot": True,
        "discoverable": False,
        "inbox_url": f"{uri}/inbox",
        "shared_inbox_url": f"{base}/inbox",
        "outbox_url": f"{uri}/outbox",
        "followers_url": None,
        "following_url": None,
        "featured_url": None,
        "created_at": now,
        "updated_at": now,
    }

    async def unit(conn: Connection) -> None:
        await account_rows.insert_account(conn, account)
        await account_rows.insert_keypair(
            conn,
            keypair_id=rt.ids.next_id(),
            account_id=account_id,
            key_id=f"{uri}#main-key",
            public_key_pem=public_pem,
            private_key_pem=private_pem,
            now=now,
        )

    try:
        await rt.store.write(unit)
    except IntegrityError:
        pass  # another process created it first
