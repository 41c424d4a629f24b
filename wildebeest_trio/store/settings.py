"""SQL behind the settings pages: e-mail changes, two-factor secrets and recovery codes."""

from __future__ import annotations

from .base import Connection, Row
from .effects import INSTANCE_FACTS_CHANGED


async def otp_state(conn: Connection, user_id: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT id, otp_secret, otp_enabled_at, otp_last_step FROM users WHERE id = $1", user_id
    )


async def set_otp_secret(conn: Connection, user_id: int, secret: str | None, now: int) -> None:
    """Store a secret being set up (not yet enabled), or clear two-factor altogether."""
    await conn.execute(
        "UPDATE users SET otp_secret = $1, otp_enabled_at = NULL, otp_last_step = NULL, "
        "updated_at = $2 WHERE id = $3",
        secret,
        now,
        user_id,
    )
    await conn.execute("DELETE FROM user_recovery_codes WHERE user_id = $1", user_id)


async def enable_otp(conn: Connection, user_id: int, step: int, now: int) -> None:
    await conn.execute(
        "UPDATE users SET otp_enabled_at = $1, otp_last_step = $2, updated_at = $1 WHERE id = $3",
        now,
        step,
        user_id,
    )


async def use_otp_step(conn: Connection, user_id: int, step: int) -> bool:
    """Record a used time step; False when it (or a later one) was already used."""
    changed = await conn.execute(
        "UPDATE users SET otp_last_step = $1 WHERE id = $2 "
        "AND (otp_last_step IS NULL OR otp_last_step < $1)",
        step,
        user_id,
    )
    return bool(changed)


async def insert_recovery_codes(conn: Connection, rows: list[tuple[int, int, str, int]]) -> None:
    await conn.executemany(
        "INSERT INTO user_recovery_codes (id, user_id, code_hash, created_at) "
        "VALUES ($1, $2, $3, $4)",
        rows,
    )


async def use_recovery_code(conn: Connection, user_id: int, code_hash: str, now: int) -> bool:
    """Spend an unused recovery code; whether there was one."""
    changed = await conn.execute(
        "UPDATE user_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 "
        "AND used_at IS NULL",
        now,
        user_id,
        code_hash,
    )
    return bool(changed)


async def unused_recovery_codes(conn: Connection, user_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT COUNT(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            user_id,
        )
    )


async def set_unconfirmed_email(
    conn: Connection, user_id: int, email: str | None, now: int
) -> None:
    await conn.execute(
        "UPDATE users SET unconfirmed_email = $1, updated_at = $2 WHERE id = $3",
        email,
        now,
        user_id,
    )


async def unconfirmed_email(conn: Connection, user_id: int) -> str | None:
    return await conn.fetchval("SELECT unconfirmed_email FROM users WHERE id = $1", user_id)


async def swap_email(conn: Connection, user_id: int, email: str, now: int) -> None:
    """Make a confirmed new address the account's address."""
    await conn.execute(
        "UPDATE users SET email = $1, unconfirmed_email = NULL, "
        "confirmed_at = COALESCE(confirmed_at, $2), updated_at = $2 WHERE id = $3",
        email,
        now,
        user_id,
    )


async def purge_account(conn: Connection, account_id: int, now: int) -> None:
    """Empty a deleted account: its posts gone, its profile blank, its user disabled,
    its sessions and tokens revoked. The row stays so the name is never reused."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "UPDATE statuses SET deleted_at = $1, updated_at = $1 "
        "WHERE account_id = $2 AND deleted_at IS NULL",
        now,
        account_id,
    )
    await conn.execute(
        "UPDATE accounts SET display_name = '', note = '', note_source = '', fields = '[]', "
        "fields_source = '[]', avatar_key = NULL, header_key = NULL, statuses_count = 0, "
        "suspended_at = $1, updated_at = $1 WHERE id = $2",
        now,
        account_id,
    )
    await conn.execute(
        "UPDATE users SET disabled = TRUE, otp_secret = NULL, otp_enabled_at = NULL, "
        "updated_at = $1 WHERE account_id = $2",
        now,
        account_id,
    )
    await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        now,
        account_id,
    )
    await conn.execute(
        "UPDATE oauth_access_tokens SET revoked_at = $1 WHERE account_id = $2 "
        "AND revoked_at IS NULL",
        now,
        account_id,
    )


# Exports ----------------------------------------------------------------------------------------


async def followed_for_export(conn: Connection, account_id: int, limit: int) -> list[Row]:
    return await conn.fetch(
        "SELECT a.username, a.domain, f.show_reblogs, f.notify, f.languages FROM follows f "
        "JOIN accounts a ON a.id = f.target_account_id WHERE f.account_id = $1 "
        "ORDER BY f.id LIMIT $2",
        account_id,
        limit,
    )


async def blocked_for_export(conn: Connection, account_id: int, limit: int) -> list[Row]:
    return await conn.fetch(
        "SELECT a.username, a.domain FROM blocks b JOIN accounts a ON a.id = b.target_account_id "
        "WHERE b.account_id = $1 ORDER BY b.id LIMIT $2",
        account_id,
        limit,
    )


async def muted_for_export(conn: Connection, account_id: int, now: int, limit: int) -> list[Row]:
    return await conn.fetch(
        "SELECT a.username, a.domain, m.hide_notifications FROM mutes m "
        "JOIN accounts a ON a.id = m.target_account_id WHERE m.account_id = $1 "
        "AND (m.expires_at IS NULL OR m.expires_at > $2) ORDER BY m.id LIMIT $3",
        account_id,
        now,
        limit,
    )
