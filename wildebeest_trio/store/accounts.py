"""Accounts and their key pairs: every write to `accounts` and `keypairs` is here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import statuses, users
from .base import ROLE_SQL, Connection, fetch_as, fetchrow_as, fetchval_as
from .effects import INSTANCE_FACTS_CHANGED, WebhookEvent
from .entities import accounts_changed
from .rows import AccountRow, AccountWithUserRow, ActorRow, PublicKeyRow, RemoteActorKeyRow

_ACCOUNT_COLUMNS = (
    "id, username, domain, uri, url, actor_type, display_name, note, locked, bot, discoverable, "
    "inbox_url, shared_inbox_url, outbox_url, followers_url, following_url, featured_url, "
    "created_at, updated_at"
)


async def insert_account(conn: Connection, account: Mapping[str, Any]) -> None:
    """Insert an account row (`account` holds at least the columns named above)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    names = _ACCOUNT_COLUMNS.split(", ")
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    await conn.execute(
        f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES ({placeholders})",
        *(account[n] for n in names),
    )


async def insert_keypair(
    conn: Connection,
    *,
    keypair_id: int,
    account_id: int,
    key_id: str,
    public_key_pem: str,
    private_key_pem: str | None,
    now: int,
) -> None:
    """Store a key pair (private half for local accounts only)."""
    await conn.execute(
        "INSERT INTO keypairs (id, account_id, key_id, public_key_pem, private_key_pem, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        keypair_id,
        account_id,
        key_id,
        public_key_pem,
        private_key_pem,
        now,
    )


async def local_username_taken(conn: Connection, username: str) -> bool:
    """Whether a local account already has this username (case-insensitively)."""
    found = await conn.fetchval(
        "SELECT 1 FROM accounts WHERE domain IS NULL AND lower(username) = lower($1)", username
    )
    return found is not None


async def email_taken(conn: Connection, email: str) -> bool:
    """Whether a user already has this e-mail address (case-insensitively)."""
    found = await conn.fetchval("SELECT 1 FROM users WHERE lower(email) = lower($1)", email)
    return found is not None


async def local_account_by_username(conn: Connection, username: str) -> AccountWithUserRow | None:
    """A local account and its user's role and state, by username."""
    return await fetchrow_as(
        conn,
        AccountWithUserRow,
        "SELECT a.*, u.id AS user_id, u.email, "
        + ROLE_SQL
        + "u.approved, u.disabled, u.confirmed_at "
        "FROM accounts a JOIN users u ON u.account_id = a.id "
        "WHERE a.domain IS NULL AND lower(a.username) = lower($1)",
        username,
    )


async def account_by_id(conn: Connection, account_id: int) -> AccountRow | None:
    """Any account, by id."""
    return await fetchrow_as(conn, AccountRow, "SELECT * FROM accounts WHERE id = $1", account_id)


async def account_id_by_url(conn: Connection, url: str) -> int | None:
    """The account whose actor URI or profile URL is `url`, if known."""
    return await fetchval_as(
        conn, int, "SELECT id FROM accounts WHERE uri = $1 OR url = $1 ORDER BY id LIMIT 1", url
    )


async def first_admin(conn: Connection) -> AccountRow | None:
    """The oldest active admin account (the instance's default contact)."""
    return await fetchrow_as(
        conn,
        AccountRow,
        "SELECT a.* FROM accounts a JOIN users u ON u.account_id = a.id "
        "WHERE u.role = 'admin' AND NOT u.disabled AND a.suspended_at IS NULL "
        "ORDER BY a.id LIMIT 1",
    )


async def account_by_acct(conn: Connection, username: str, domain: str | None) -> AccountRow | None:
    """An account by `username` (local) or `username@domain` (remote), case-insensitively."""
    if domain is None:
        return await fetchrow_as(
            conn,
            AccountRow,
            "SELECT * FROM accounts WHERE domain IS NULL AND lower(username) = lower($1)",
            username,
        )
    return await fetchrow_as(
        conn,
        AccountRow,
        "SELECT * FROM accounts WHERE lower(username) = lower($1) AND lower(domain) = lower($2)",
        username,
        domain,
    )


