"""Accounts, their key pairs and their users (local credentials)."""

from __future__ import annotations

from typing import Any

from .base import Connection, Row
from .effects import INSTANCE_FACTS_CHANGED

_ACCOUNT_COLUMNS = (
    "id, username, domain, uri, url, actor_type, display_name, note, locked, bot, discoverable, "
    "inbox_url, shared_inbox_url, outbox_url, followers_url, following_url, featured_url, "
    "created_at, updated_at"
)


async def insert_account(conn: Connection, account: dict[str, Any]) -> None:
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


async def insert_user(conn: Connection, user: dict[str, Any]) -> None:
    """Insert the local credentials of an account."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "INSERT INTO users (id, account_id, email, password_hash, role, confirmed_at, approved, "
        "sign_up_reason, locale, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        user["id"],
        user["account_id"],
        user["email"],
        user["password_hash"],
        user["role"],
        user["confirmed_at"],
        user["approved"],
        user.get("sign_up_reason", ""),
        user.get("locale", "en"),
        user["created_at"],
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


async def local_account_by_username(conn: Connection, username: str) -> Row | None:
    """A local account and its user's role and state, by username."""
    return await conn.fetchrow(
        "SELECT a.*, u.id AS user_id, u.email, u.role, u.approved, u.disabled, u.confirmed_at "
        "FROM accounts a JOIN users u ON u.account_id = a.id "
        "WHERE a.domain IS NULL AND lower(a.username) = lower($1)",
        username,
    )


async def account_by_id(conn: Connection, account_id: int) -> Row | None:
    """Any account, by id."""
    return await conn.fetchrow("SELECT * FROM accounts WHERE id = $1", account_id)


async def first_admin(conn: Connection) -> Row | None:
    """The oldest active admin account (the instance's default contact)."""
    return await conn.fetchrow(
        "SELECT a.* FROM accounts a JOIN users u ON u.account_id = a.id "
        "WHERE u.role = 'admin' AND NOT u.disabled AND a.suspended_at IS NULL "
        "ORDER BY a.id LIMIT 1"
    )


async def account_by_acct(conn: Connection, username: str, domain: str | None) -> Row | None:
    """An account by `username` (local) or `username@domain` (remote), case-insensitively."""
    if domain is None:
        return await conn.fetchrow(
            "SELECT * FROM accounts WHERE domain IS NULL AND lower(username) = lower($1)",
            username,
        )
    return await conn.fetchrow(
        "SELECT * FROM accounts WHERE lower(username) = lower($1) AND lower(domain) = lower($2)",
        username,
        domain,
    )


async def accounts_by_acct(conn: Connection, pairs: list[tuple[str, str | None]]) -> list[Row]:
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
        "avatar_key",
        "header_key",
        "actor_type",
    }
)


async def update_profile(
    conn: Connection, account_id: int, changes: dict[str, Any], now: int
) -> None:
    """Change profile columns of an account (only the known ones)."""
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


async def rename_local_account(conn: Connection, account_id: int, username: str, now: int) -> None:
    """Give a local account another username (the instance actor's upgrade)."""
    await conn.execute(
        "UPDATE accounts SET username = $1, updated_at = $2 WHERE id = $3 AND domain IS NULL",
        username,
        now,
        account_id,
    )


async def set_also_known_as(conn: Connection, account_id: int, aliases: str, now: int) -> None:
    """Replace an account's aliases (a JSON list of actor URIs)."""
    await conn.execute(
        "UPDATE accounts SET also_known_as = $1, updated_at = $2 WHERE id = $3",
        aliases,
        now,
        account_id,
    )


async def set_moved_to(conn: Connection, account_id: int, target_id: int, now: int) -> None:
    """Record that an account moved to another."""
    await conn.execute(
        "UPDATE accounts SET moved_to_account_id = $1, updated_at = $2 WHERE id = $3",
        target_id,
        now,
        account_id,
    )


