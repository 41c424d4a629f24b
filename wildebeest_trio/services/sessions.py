"""Web sessions: the browser's signed-in state (login, consent and settings pages).

A session ends when its browser signs out, when its owner revokes it in the settings,
or after `session_idle_days` without use. Use is recorded at most once a minute per
session (with the address it came from), so browsing costs no write per page.
"""

from __future__ import annotations

import secrets

from ..ids import now_ms
from ..runtime import Runtime
from ..store import RowView
from ..store import activity as activity_rows
from ..store import users as user_rows
from ..store.rows import LiveSessionRow, SessionAccountRow, UserAccountRow
from .onetime import TokenInvalid, check_token, make_token, token_user_id
from .tokens import hash_token

DAY_MS = 24 * 3600 * 1000
TOUCH_EVERY_MS = 60 * 1000
TWO_FACTOR_PURPOSE = "two-factor-login"
# How long a browser has, after the right password, to give its two-factor code.
TWO_FACTOR_TTL = 5 * 60


def _idle_ms(rt: Runtime) -> int:
    return rt.config.session_idle_days * DAY_MS


async def start_session(
    rt: Runtime, account_id: int, user_agent: str, ip: str, *, replacing: str | None = None
) -> str:
    """A new session for a signed-in account; the cookie value (stored only as a hash).

    `replacing`: the browser's current session cookie, ended in the same transaction (a
    browser holds one session: signing in as someone else ends the previous one).
    """
    token = secrets.token_urlsafe(32)
    now = now_ms()

    async def unit(conn: user_rows.Connection) -> None:
        if replacing and len(replacing) <= 128:
            await user_rows.revoke_session(conn, hash_token(replacing), now)
        await user_rows.insert_session(
            conn,
            session_id=rt.ids.next_id(),
            account_id=account_id,
            token_hash=hash_token(token),
            user_agent=user_agent,
            ip=ip,
            now=now,
        )
        await user_rows.record_sign_in(conn, account_id, now)
        await activity_rows.record_login(conn, account_id, now)

    await rt.store.write(unit)
    return token


def token_digest(token: str | None) -> str | None:
    """The stored form of a session cookie's value (None for none, or one too long to be
    ours)."""
    if not token or len(token) > 128:
        return None
    return hash_token(token)


def usable(rt: Runtime, row: SessionAccountRow, now: int) -> bool:
    """Whether a session found by its cookie signs its account in: live, and the user in
    good standing."""
    if row["last_seen_at"] < now - _idle_ms(rt):
        return False
    if row["disabled"] or not row["approved"] or row["confirmed_at"] is None:
        return False
    return row["suspended_at"] is None


async def mark_seen(rt: Runtime, row: SessionAccountRow, ip: str, now: int) -> None:
    """Record a session's use (from `ip`), at most once a minute."""
    if row["last_seen_at"] < now - TOUCH_EVERY_MS:
        await rt.store.write(user_rows.touch_session, row["session_id"], ip, now)


async def session_account(rt: Runtime, token: str | None, ip: str) -> SessionAccountRow | None:
    """The account a session cookie signs in, if the session is live and the user in good
    standing; records the use (from `ip`) at most once a minute."""
    digest = token_digest(token)
    if digest is None:
        return None
    row = await rt.store.read(user_rows.session_account, digest)
    if row is None:
        return None
    now = now_ms()
    if not usable(rt, row, now):
        return None
    await mark_seen(rt, row, ip, now)
    return row


def two_factor_ticket(rt: Runtime, user: RowView) -> str:
    """Proof that `user` gave the right password and owes a two-factor code, good for
    `TWO_FACTOR_TTL` seconds; bound to the password hash, so it dies with a password change."""
    return make_token(
        rt.config.secret_key(),
        TWO_FACTOR_PURPOSE,
        user["user_id"],
        TWO_FACTOR_TTL,
        binding=user["password_hash"] or "",
    )


async def two_factor_user(rt: Runtime, ticket: str) -> UserAccountRow | None:
    """The user whose password step a `two_factor_ticket` proves, or None."""
    if not ticket:
        return None
    try:
        user = await rt.store.read(user_rows.user_by_id, token_user_id(ticket))
        if user is None:
            return None
        check_token(
            rt.config.secret_key(), TWO_FACTOR_PURPOSE, ticket, binding=user["password_hash"] or ""
        )
    except TokenInvalid:
        return None
    return user


async def user_with_email(rt: Runtime, email: str) -> UserAccountRow | None:
    """The user whose e-mail address is `email` (in any case); None when only a
    username matches it."""
    user = await rt.store.read(user_rows.user_by_login, email)
    if user is None or user["email"].lower() != email.lower():
        return None
    return user


async def end_session(rt: Runtime, token: str) -> None:
    await rt.store.write(user_rows.revoke_session, hash_token(token), now_ms())


async def live_sessions(rt: Runtime, account_id: int) -> list[LiveSessionRow]:
    """An account's sessions that still sign a browser in, the latest used first."""
    return await rt.store.read(user_rows.live_sessions, account_id, now_ms() - _idle_ms(rt))


async def revoke_session(rt: Runtime, account_id: int, session_id: int) -> bool:
    """End one of an account's sessions; False when it has no such live session."""
    return await rt.store.write(
        user_rows.revoke_session_of_account, session_id, account_id, now_ms()
    )


async def forget_ended_sessions(rt: Runtime) -> None:
    """Upkeep: delete sessions that ended (revoked or idle) over `session_idle_days` ago."""
    await rt.store.write(user_rows.forget_sessions, now_ms() - _idle_ms(rt))