async def accounts_by_acct(
    conn: Connection, pairs: list[tuple[str, str | None]]
) -> list[AccountRow]:
    """Several accounts at once (mentions in a text); missing ones are skipped."""
    rows = []
    for username, domain in pairs:
        row = await account_by_acct(conn, username, domain)
        if row is not None:
            rows.append(row)
    return rows


_PROFILE_COLUMNS = frozenset(
    {
        "display_name",
        "note",
        "note_source",
        "fields",
        "fields_source",
        "locked",
        "bot",
        "discoverable",
        "indexable",
        "hide_collections",
        "attribution_domains",
        "avatar_key",
        "header_key",
        "actor_type",
    }
)


async def update_profile(
    conn: Connection, account_id: int, changes: Mapping[str, Any], now: int
) -> None:
    """Change profile columns of an account (only the known ones)."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    unknown = set(changes) - _PROFILE_COLUMNS
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    if not changes:
        return
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=1))
    await conn.execute(
        f"UPDATE accounts SET {assignments}, updated_at = ${len(names) + 1} "
        f"WHERE id = ${len(names) + 2}",
        *(changes[n] for n in names),
        now,
        account_id,
    )


async def set_fields(conn: Connection, account_id: int, fields: str) -> None:
    """Replace an account's rendered `fields` JSON (a link's `verified_at` found or cleared);
    not a profile change, so `updated_at` stays."""
    await conn.execute("UPDATE accounts SET fields = $1 WHERE id = $2", fields, account_id)


async def remote_fields_by_uri(conn: Connection, uri: str) -> str | None:
    """The rendered `fields` JSON of a stored remote actor, by URI; None when not stored."""
    return await fetchval_as(
        conn, str, "SELECT fields FROM accounts WHERE uri = $1 AND domain IS NOT NULL", uri
    )


async def local_ids_with_links(conn: Connection, after_id: int, limit: int) -> list[int]:
    """Local, unsuspended accounts (ids above `after_id`, in order) whose fields name an
    `https` address: those whose links the scheduler verifies again."""
    rows = await conn.fetch(
        "SELECT id FROM accounts WHERE domain IS NULL AND suspended_at IS NULL AND id > $1 "
        "AND fields LIKE '%https:%' ORDER BY id LIMIT $2",
        after_id,
        limit,
    )
    return [int(r["id"]) for r in rows]


async def rename_local_account(conn: Connection, account_id: int, username: str, now: int) -> None:
    """Give a local account another username (the instance actor's upgrade)."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    await conn.execute(
        "UPDATE accounts SET username = $1, updated_at = $2 WHERE id = $3 AND domain IS NULL",
        username,
        now,
        account_id,
    )


async def set_also_known_as(conn: Connection, account_id: int, aliases: str, now: int) -> None:
    """Replace an account's aliases (a JSON list of actor URIs)."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    await conn.execute(
        "UPDATE accounts SET also_known_as = $1, updated_at = $2 WHERE id = $3",
        aliases,
        now,
        account_id,
    )


async def set_moved_to(conn: Connection, account_id: int, target_id: int, now: int) -> None:
    """Record that an account moved to another."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    await conn.execute(
        "UPDATE accounts SET moved_to_account_id = $1, moved_at = $2, updated_at = $2 "
        "WHERE id = $3",
        target_id,
        now,
        account_id,
    )


async def local_actor(conn: Connection, username: str) -> ActorRow | None:
    """A local account with its current public key, by username (case-insensitively)."""
    return await fetchrow_as(
        conn,
        ActorRow,
        "SELECT a.*, k.public_key_pem FROM accounts a "
        "JOIN keypairs k ON k.account_id = a.id "
        "WHERE a.domain IS NULL AND lower(a.username) = lower($1) "
        "ORDER BY k.id DESC LIMIT 1",
        username,
    )