async def local_actor(conn: Connection, username: str) -> Row | None:
    """A local account with its current public key, by username (case-insensitively)."""
    return await conn.fetchrow(
        "SELECT a.*, k.public_key_pem FROM accounts a "
        "JOIN keypairs k ON k.account_id = a.id "
        "WHERE a.domain IS NULL AND lower(a.username) = lower($1) "
        "ORDER BY k.id DESC LIMIT 1",
        username,
    )


async def actor_by_uri(conn: Connection, uri: str) -> Row | None:
    """An account with its newest public key, by actor URI."""
    return await conn.fetchrow(
        "SELECT a.*, k.public_key_pem FROM accounts a "
        "JOIN keypairs k ON k.account_id = a.id WHERE a.uri = $1 ORDER BY k.id DESC LIMIT 1",
        uri,
    )


async def follower_uris(conn: Connection, account_id: int, offset: int, limit: int) -> list[str]:
    """Actor URIs of an account's followers, newest follow first."""
    rows = await conn.fetch(
        "SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3",
        account_id,
        limit,
        offset,
    )
    return [r["uri"] for r in rows]


async def following_uris(conn: Connection, account_id: int, offset: int, limit: int) -> list[str]:
    """Actor URIs an account follows, newest follow first."""
    rows = await conn.fetch(
        "SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.target_account_id "
        "WHERE f.account_id = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3",
        account_id,
        limit,
        offset,
    )
    return [r["uri"] for r in rows]


async def private_key_of(conn: Connection, key_id: str) -> str | None:
    """The private PEM of a local key, by key id."""
    return await conn.fetchval("SELECT private_key_pem FROM keypairs WHERE key_id = $1", key_id)


async def public_key_by_key_id(conn: Connection, key_id: str) -> Row | None:
    """A known public key with its owner's URI, domain and standing."""
    return await conn.fetchrow(
        "SELECT k.id AS keypair_id, k.key_id, k.public_key_pem, a.id AS account_id, a.uri, "
        "a.domain, a.suspended_at, a.last_fetched_at FROM keypairs k "
        "JOIN accounts a ON a.id = k.account_id WHERE k.key_id = $1",
        key_id,
    )


async def remote_key_by_actor_uri(conn: Connection, uri: str) -> Row | None:
    """A remote account by actor URI with its newest key (key_id and public_key_pem are
    None when it publishes none)."""
    return await conn.fetchrow(
        "SELECT a.id AS account_id, a.uri, a.domain, k.key_id, k.public_key_pem "
        "FROM accounts a LEFT JOIN keypairs k ON k.account_id = a.id "
        "WHERE a.uri = $1 AND a.domain IS NOT NULL ORDER BY k.id DESC LIMIT 1",
        uri,
    )


async def upsert_remote_actor(
    conn: Connection,
    account: dict[str, Any],
    key_id: str | None,
    public_key_pem: str | None,
    keypair_id: int,
    now: int,
) -> int:
    """Insert or refresh a remote actor (by URI) and its key; the account id."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    existing = await conn.fetchrow(
        "SELECT id FROM accounts WHERE uri = $1 AND domain IS NOT NULL", account["uri"]
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
    )
    if existing is None:
        account_id = account["id"]
        names = ("id", "uri", *columns, "last_fetched_at", "created_at", "updated_at")
        values = [account_id, account["uri"], *(account[c] for c in columns), now, now, now]
        placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        await conn.execute(
            f"INSERT INTO accounts ({', '.join(names)}) VALUES ({placeholders})", *values
        )
    else:
        account_id = existing["id"]
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
        await conn.execute(
            f"UPDATE accounts SET {assignments}, last_fetched_at = ${len(columns) + 1}, "
            f"updated_at = ${len(columns) + 1} WHERE id = ${len(columns) + 2}",
            *(account[c] for c in columns),
            now,
            account_id,
        )
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
