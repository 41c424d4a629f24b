"""Signing up: the registrations mode, agreement to the rules, and the first token."""

from __future__ import annotations

from ..runtime import Runtime
from ..store import Connection
from . import access_blocks, instance, notifications
from .account_mail import mail_enabled, queue_confirmation
from .accounts import AccountError, create_local_account
from .oauth import IssuedAccessToken, issue_token


class RegistrationClosed(Exception):
    """This server does not accept sign-ups."""


async def sign_up(
    rt: Runtime,
    *,
    username: str,
    email: str,
    password: str,
    agreement: bool,
    reason: str,
    locale: str,
    application_id: int | None,
    scopes: list[str],
    ip: str = "",
) -> IssuedAccessToken | None:
    """Create an account per the registrations mode; a token for it when an app asked."""
    mode = (await instance.site(rt)).registrations
    if mode == "closed":
        raise RegistrationClosed("Registrations are closed on this server")
    if not agreement:
        raise AccountError("agreement", "must be accepted")
    if mode == "approval" and not reason.strip():
        raise AccountError("reason", "can't be blank")
    if len(reason) > 1000:
        raise AccountError("reason", "is too long (maximum is 1000 characters)")
    try:
        held = await access_blocks.sign_up_verdict(rt, ip, email)
    except access_blocks.EmailBlocked:
        raise AccountError("email", "is not allowed") from None
    except access_blocks.AddressBlocked as exc:
        raise RegistrationClosed(str(exc)) from None
    confirm_by_mail = mail_enabled(rt)
    notifier = notifications.Notifier(rt)

    async def after_insert(conn: Connection, account_id: int, user_id: int) -> None:
        if confirm_by_mail:
            await queue_confirmation(conn, rt, user_id, username, email)
        await notifications.signed_up(conn, notifier, account_id)

    created = await create_local_account(
        rt,
        username,
        email,
        password=password,
        # Without a mail server there is no way to confirm an address: sign-ups are
        # confirmed at once, and approval (when required) is the admin's check.
        confirmed=not confirm_by_mail,
        approved=mode == "open" and not held,
        sign_up_ip=ip or None,
        sign_up_reason=reason.strip(),
        locale=locale,
        after_insert=after_insert,
    )
    if application_id is None:
        return None
    return await issue_token(rt, application_id, created.account_id, scopes)
