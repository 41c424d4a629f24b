"""Creating and finding local accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from .. import urls
from ..ids import now_ms
from ..roles import STAFF_ROLES
from ..runtime import Runtime
from ..signatures import generate_rsa_keypair
from ..store import Connection, IntegrityError, RowView
from ..store import accounts as account_rows
from ..store import users as user_rows
from .account_mail import mail_enabled
from .instance import read_site
from .mailer import approval_message, enqueue_mail
from .passwords import hash_password, length_problem

USERNAME_RE = re.compile(r"^[a-z0-9_]+$", re.IGNORECASE)
USERNAME_MAX = 30
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = ("user", *STAFF_ROLES)
# Mastodon reserves these so they cannot impersonate the server.
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "support",
        "help",
        "root",
        "webmaster",
        "administrator",
        "mod",
        "moderator",
        "actor",
        "instance",
    }
)


class AccountError(ValueError):
    """The requested account cannot be created; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CreatedAccount:
    """A new local account."""

    account_id: int
    user_id: int
    username: str
    password: str | None  # set when generated, so it can be shown once


def validate_username(username: str, *, allow_reserved: bool = False) -> None:
    if not username:
        raise AccountError("username", "username can't be blank")
    if len(username) > USERNAME_MAX:
        raise AccountError("username", f"username is too long (at most {USERNAME_MAX} characters)")
    if not USERNAME_RE.match(username):
        raise AccountError("username", "username must contain only letters, numbers and _")
    if not allow_reserved and username.lower() in RESERVED_USERNAMES:
        raise AccountError("username", "username is reserved")


def validate_email(email: str) -> None:
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise AccountError("email", "email is invalid")


AfterInsert = Callable[[Connection, int, int], Awaitable[None]]


async def _insert_local(
    conn: Connection,
    row: RowView,
    user: RowView,
    keys: RowView,
    after: AfterInsert | None,
) -> None:
    if await account_rows.local_username_taken(conn, row["username"]):
        raise AccountError("username", "username is already taken")
    if await account_rows.email_taken(conn, user["email"]):
        raise AccountError("email", "email is already taken")
    await account_rows.insert_account(conn, row)
    await account_rows.insert_keypair(conn, **keys)
    await user_rows.insert_user(conn, user)
    if after is not None:
        await after(conn, row["id"], user["id"])


async def create_local_account(
    rt: Runtime,
    username: str,
    email: str,
    *,
    password: str | None = None,
    role: str = "user",
    confirmed: bool = True,
    approved: bool = True,
    allow_reserved: bool = False,
    sign_up_reason: str = "",
    sign_up_ip: str | None = None,
    locale: str = "en",
    display_name: str = "",
    generate_password: bool = True,
    after_insert: AfterInsert | None = None,
) -> CreatedAccount:
    """Create a local account with its user and RSA-2048 key pair, all in one transaction.

    Without a password one is generated (and returned once), unless `generate_password`
    is off: then the account signs in only through a trusted identity header.
    `after_insert(conn, account_id, user_id)` runs inside the same transaction (to queue
    a confirmation e-mail with the account, say).
    """
    validate_username(username, allow_reserved=allow_reserved)
    validate_email(email)
    if role not in ROLES:
        raise AccountError("role", f"role must be one of {', '.join(ROLES)}")
    generated = None
    if password is None:
        if generate_password:
            generated = password = secrets.token_urlsafe(18)
    elif problem := length_problem(password):
        raise AccountError("password", f"password {problem}")
    # Key generation and hashing are CPU work: keep them off the Trio thread.
    private_pem, public_pem = await trio.to_thread.run_sync(generate_rsa_keypair)
    password_hash = (
        None
        if password is None
        else await trio.to_thread.run_sync(hash_password, rt.config, password)
    )
    now = now_ms()
    account_id = rt.ids.next_id()
    user_id = rt.ids.next_id()
    row = {
        "id": account_id,
        "username": username,
        "domain": None,
        **urls.local_actor_urls(rt.config, username),
        "actor_type": "Person",
        "display_name": display_name.strip()[:30],
        "note": "",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "created_at": now,
        "updated_at": now,
    }
    user = {
        "id": user_id,
        "account_id": account_id,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "confirmed_at": now if confirmed else None,
        "approved": approved,
        "sign_up_reason": sign_up_reason,
        "sign_up_ip": sign_up_ip,
        "locale": (locale or "en")[:10],
        "created_at": now,
    }
    keys = {
        "keypair_id": rt.ids.next_id(),
        "account_id": account_id,
        "key_id": urls.key_id(rt.config, username),
        "public_key_pem": public_pem,
        "private_key_pem": private_pem,
        "now": now,
    }
    try:
        await rt.store.write(_insert_local, row, user, keys, after_insert)
    except IntegrityError as exc:
        # Lost a race with a concurrent sign-up between the check and the insert.
        field = "email" if "email" in str(exc).lower() else "username"
        raise AccountError(field, f"{field} is already taken") from None
    return CreatedAccount(account_id, user_id, username, generated)


async def modify_local_account(
    rt: Runtime,
    username: str,
    *,
    role: str | None = None,
    approve: bool = False,
    disabled: bool | None = None,
    confirm: bool = False,
    password: str | None = None,
) -> None:
    """Change a local user's standing (tootctl accounts modify / approve)."""
    if role is not None and role not in ROLES:
        raise AccountError("role", f"role must be one of {', '.join(ROLES)}")
    if password is not None and (problem := length_problem(password)):
        raise AccountError("password", f"password {problem}")
    password_hash = (
        None
        if password is None
        else await trio.to_thread.run_sync(hash_password, rt.config, password)
    )
    now = now_ms()
    notify = approve and mail_enabled(rt)

    async def unit(conn: Connection) -> None:
        user = await user_rows.user_by_login(conn, username)
        if user is None or user["username"].lower() != username.lower():
            raise AccountError("username", f"no local account named {username!r}")
        newly_approved = approve and not user["approved"]
        await user_rows.set_standing(
            conn,
            user["user_id"],
            now=now,
            role=role,
            approved=True if approve else None,
            disabled=disabled,
            confirm=confirm,
        )
        if password_hash is not None:
            await user_rows.set_password_hash(conn, user["user_id"], password_hash, now)
            await user_rows.revoke_sessions_of_account(conn, user["account_id"], now)
        if notify and newly_approved:
            message = approval_message(
                instance=(await read_site(conn, rt.config)).title,
                username=user["username"],
                link=f"{rt.config.base_url}/auth/sign_in",
            )
            await enqueue_mail(conn, rt.ids, user["email"], message)

    await rt.store.write(unit)