async def actor_by_uri(conn: Connection, uri: str) -> ActorRow | None:
    """An account with its newest public key, by actor URI."""
    return await fetchrow_as(
        conn,
        ActorRow,
        "SELECT a.*, k.public_key_pem FROM accounts a "
        "JOIN keypairs k ON k.account_id = a.id WHERE a.uri = $1 ORDER BY k.id DESC LIMIT 1",
        uri,
    )


async def follower_uris(conn: Connection, account_id: int, offset: int, limit: int) -> list[str]:
    """Actor URIs of an account's followers, newest follow first."""
    return await _follow_uris(conn, "account_id", "target_account_id", account_id, offset, limit)


async def following_uris(conn: Connection, account_id: int, offset: int, limit: int) -> list[str]:
    """Actor URIs an account follows, newest follow first."""
    return await _follow_uris(conn, "target_account_id", "account_id", account_id, offset, limit)


async def _follow_uris(
    conn: Connection, side: str, other: str, account_id: int, offset: int, limit: int
) -> list[str]:
    """URIs of the accounts on `side` of the follows whose `other` side is `account_id`."""
    rows = await conn.fetch(
        f"SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.{side} "
        f"WHERE f.{other} = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3",
        account_id,
        limit,
        offset,
    )
    return [r["uri"] for r in rows]


async def private_key_of(conn: Connection, key_id: str) -> str | None:
    """The private PEM of a local key, by key id."""
    return await fetchval_as(
        conn, str, "SELECT private_key_pem FROM keypairs WHERE key_id = $1", key_id
    )


async def public_key_by_key_id(conn: Connection, key_id: str) -> PublicKeyRow | None:
    """A known public key with its owner's URI, domain and standing."""
    return await fetchrow_as(
        conn,
        PublicKeyRow,
        "SELECT k.id AS keypair_id, k.key_id, k.public_key_pem, a.id AS account_id, a.uri, "
        "a.domain, a.suspended_at, a.last_fetched_at FROM keypairs k "
        "JOIN accounts a ON a.id = k.account_id WHERE k.key_id = $1",
        key_id,
    )


async def remote_key_by_actor_uri(conn: Connection, uri: str) -> RemoteActorKeyRow | None:
    """A remote account by actor URI with its newest key (key_id and public_key_pem are
    None when it publishes none)."""
    return await fetchrow_as(
        conn,
        RemoteActorKeyRow,
        "SELECT a.id AS account_id, a.uri, a.domain, k.key_id, k.public_key_pem "
        "FROM accounts a LEFT JOIN keypairs k ON k.account_id = a.id "
        "WHERE a.uri = $1 AND a.domain IS NOT NULL ORDER BY k.id DESC LIMIT 1",
        uri,
    )


