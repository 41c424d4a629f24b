"""E-mailed links: confirming an address, resetting a password."""

from __future__ import annotations

from urllib.parse import urlencode

import trio

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import users as user_rows
from ..store.rows import UserAccountRow
from .instance import read_site, site
from .mailer import Mailer, confirmation_message, enqueue_mail, password_reset_message
from .onetime import (
    CONFIRM_EMAIL,
    CONFIRMATION_TTL,
    PASSWORD_RESET_TTL,
    RESET_PASSWORD,
    TokenInvalid,
    check_token,
    make_token,
    token_user_id,
)
from .passwords import hash_password, length_problem

# The purpose a change-of-address link's token is made for.
CHANGE_EMAIL = "change-email"


class LinkInvalid(Exception):
    """An e-mailed link that is malformed, expired or already used."""


def mail_enabled(rt: Runtime) -> bool:
    return Mailer.from_config(rt.config, rt.outbound).enabled


def confirmation_link(rt: Runtime, user_id: int, email: str) -> str:
    # Bound to the address: confirming works once per address, never for a changed one.
    token = make_token(
        rt.config.secret_key(), CONFIRM_EMAIL, user_id, CONFIRMATION_TTL, binding=email.lower()
    )
    return f"{rt.config.base_url}/auth/confirmation?" + urlencode({"confirmation_token": token})


def email_change_link(rt: Runtime, user_id: int, email: str) -> str:
    """The link that confirms a change of address (bound to the new address)."""
    token = make_token(
        rt.config.secret_key(), CHANGE_EMAIL, user_id, CONFIRMATION_TTL, binding=email.lower()
    )
    return f"{rt.config.base_url}/settings/account/confirm_email?" + urlencode({"token": token})


async def queue_confirmation(
    conn: Connection, rt: Runtime, user_id: int, username: str, email: str
) -> None:
    """Queue the confirmation e-mail inside the caller's transaction."""
    message = confirmation_message(
        instance=(await read_site(conn, rt.config)).title,
        username=username,
        link=confirmation_link(rt, user_id, email),
    )
    await enqueue_mail(conn, rt.ids, email, message)


async def confirm(rt: Runtime, token: str) -> UserAccountRow:
    """Confirm the address a link was sent to; the user."""
    try:
        user_id = token_user_id(token)
    except TokenInvalid:
        raise LinkInvalid("This confirmation link is not valid.") from None
    user = await rt.store.read(user_rows.user_by_id, user_id)
    if user is None:
        raise LinkInvalid("This confirmation link is not valid.")
    try:
        check_token(rt.config.secret_key(), CONFIRM_EMAIL, token, binding=user["email"].lower())
    except TokenInvalid as exc:
        raise LinkInvalid(f"This confirmation link is not valid ({exc}).") from None
    await rt.store.write(user_rows.confirm_email, user_id, now_ms())
    return user


async def request_password_reset(rt: Runtime, email: str) -> None:
    """Queue a reset link if the address belongs to a user (silently nothing otherwise)."""
    user = await rt.store.read(user_rows.user_by_login, email.strip())
    if user is None or user["email"].lower() != email.strip().lower():
        return
    # Bound to the current hash: the link dies once the password changes (single use).
    token = make_token(
        rt.config.secret_key(),
        RESET_PASSWORD,
        user["user_id"],
        PASSWORD_RESET_TTL,
        binding=user["password_hash"] or "",
    )
    link = f"{rt.config.base_url}/auth/password/edit?" + urlencode({"reset_password_token": token})
    message = password_reset_message(
        instance=(await site(rt)).title, username=user["username"], link=link
    )

    async def unit(conn: Connection) -> None:
        await enqueue_mail(conn, rt.ids, user["email"], message)

    await rt.store.write(unit)


async def _user_for_reset(rt: Runtime, token: str) -> UserAccountRow:
    try:
        user = await rt.store.read(user_rows.user_by_id, token_user_id(token))
    except TokenInvalid:
        user = None
    if user is None:
        raise LinkInvalid("This password reset link is not valid.")
    try:
        check_token(
            rt.config.secret_key(), RESET_PASSWORD, token, binding=user["password_hash"] or ""
        )
    except TokenInvalid as exc:
        raise LinkInvalid(f"This password reset link is not valid ({exc}).") from None
    return user


async def check_reset_link(rt: Runtime, token: str) -> None:
    await _user_for_reset(rt, token)


async def reset_password(rt: Runtime, token: str, password: str) -> None:
    """Set a new password through a reset link; every browser session is signed out."""
    if problem := length_problem(password):
        raise ValueError(f"Password {problem}")
    user = await _user_for_reset(rt, token)
    new_hash = await trio.to_thread.run_sync(hash_password, rt.config, password)
    now = now_ms()

    async def unit(conn: Connection) -> None:
        current = await user_rows.user_by_id(conn, user["user_id"])
        if current is None or current["password_hash"] != user["password_hash"]:
            raise LinkInvalid("This password reset link was already used.")
        await user_rows.set_password_hash(conn, user["user_id"], new_hash, now)
        await user_rows.revoke_sessions_of_account(conn, user["account_id"], now)

    await rt.store.write(unit)
