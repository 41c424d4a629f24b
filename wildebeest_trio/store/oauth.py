"""OAuth applications and access tokens (tokens are stored as SHA-256 hashes)."""

from __future__ import annotations

from .base import Connection, Row


async def insert_application(
    conn: Connection,
    *,
    app_id: int,
    name: str,
    website: str | None,
    redirect_uris: str,
    scopes: str,
    client_id: str,
    client_secret: str,
    owner_account_id: int | None,
    now: int,
) -> None:
    """Register an OAuth application."""
    await conn.execute(
        "INSERT INTO oauth_applications (id, name, website, redirect_uris, scopes, client_id, "
        "client_secret, owner_account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        app_id,
        name,
        website,
        redirect_uris,
        scopes,
        client_id,
        client_secret,
        owner_account_id,
        now,
    )


async def application_by_name_for_owner(conn: Connection, name: str, owner: int) -> Row | None:
    """An application an account registered for itself under this name."""
    return await conn.fetchrow(
        "SELECT * FROM oauth_applications WHERE name = $1 AND owner_account_id = $2",
        name,
        owner,
    )


async def insert_token(
    conn: Connection,
    *,
    token_id: int,
    application_id: int | None,
    account_id: int | None,
    token_hash: str,
    scopes: str,
    now: int,
) -> None:
    """Store an access token by its hash."""
    await conn.execute(
        "INSERT INTO oauth_access_tokens (id, application_id, account_id, token_hash, scopes, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        token_id,
        application_id,
        account_id,
        token_hash,
        scopes,
        now,
    )


async def token_by_hash(conn: Connection, token_hash: str) -> Row | None:
    """A live (unrevoked) token and its account, by hash."""
    return await conn.fetchrow(
        "SELECT t.*, a.username FROM oauth_access_tokens t "
        "LEFT JOIN accounts a ON a.id = t.account_id "
        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        token_hash,
    )