async def upsert_remote_actor(
    conn: Connection,
    account: Mapping[str, Any],
    key_id: str | None,
    public_key_pem: str | None,
    keypair_id: int,
    now: int,
) -> int:
    """Insert or refresh a remote actor (by URI) and its key; the account id."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    existing = await fetchval_as(
        conn, int, "SELECT id FROM accounts WHERE uri = $1 AND domain IS NOT NULL", account["uri"]
    )
    columns = (
        "username",
        "domain",
        "url",
        "actor_type",
        "display_name",
        "note",
        "fields",
        "locked",
        "bot",
        "discoverable",
        "indexable",
        "inbox_url",
        "shared_inbox_url",
        "outbox_url",
        "followers_url",
        "following_url",
        "featured_url",
        "avatar_remote_url",
        "header_remote_url",
        "also_known_as",
        "attribution_domains",
    )
    if existing is None:
        account_id = int(account["id"])
        names = ("id", "uri", *columns, "last_fetched_at", "created_at", "updated_at")
        values = [account_id, account["uri"], *(account.get(c) for c in columns), now, now, now]
        placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        await conn.execute(
            f"INSERT INTO accounts ({', '.join(names)}) VALUES ({placeholders})", *values
        )
    else:
        account_id = existing
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
        await conn.execute(
            f"UPDATE accounts SET {assignments}, last_fetched_at = ${len(columns) + 1}, "
            f"updated_at = ${len(columns) + 1} WHERE id = ${len(columns) + 2}",
            *(account.get(c) for c in columns),
            now,
            account_id,
        )
        accounts_changed(conn, (account_id,))
    if key_id and public_key_pem:
        # Keys rotate: the key id now published replaces whatever this account had.
        await conn.execute(
            "DELETE FROM keypairs WHERE account_id = $1 AND key_id <> $2", account_id, key_id
        )
        await conn.execute(
            "INSERT INTO keypairs (id, account_id, key_id, public_key_pem, created_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO UPDATE SET "
            "public_key_pem = excluded.public_key_pem, account_id = excluded.account_id",
            keypair_id,
            account_id,
            key_id,
            public_key_pem,
            now,
        )
    return account_id


# Standing and counters ----------------------------------------------------------------------


async def set_account_flag(
    conn: Connection, account_id: int, column: str, value: int | None, now: int
) -> bool:
    """Set `suspended_at`, `silenced_at` or `sensitized_at` (a time, or NULL to lift it);
    whether it changed."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    if column not in ("suspended_at", "silenced_at", "sensitized_at"):
        raise ValueError(column)
    if value is None:
        changed = await conn.execute(
            f"UPDATE accounts SET {column} = NULL, updated_at = $1 "
            f"WHERE id = $2 AND {column} IS NOT NULL",
            now,
            account_id,
        )
    else:
        changed = await conn.execute(
            f"UPDATE accounts SET {column} = $1, updated_at = $2 "
            f"WHERE id = $3 AND {column} IS NULL",
            value,
            now,
            account_id,
        )
    return bool(changed)


async def delete_account_row(conn: Connection, account_id: int) -> None:
    """Remove an account and everything hanging off it (a refused sign-up)."""
    await conn.execute("DELETE FROM accounts WHERE id = $1", account_id)


async def clear_profile_images(conn: Connection, account_id: int) -> set[str]:
    """Forget an account's avatar and header files; the keys they had."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(WebhookEvent("account.updated", account_id))
    row = await conn.fetchrow(
        "SELECT avatar_key, header_key FROM accounts WHERE id = $1", account_id
    )
    if row is None:
        return set()
    await conn.execute(
        "UPDATE accounts SET avatar_key = NULL, header_key = NULL, avatar_cached_at = NULL, "
        "header_cached_at = NULL WHERE id = $1",
        account_id,
    )
    return {k for k in (row["avatar_key"], row["header_key"]) if k}


async def set_image_copy(
    conn: Connection, account_id: int, which: str, key: str | None, url: str | None, now: int | None
) -> None:
    """Record the copy cached here of a remote account's `avatar` or `header` (its key,
    the URL it was taken from, when), or forget it (all None)."""
    accounts_changed(conn, (account_id,))
    if which not in ("avatar", "header"):
        raise ValueError(which)
    await conn.execute(
        f"UPDATE accounts SET {which}_key = $2, {which}_cached_url = $3, {which}_cached_at = $4 "
        "WHERE id = $1",
        account_id,
        key,
        url,
        now,
    )


async def recount_follows(conn: Connection, account_ids: Iterable[int]) -> None:
    """Recount followers and following of the given accounts from the follows."""
    account_ids = list(account_ids)
    accounts_changed(conn, account_ids)
    # Recounted rather than incremented, so the counts stay exact whatever races or
    # repairs happened before (the rows are the truth; two indexed counts are cheap).
    for account_id in account_ids:
        await conn.execute(
            "UPDATE accounts SET "
            "following_count = (SELECT COUNT(*) FROM follows WHERE account_id = $1), "
            "followers_count = (SELECT COUNT(*) FROM follows WHERE target_account_id = $1) "
            "WHERE id = $1",
            account_id,
        )


async def add_to_statuses_count(
    conn: Connection, account_id: int, delta: int, now: int | None
) -> None:
    """Change an account's statuses_count; `now` also sets last_status_at."""
    accounts_changed(conn, (account_id,))
    await conn.execute(
        "UPDATE accounts SET statuses_count = CASE WHEN statuses_count + $1 < 0 THEN 0 "
        "ELSE statuses_count + $1 END, last_status_at = COALESCE($2, last_status_at) "
        "WHERE id = $3",
        delta,
        now,
        account_id,
    )


