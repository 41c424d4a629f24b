"""Rows of security keys and passkeys (WebAuthn credentials), a second sign-in factor.

Every write to `webauthn_credentials` is here.
"""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .rows import WebauthnCredentialRow

_COLUMNS = "id, user_id, nickname, credential_id, public_key, sign_count, created_at, last_used_at"


async def credentials_of(conn: Connection, user_id: int) -> list[WebauthnCredentialRow]:
    """A user's keys, oldest first."""
    return await fetch_as(
        conn,
        WebauthnCredentialRow,
        f"SELECT {_COLUMNS} FROM webauthn_credentials WHERE user_id = $1 ORDER BY id",
        user_id,
    )


async def credential_by_external_id(
    conn: Connection, user_id: int, credential_id: str
) -> WebauthnCredentialRow | None:
    """The user's key whose browser-side id is `credential_id`."""
    return await fetchrow_as(
        conn,
        WebauthnCredentialRow,
        f"SELECT {_COLUMNS} FROM webauthn_credentials WHERE user_id = $1 AND credential_id = $2",
        user_id,
        credential_id,
    )


async def external_id_taken(conn: Connection, credential_id: str) -> bool:
    return (
        await fetchval_as(
            conn, int, "SELECT 1 FROM webauthn_credentials WHERE credential_id = $1", credential_id
        )
        is not None
    )


async def nickname_taken(conn: Connection, user_id: int, nickname: str) -> bool:
    return (
        await fetchval_as(
            conn,
            int,
            "SELECT 1 FROM webauthn_credentials WHERE user_id = $1 AND nickname = $2",
            user_id,
            nickname,
        )
        is not None
    )


async def count_of(conn: Connection, user_id: int) -> int:
    return int(
        await conn.fetchval("SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = $1", user_id)
    )


async def insert_credential(conn: Connection, row: WebauthnCredentialRow) -> None:
    await conn.execute(
        f"INSERT INTO webauthn_credentials ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        row["id"],
        row["user_id"],
        row["nickname"],
        row["credential_id"],
        row["public_key"],
        row["sign_count"],
        row["created_at"],
        row["last_used_at"],
    )


async def record_use(
    conn: Connection, key_id: int, sign_count: int, seen_last_used: int | None, now: int
) -> bool:
    """After a sign-in with the key: its new counter and when; False when another sign-in
    used it since `seen_last_used` was read (the same answer must not count twice).

    `last_used_at` always moves forward, so the challenges bound to it die."""
    changed = await conn.execute(
        "UPDATE webauthn_credentials SET sign_count = $1, "
        "last_used_at = CASE WHEN last_used_at IS NOT NULL AND last_used_at >= $2 "
        "THEN last_used_at + 1 ELSE $2 END "
        "WHERE id = $3 AND COALESCE(last_used_at, -1) = $4",
        sign_count,
        now,
        key_id,
        -1 if seen_last_used is None else seen_last_used,
    )
    return bool(changed)


async def delete_credential(conn: Connection, user_id: int, key_id: int) -> bool:
    """Remove one of the user's keys; whether there was one."""
    changed = await conn.execute(
        "DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2", key_id, user_id
    )
    return bool(changed)


async def delete_all(conn: Connection, user_id: int) -> None:
    """Remove every key of the user (two-factor turned off)."""
    await conn.execute("DELETE FROM webauthn_credentials WHERE user_id = $1", user_id)
