"""OAuth applications and access tokens (tokens are stored as SHA-256 hashes)."""

from __future__ import annotations

from .base import ROLE_SQL, Connection, fetch_as, fetchrow_as
from .rows import (
    AuthorizedApplicationRow,
    OAuthAccessGrantRow,
    OAuthAccessTokenRow,
    OAuthApplicationRow,
    TakenGrantRow,
    TokenAuthRow,
    TokenWithUsernameRow,
)


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


async def application_by_name_for_owner(
    conn: Connection, name: str, owner: int
) -> OAuthApplicationRow | None:
    """An application an account registered for itself under this name."""
    return await fetchrow_as(
        conn,
        OAuthApplicationRow,
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


async def token_by_hash(conn: Connection, token_hash: str) -> TokenWithUsernameRow | None:
    """A live (unrevoked) token and its account, by hash."""
    return await fetchrow_as(
        conn,
        TokenWithUsernameRow,
        "SELECT t.*, a.username FROM oauth_access_tokens t "
        "LEFT JOIN accounts a ON a.id = t.account_id "
        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        token_hash,
    )


async def token_with_user(conn: Connection, token_hash: str) -> TokenAuthRow | None:
    """A live token with its user's standing (for authentication)."""
    return await fetchrow_as(
        conn,
        TokenAuthRow,
        "SELECT t.id, t.application_id, t.account_id, t.scopes, t.created_at, t.last_used_at, "
        "u.id AS user_id, " + ROLE_SQL + "u.approved, u.disabled, u.confirmed_at, a.suspended_at "
        "FROM oauth_access_tokens t "
        "LEFT JOIN accounts a ON a.id = t.account_id "
        "LEFT JOIN users u ON u.account_id = t.account_id "
        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        token_hash,
    )


async def touch_token(conn: Connection, token_id: int, now: int) -> None:
    """Record that a token was used."""
    await conn.execute(
        "UPDATE oauth_access_tokens SET last_used_at = $1 WHERE id = $2", now, token_id
    )


async def application_by_client_id(conn: Connection, client_id: str) -> OAuthApplicationRow | None:
    """An application by its public client id."""
    return await fetchrow_as(
        conn,
        OAuthApplicationRow,
        "SELECT * FROM oauth_applications WHERE client_id = $1",
        client_id,
    )


async def application_by_id(conn: Connection, app_id: int) -> OAuthApplicationRow | None:
    return await fetchrow_as(
        conn, OAuthApplicationRow, "SELECT * FROM oauth_applications WHERE id = $1", app_id
    )


async def insert_grant(
    conn: Connection,
    *,
    grant_id: int,
    application_id: int,
    account_id: int,
    code_hash: str,
    redirect_uri: str,
    scopes: str,
    code_challenge: str | None,
    now: int,
    expires_at: int,
) -> None:
    """Store a one-time authorization code (by hash)."""
    await conn.execute(
        "INSERT INTO oauth_access_grants (id, application_id, account_id, code_hash, "
        "redirect_uri, scopes, code_challenge, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        grant_id,
        application_id,
        account_id,
        code_hash,
        redirect_uri,
        scopes,
        code_challenge,
        now,
        expires_at,
    )


async def take_grant(conn: Connection, code_hash: str, now: int) -> TakenGrantRow | None:
    """Mark a code used and return it, `reused` when it had been used before (one use
    only); None if unknown."""
    row = await grant_by_code_hash(conn, code_hash)
    if row is None:
        return None
    changed = await conn.execute(
        "UPDATE oauth_access_grants SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        now,
        row["id"],
    )
    return {**row, "reused": changed != 1}


async def revoke_tokens_of_grant_account(
    conn: Connection, application_id: int, account_id: int, now: int
) -> int:
    """Revoke every token an account gave an application."""
    return await conn.execute(
        "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE application_id = $2 "
        "AND account_id = $3 AND revoked_at IS NULL",
        now,
        application_id,
        account_id,
    )


async def token_by_hash_any(conn: Connection, token_hash: str) -> OAuthAccessTokenRow | None:
    """A token by hash, revoked or not."""
    return await fetchrow_as(
        conn,
        OAuthAccessTokenRow,
        "SELECT * FROM oauth_access_tokens WHERE token_hash = $1",
        token_hash,
    )


async def revoke_token(conn: Connection, token_id: int, now: int) -> None:
    await conn.execute(
        "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        now,
        token_id,
    )


async def revoke_tokens_of_account(conn: Connection, account_id: int, now: int) -> None:
    """Revoke every live token of an account (all its applications)."""
    await conn.execute(
        "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE account_id = $2 "
        "AND revoked_at IS NULL",
        now,
        account_id,
    )


async def authorized_applications(
    conn: Connection, account_id: int
) -> list[AuthorizedApplicationRow]:
    """Applications holding live tokens of an account, with their scopes and first use."""
    return await fetch_as(
        conn,
        AuthorizedApplicationRow,
        "SELECT a.id, a.name, a.website, MIN(t.created_at) AS authorized_at, "
        "MAX(t.last_used_at) AS last_used_at, "
        "COUNT(*) AS tokens FROM oauth_access_tokens t "
        "JOIN oauth_applications a ON a.id = t.application_id "
        "WHERE t.account_id = $1 AND t.revoked_at IS NULL "
        "GROUP BY a.id, a.name, a.website ORDER BY MIN(t.created_at)",
        account_id,
    )


async def grant_by_code_hash(conn: Connection, code_hash: str) -> OAuthAccessGrantRow | None:
    return await fetchrow_as(
        conn,
        OAuthAccessGrantRow,
        "SELECT * FROM oauth_access_grants WHERE code_hash = $1",
        code_hash,
    )
