"""Web sessions: the browser's signed-in state (login, consent and settings pages)."""

from __future__ import annotations

import secrets

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Row
from ..store import users as user_rows
from .tokens import hash_token


async def start_session(rt: Runtime, account_id: int, user_agent: str, ip: str) -> str:
    """A new session for a signed-in account; the cookie value (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = now_ms()

    async def unit(conn: user_rows.Connection) -> None:
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

    await rt.store.write(unit)
    return token


async def session_account(rt: Runtime, token: str | None) -> Row | None:
    """The account a session cookie signs in, if the session and the user are in good standing."""
    if not token or len(token) > 128:
        return None
    row = await rt.store.read(user_rows.session_account, hash_token(token))
    if row is None:
        return None
    if row["disabled"] or not row["approved"] or row["confirmed_at"] is None:
        return None
    if row["suspended_at"] is not None:
        return None
    return row


async def end_session(rt: Runtime, token: str) -> None:
    await rt.store.write(user_rows.revoke_session, hash_token(token), now_ms())
