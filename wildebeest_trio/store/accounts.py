"""Accounts, their key pairs and their users (local credentials)."""

from __future__ import annotations

from typing import Any

from .base import Connection, Row

_ACCOUNT_COLUMNS = (
    "id, username, domain, uri, url, actor_type, display_name, note, locked, bot, discoverable, "
    "inbox_url, shared_inbox_url, outbox_url, followers_url, following_url, featured_url, "
    "created_at, updated_at"
)


async def insert_account(conn: Connection, account: dict[str, Any]) -> None:
    """Insert an account row (`account` holds at least the columns named above)."""
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
    await conn.execute(
        "INSERT INTO users (id, account_id, email, password_hash, role, confirmed_at, approved, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        user["id"],
        user["account_id"],
        user["email"],
        user["password_hash"],
        user["role"],
        user["confirmed_at"],
        user["approved"],
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
