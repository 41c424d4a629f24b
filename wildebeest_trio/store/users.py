"""Local users: credentials, two-factor sign-in, standing, preferences, web sessions.

Every write to `users`, `user_recovery_codes` and `web_sessions` is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import daily_counters, oauth
from .base import ROLE_SQL, Connection, fetch_as, fetchrow_as, fetchval_as
from .effects import INSTANCE_FACTS_CHANGED, WebhookEvent
from .rows import (
    DigestUserRow,
    LiveSessionRow,
    OtpStateRow,
    SessionAccountRow,
    UserAccountRow,
    UserMailRow,
)

__all__ = ["Connection"]

_USER_WITH_ACCOUNT = (
    "SELECT u.id AS user_id, u.account_id, u.email, u.password_hash, "
    + ROLE_SQL
    + "u.confirmed_at, "
    "u.approved, u.disabled, u.locale, u.settings, u.created_at AS user_created_at, "
    "a.username, a.suspended_at FROM users u JOIN accounts a ON a.id = u.account_id "
)


async def insert_user(conn: Connection, user: Mapping[str, Any]) -> None:
    """Insert the local credentials of an account."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "INSERT INTO users (id, account_id, email, password_hash, role, confirmed_at, approved, "
        "sign_up_reason, locale, created_at, updated_at, owner, sign_up_ip) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)",
        user["id"],
        user["account_id"],
        user["email"],
        user["password_hash"],
        "admin" if user["role"] == "owner" else user["role"],
        user["confirmed_at"],
        user["approved"],
        user.get("sign_up_reason", ""),
        user.get("locale", "en"),
        user["created_at"],
        user["role"] == "owner",
        user.get("sign_up_ip"),
    )
    await daily_counters.bump(conn, "new_users", user["created_at"])
    # Mastodon's User: `account.created` on create, `account.approved` once it may sign in.
    conn.effects.add(WebhookEvent("account.created", user["account_id"]))
    if user["approved"] and user["confirmed_at"] is not None:
        conn.effects.add(WebhookEvent("account.approved", user["account_id"]))


async def user_by_login(conn: Connection, login: str) -> UserAccountRow | None:
    """A user by e-mail address, or by username when no e-mail address matches."""
    row = await fetchrow_as(
        conn, UserAccountRow, _USER_WITH_ACCOUNT + "WHERE lower(u.email) = lower($1)", login
    )
    if row is None:
        row = await fetchrow_as(
            conn,
            UserAccountRow,
            _USER_WITH_ACCOUNT + "WHERE lower(a.username) = lower($1) AND a.domain IS NULL",
            login,
        )
    return row


async def user_by_account(conn: Connection, account_id: int) -> UserAccountRow | None:
    return await fetchrow_as(
        conn, UserAccountRow, _USER_WITH_ACCOUNT + "WHERE u.account_id = $1", account_id
    )


async def update_settings(conn: Connection, account_id: int, settings: str, now: int) -> None:
    await conn.execute(
        "UPDATE users SET settings = $1, updated_at = $2 WHERE account_id = $3",
        settings,
        now,
        account_id,
    )


async def digest_due(
    conn: Connection, away_since: int, mailed_before: int, limit: int
) -> list[DigestUserRow]:
    """Confirmed, working users last signed in before `away_since` and not mailed a digest
    since `mailed_before` (ms), oldest sign-in first."""
    return await fetch_as(
        conn,
        DigestUserRow,
        "SELECT u.id AS user_id, u.account_id, u.email, u.settings, u.last_sign_in_at, "
        "u.last_emailed_at FROM users u JOIN accounts a ON a.id = u.account_id "
        "WHERE u.confirmed_at IS NOT NULL AND NOT u.disabled AND u.approved "
        "AND a.suspended_at IS NULL AND u.last_sign_in_at < $1 "
        "AND (u.last_emailed_at IS NULL OR u.last_emailed_at < $2) "
        "ORDER BY u.last_sign_in_at LIMIT $3",
        away_since,
        mailed_before,
        limit,
    )