async def purge_account(conn: Connection, account_id: int, now: int) -> None:
    """Empty a deleted account: its posts gone, its profile blank, its user disabled,
    its sessions and tokens revoked. The row stays so the name is never reused."""
    accounts_changed(conn, (account_id,))
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await statuses.mark_all_deleted(conn, account_id, now)
    await conn.execute(
        "UPDATE accounts SET display_name = '', note = '', note_source = '', fields = '[]', "
        "fields_source = '[]', avatar_key = NULL, header_key = NULL, statuses_count = 0, "
        "suspended_at = $1, updated_at = $1 WHERE id = $2",
        now,
        account_id,
    )
    await users.disable_for_deletion(conn, account_id, now)
    await users.revoke_access(conn, account_id, now)


# Who the profile directory shows (Mastodon's `Account.discoverable`): accounts that chose
# to be discovered, not suspended, silenced or moved, local ones approved and enabled, and
# none from a domain this server limits or suspends.
_DIRECTORY = (
    "SELECT a.* FROM accounts a LEFT JOIN users u ON u.account_id = a.id "
    "WHERE a.discoverable AND a.suspended_at IS NULL AND a.silenced_at IS NULL "
    "AND a.moved_to_account_id IS NULL "
    "AND (a.domain IS NOT NULL OR (u.approved AND NOT u.disabled)) "
    "AND (a.domain IS NULL OR NOT EXISTS (SELECT 1 FROM domain_blocks d "
    "     WHERE d.domain = a.domain AND d.severity IN ('silence', 'suspend')))"
)
# What a signed-in viewer does not see there: whom they block or mute (or who blocks them),
# and the domains they block.
_DIRECTORY_FOR_VIEWER = (
    " AND a.id <> $1"
    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = $1 AND b.target_account_id"
    "     = a.id) OR (b.account_id = a.id AND b.target_account_id = $1))"
    " AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = $1 AND m.target_account_id"
    "     = a.id AND (m.expires_at IS NULL OR m.expires_at > $2))"
    " AND (a.domain IS NULL OR NOT EXISTS (SELECT 1 FROM account_domain_blocks x"
    "     WHERE x.account_id = $1 AND x.domain = a.domain))"
)
DIRECTORY_ORDERS = {
    # Recently posting first; those who never posted last.
    "active": "ORDER BY a.last_status_at IS NULL, a.last_status_at DESC, a.id DESC",
    "new": "ORDER BY a.id DESC",
}


async def directory(
    conn: Connection,
    *,
    order: str,
    local_only: bool,
    viewer_id: int | None,
    now: int,
    offset: int,
    limit: int,
) -> list[AccountRow]:
    """A page of the profile directory (`order` is a key of DIRECTORY_ORDERS)."""
    sql = _DIRECTORY
    args: list[Any] = []
    if viewer_id is not None:
        sql += _DIRECTORY_FOR_VIEWER
        args = [viewer_id, now]
    if local_only:
        sql += " AND a.domain IS NULL"
    sql += f" {DIRECTORY_ORDERS[order]} LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}"
    return await fetch_as(conn, AccountRow, sql, *args, limit, offset)
