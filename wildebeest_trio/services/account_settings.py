"""What a signed-in user changes about their own account: e-mail address, password,
and deleting the account. Each asks for the current password first."""

from __future__ import annotations

import trio

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection, outbox
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from ..store import users as user_rows
from ..store.rows import UserAccountRow
from . import access_blocks, home_feed, media
from .account_mail import CHANGE_EMAIL, email_change_link, mail_enabled, queue_confirmation
from .accounts import AccountError, validate_email
from .instance import read_site
from .mailer import confirmation_message, enqueue_mail
from .onetime import TokenInvalid, check_token, token_user_id
from .passwords import hash_password, length_problem, verify_password

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


async def _queue_change_link(
    conn: Connection, rt: Runtime, user: UserAccountRow, email: str, now: int
) -> None:
    """Note the new address as pending and mail it the link that confirms it."""
    await user_rows.set_unconfirmed_email(conn, user["user_id"], email, now)
    message = confirmation_message(
        instance=(await read_site(conn, rt.config)).title,
        username=user["username"],
        link=email_change_link(rt, user["user_id"], email),
    )
    await enqueue_mail(conn, rt.ids, email, message)


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
        await _queue_change_link(conn, rt, user, email, now)

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


class ResendRefused(Exception):
    """The confirmation e-mail cannot be sent again (answered 403 or 422)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


async def is_confirmed(rt: Runtime, account_id: int) -> bool:
    """Whether the person's address is confirmed (`GET /api/v1/emails/check_confirmation`)."""
    user = await rt.store.read(user_rows.user_by_account, account_id)
    return user is not None and user["confirmed_at"] is not None


async def resend_confirmation(rt: Runtime, account_id: int, email: str | None = None) -> None:
    """Send the confirmation e-mail again (Mastodon's `POST /api/v1/emails/confirmations`),
    to `email` when given (which replaces the unconfirmed address). For a confirmed user
    with a change of address pending, the link goes to the new address again."""
    if email is not None:
        email = email.strip()
        try:
            validate_email(email)
        except AccountError:
            raise ResendRefused("Validation failed: Email is invalid", 422) from None
    now = now_ms()

    async def unit(conn: Connection) -> None:
        user = await user_rows.user_by_account(conn, account_id)
        if user is None:
            raise ResendRefused("This method requires an authenticated user")
        pending = await user_rows.unconfirmed_email(conn, user["user_id"])
        if user["confirmed_at"] is not None and not pending:
            raise ResendRefused(
                "This method is only available while the e-mail is awaiting confirmation"
            )
        if email is not None and email.lower() not in (
            user["email"].lower(),
            (pending or "").lower(),
        ):
            taken = await user_rows.user_by_login(conn, email)
            if taken is not None and taken["email"].lower() == email.lower():
                raise ResendRefused("Validation failed: Email has already been taken", 422)
        if user["confirmed_at"] is None:
            address = email or user["email"]
            await user_rows.readdress_unconfirmed(conn, user["user_id"], address, now)
            await queue_confirmation(conn, rt, user["user_id"], user["username"], address)
            return
        address = email or pending or user["email"]
        await _queue_change_link(conn, rt, user, address, now)

    await rt.store.write(unit)