async def record_emailed(conn: Connection, user_id: int, now: int) -> None:
    """Note that a digest was considered for this user now (mailed or nothing to tell)."""
    await conn.execute("UPDATE users SET last_emailed_at = $1 WHERE id = $2", now, user_id)


async def record_sign_in(conn: Connection, account_id: int, now: int) -> None:
    await conn.execute(
        "UPDATE users SET last_sign_in_at = $1 WHERE account_id = $2", now, account_id
    )


async def insert_session(
    conn: Connection,
    *,
    session_id: int,
    account_id: int,
    token_hash: str,
    user_agent: str,
    ip: str,
    now: int,
) -> None:
    await conn.execute(
        "INSERT INTO web_sessions (id, account_id, token_hash, user_agent, ip, created_at, "
        "last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        session_id,
        account_id,
        token_hash,
        user_agent[:500],
        ip[:64],
        now,
    )


async def session_account(conn: Connection, token_hash: str) -> SessionAccountRow | None:
    """The signed-in account of an unrevoked session, with the user's standing."""
    return await fetchrow_as(
        conn,
        SessionAccountRow,
        "SELECT s.id AS session_id, s.account_id, s.last_seen_at, " + ROLE_SQL + "u.approved, "
        "u.disabled, u.confirmed_at, a.username, a.suspended_at FROM web_sessions s "
        "JOIN users u ON u.account_id = s.account_id JOIN accounts a ON a.id = s.account_id "
        "WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        token_hash,
    )


async def touch_session(conn: Connection, session_id: int, ip: str, now: int) -> None:
    """Record a session's latest use and the address it came from."""
    await conn.execute(
        "UPDATE web_sessions SET last_seen_at = $1, ip = $2 WHERE id = $3",
        now,
        ip[:64],
        session_id,
    )
    await daily_counters.mark_session_active(conn, session_id, now)


async def revoke_session(conn: Connection, token_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        now,
        token_hash,
    )


async def live_sessions(conn: Connection, account_id: int, seen_since: int) -> list[LiveSessionRow]:
    """An account's unrevoked sessions used since `seen_since`, the latest used first."""
    return await fetch_as(
        conn,
        LiveSessionRow,
        "SELECT id, user_agent, ip, created_at, last_seen_at FROM web_sessions "
        "WHERE account_id = $1 AND revoked_at IS NULL AND last_seen_at >= $2 "
        "ORDER BY last_seen_at DESC, id DESC",
        account_id,
        seen_since,
    )


async def revoke_session_of_account(
    conn: Connection, session_id: int, account_id: int, now: int
) -> bool:
    """End one session of an account; False when it names none of its live sessions."""
    changed = await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE id = $2 AND account_id = $3 "
        "AND revoked_at IS NULL",
        now,
        session_id,
        account_id,
    )
    return changed == 1


async def forget_sessions(conn: Connection, before: int) -> int:
    """Delete sessions revoked, or last used, before `before`."""
    return await conn.execute(
        "DELETE FROM web_sessions WHERE revoked_at < $1 OR last_seen_at < $1", before
    )


async def confirm_email(conn: Connection, user_id: int, now: int) -> bool:
    """Mark a user's e-mail address confirmed; False if it already was."""
    changed = await conn.execute(
        "UPDATE users SET confirmed_at = $1, updated_at = $1 WHERE id = $2 "
        "AND confirmed_at IS NULL",
        now,
        user_id,
    )
    return changed == 1


async def user_by_id(conn: Connection, user_id: int) -> UserAccountRow | None:
    return await fetchrow_as(conn, UserAccountRow, _USER_WITH_ACCOUNT + "WHERE u.id = $1", user_id)


async def set_password_hash(conn: Connection, user_id: int, password_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        password_hash,
        now,
        user_id,
    )


async def revoke_sessions_of_account(conn: Connection, account_id: int, now: int) -> int:
    return await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        now,
        account_id,
    )


async def revoke_access(conn: Connection, account_id: int, now: int) -> None:
    """End every web session and token of an account."""
    await revoke_sessions_of_account(conn, account_id, now)
    await oauth.revoke_tokens_of_account(conn, account_id, now)


