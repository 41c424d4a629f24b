"""What a signed-in user changes about their own account: e-mail address, password,
and deleting the account. Each asks for the current password first."""

from __future__ import annotations

from urllib.parse import urlencode

import trio

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import users as user_rows
from ..store.rows import UserAccountRow
from . import access_blocks, home_feed, media
from .account_mail import mail_enabled
from .accounts import AccountError, validate_email
from .instance import read_site
from .mailer import confirmation_message, enqueue_mail
from .onetime import CONFIRMATION_TTL, TokenInvalid, check_token, make_token, token_user_id
from .passwords import hash_password, length_problem, verify_password

CHANGE_EMAIL = "change-email"
# Longer than any password accepted now or before: only what is checked at sign-in.
MAX_PASSWORD = 1000


class SettingsError(ValueError):
    """A refused change, with a message for the user."""


async def user_of(rt: Runtime, account_id: int) -> UserAccountRow:
    """The login (user row, with its account) of a local account."""
    user = await rt.store.read(user_rows.user_by_account, account_id)
    if user is None:
        raise SettingsError("This account has no login")
    return user


async def check_password(rt: Runtime, account_id: int, password: str) -> UserAccountRow:
    """The user, once `password` is theirs."""
    user = await user_of(rt, account_id)
    hashed = user["password_hash"]
    if not hashed or not await trio.to_thread.run_sync(
        verify_password, rt.config, hashed, password[:MAX_PASSWORD]
    ):
        raise SettingsError("The current password is not right")
    return user


async def change_password(rt: Runtime, account_id: int, current: str, new: str) -> None:
    """Set a new password; every other browser session is signed out (the caller
    starts a fresh one for this browser)."""
    if problem := length_problem(new):
        raise SettingsError(f"The new password {problem}")
    user = await check_password(rt, account_id, current)
    new_hash = await trio.to_thread.run_sync(hash_password, rt.config, new)
    now = now_ms()

    async def unit(conn: Connection) -> None:
        await user_rows.set_password_hash(conn, user["user_id"], new_hash, now)
        await user_rows.revoke_sessions_of_account(conn, account_id, now)

    await rt.store.write(unit)


def email_change_link(rt: Runtime, user_id: int, email: str) -> str:
    token = make_token(
        rt.config.secret_key(), CHANGE_EMAIL, user_id, CONFIRMATION_TTL, binding=email.lower()
    )
    return f"{rt.config.base_url}/settings/account/confirm_email?" + urlencode({"token": token})


async def request_email_change(rt: Runtime, account_id: int, password: str, email: str) -> bool:
    """Change the address: at once when this server sends no mail, otherwise once the link
    sent to the new address is followed (the old one stays until then). Whether it
    changed at once."""
    email = email.strip()
    try:
        validate_email(email)
    except AccountError as exc:
        raise SettingsError("That e-mail address is not valid") from exc
    user = await check_password(rt, account_id, password)
    if email.lower() == user["email"].lower():
        raise SettingsError("That is already your address")
    if await access_blocks.email_verdict(rt, email) == "block":
        raise SettingsError("That e-mail address is not allowed")
    now = now_ms()
    mail = mail_enabled(rt)

    async def unit(conn: Connection) -> None:
        taken = await user_rows.user_by_login(conn, email)
        if taken is not None and taken["email"].lower() == email.lower():
            raise SettingsError("That e-mail address is taken")
        if not mail:
            await user_rows.swap_email(conn, user["user_id"], email, now)
            return
        await user_rows.set_unconfirmed_email(conn, user["user_id"], email, now)
        message = confirmation_message(
            instance=(await read_site(conn, rt.config)).title,
            username=user["username"],
            link=email_change_link(rt, user["user_id"], email),
        )
        await enqueue_mail(conn, rt.ids, email, message)

    await rt.store.write(unit)
    return not mail


async def pending_email(rt: Runtime, account_id: int) -> str | None:
    user = await user_of(rt, account_id)
    return await rt.store.read(user_rows.unconfirmed_email, user["user_id"])


async def confirm_email_change(rt: Runtime, token: str) -> str:
    """Follow the link sent to a new address; the address now in use."""
    try:
        user_id = token_user_id(token)
    except TokenInvalid:
        raise SettingsError("This confirmation link is not valid") from None

    async def unit(conn: Connection) -> str:
        pending = await user_rows.unconfirmed_email(conn, user_id)
        if not pending:
            raise SettingsError("This confirmation link was already used")
        try:
            check_token(rt.config.secret_key(), CHANGE_EMAIL, token, binding=pending.lower())
        except TokenInvalid as exc:
            raise SettingsError(f"This confirmation link is not valid ({exc})") from None
        taken = await user_rows.user_by_login(conn, pending)
        if taken is not None and taken["user_id"] != user_id:
            raise SettingsError("That e-mail address was taken meanwhile")
        await user_rows.swap_email(conn, user_id, pending, now_ms())
        return pending

    return await rt.store.write(unit)


async def delete_account(rt: Runtime, account_id: int, password: str) -> None:
    """Delete the signed-in account: posts, follows, profile and access go at once; the
    name stays reserved. Federation learns of it through the `account.deleted` event."""
    await check_password(rt, account_id, password)
    now = now_ms()

    async def unit(conn: Connection) -> None:
        row = await account_rows.account_by_id(conn, account_id)
        assert row is not None
        ended = await follow_rows.delete_all_of(conn, account_id)
        await home_feed.follows_ended(conn, ended)
        # Attachments, avatar and header files go by a job once nothing names them.
        await media.account_removed(conn, rt, account_id)
        await account_rows.purge_account(conn, account_id, now)
        await home_feed.statuses_purged(conn, account_id)
        await outbox.record(
            conn, rt.ids, "account.deleted", account_id, account_id, {"uri": row["uri"]}
        )

    await rt.store.write(unit)
