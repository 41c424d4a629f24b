"""Local users: credentials, standing, preferences, sessions."""

from __future__ import annotations

from .base import Connection, Row
from .effects import INSTANCE_FACTS_CHANGED

__all__ = ["Connection"]

_USER_WITH_ACCOUNT = (
    "SELECT u.id AS user_id, u.account_id, u.email, u.password_hash, u.role, u.confirmed_at, "
    "u.approved, u.disabled, u.locale, u.settings, u.created_at AS user_created_at, "
    "a.username, a.suspended_at FROM users u JOIN accounts a ON a.id = u.account_id "
)


async def user_by_login(conn: Connection, login: str) -> Row | None:
    """A user by e-mail address, or by username when no e-mail address matches."""
    row = await conn.fetchrow(_USER_WITH_ACCOUNT + "WHERE lower(u.email) = lower($1)", login)
    if row is None:
        row = await conn.fetchrow(
            _USER_WITH_ACCOUNT + "WHERE lower(a.username) = lower($1) AND a.domain IS NULL",
            login,
        )
    return row


async def user_by_account(conn: Connection, account_id: int) -> Row | None:
    return await conn.fetchrow(_USER_WITH_ACCOUNT + "WHERE u.account_id = $1", account_id)


async def update_settings(conn: Connection, account_id: int, settings: str, now: int) -> None:
    await conn.execute(
        "UPDATE users SET settings = $1, updated_at = $2 WHERE account_id = $3",
        settings,
        now,
        account_id,
    )


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


async def session_account(conn: Connection, token_hash: str) -> Row | None:
    """The signed-in account of an unrevoked session, with the user's standing."""
    return await conn.fetchrow(
        "SELECT s.id AS session_id, s.account_id, s.last_seen_at, u.role, u.approved, "
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


async def revoke_session(conn: Connection, token_hash: str, now: int) -> None:
    await conn.execute(
        "UPDATE web_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        now,
        token_hash,
    )


async def live_sessions(conn: Connection, account_id: int, seen_since: int) -> list[Row]:
    """An account's unrevoked sessions used since `seen_since`, the latest used first."""
    return await conn.fetch(
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


async def user_by_id(conn: Connection, user_id: int) -> Row | None:
    return await conn.fetchrow(_USER_WITH_ACCOUNT + "WHERE u.id = $1", user_id)


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
    """Change a user's role, approval, disabled flag or confirmation (None: unchanged)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    if role is not None:
        await conn.execute(
            "UPDATE users SET role = $1, updated_at = $2 WHERE id = $3", role, now, user_id
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