async def set_standing(
    conn: Connection,
    user_id: int,
    *,
    now: int,
    role: str | None = None,
    approved: bool | None = None,
    disabled: bool | None = None,
    confirm: bool = False,
) -> None:
    """Change a user's role, approval, disabled flag or confirmation (None: unchanged).

    A user approved and confirmed by this change records `account.approved` (Mastodon's
    `prepare_new_user!`)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    before = None
    if approved or confirm:
        before = await conn.fetchrow(
            "SELECT account_id, approved, confirmed_at FROM users WHERE id = $1", user_id
        )
    if role is not None:
        # The owner is stored as an admin with the owner flag (see migration 0026).
        await conn.execute(
            "UPDATE users SET role = $1, owner = $2, updated_at = $3 WHERE id = $4",
            "admin" if role == "owner" else role,
            role == "owner",
            now,
            user_id,
        )
    if approved is not None:
        await conn.execute(
            "UPDATE users SET approved = $1, updated_at = $2 WHERE id = $3", approved, now, user_id
        )
    if disabled is not None:
        await conn.execute(
            "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3", disabled, now, user_id
        )
    if confirm:
        await conn.execute(
            "UPDATE users SET confirmed_at = COALESCE(confirmed_at, $1), updated_at = $1 "
            "WHERE id = $2",
            now,
            user_id,
        )
    if before is not None and not (before["approved"] and before["confirmed_at"] is not None):
        if (approved or before["approved"]) and (confirm or before["confirmed_at"] is not None):
            conn.effects.add(WebhookEvent("account.approved", int(before["account_id"])))


async def disable_for_deletion(conn: Connection, account_id: int, now: int) -> None:
    """Disable the user of a deleted account, two-factor sign-in cleared."""
    await conn.execute(
        "UPDATE users SET disabled = TRUE, otp_secret = NULL, otp_enabled_at = NULL, "
        "updated_at = $1 WHERE account_id = $2",
        now,
        account_id,
    )


# E-mail changes ---------------------------------------------------------------------------------


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
    return await fetchval_as(
        conn, str, "SELECT unconfirmed_email FROM users WHERE id = $1", user_id
    )


async def readdress_unconfirmed(conn: Connection, user_id: int, email: str, now: int) -> bool:
    """Replace the address of a user who has not confirmed it yet; whether it changed."""
    changed = await conn.execute(
        "UPDATE users SET email = $1, updated_at = $2 WHERE id = $3 AND confirmed_at IS NULL",
        email,
        now,
        user_id,
    )
    return changed == 1


async def swap_email(conn: Connection, user_id: int, email: str, now: int) -> None:
    """Make a confirmed new address the account's address."""
    await conn.execute(
        "UPDATE users SET email = $1, unconfirmed_email = NULL, "
        "confirmed_at = COALESCE(confirmed_at, $2), updated_at = $2 WHERE id = $3",
        email,
        now,
        user_id,
    )


# Two-factor sign-in -----------------------------------------------------------------------------


async def otp_state(conn: Connection, user_id: int) -> OtpStateRow | None:
    return await fetchrow_as(
        conn,
        OtpStateRow,
        "SELECT id, otp_secret, otp_enabled_at, otp_last_step FROM users WHERE id = $1",
        user_id,
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


async def mailable_after(conn: Connection, after_id: int, limit: int) -> list[UserMailRow]:
    """Confirmed, working users with an id past `after_id`, in id order: whom a notice to
    every user goes to (Mastodon mails confirmed users not disabled or suspended)."""
    return await fetch_as(
        conn,
        UserMailRow,
        "SELECT u.id AS user_id, u.account_id, u.email, a.username FROM users u "
        "JOIN accounts a ON a.id = u.account_id "
        "WHERE u.id > $1 AND u.confirmed_at IS NOT NULL AND NOT u.disabled AND u.approved "
        "AND a.suspended_at IS NULL ORDER BY u.id LIMIT $2",
        after_id,
        limit,
    )
