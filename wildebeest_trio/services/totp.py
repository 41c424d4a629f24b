"""Two-factor sign-in with a TOTP app (RFC 6238, 30-second steps, 6 digits) and
single-use recovery codes.

Set-up stores a fresh secret; it takes effect only once a code from the app confirms
it. A code is accepted one step either side of now (clock drift), and never twice: the
last used step is remembered. Recovery codes are random and stored as SHA-256 hashes
(they carry 80 bits, so a slow hash adds nothing). The secret itself is stored
encrypted with a key derived from the server's secret key, so a copy of the database
alone does not yield working codes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

import pyotp
from cryptography.fernet import Fernet, InvalidToken

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import users as user_rows
from ..store import webauthn_credentials as key_rows
from .instance import site

RECOVERY_CODES = 10
STEP = 30
DRIFT_STEPS = 1


class TotpError(ValueError):
    """A wrong or reused code, or two-factor not in the expected state."""


@dataclass(frozen=True)
class Setup:
    """What the set-up page shows: the secret and the provisioning URI for the app."""

    secret: str
    uri: str


def _box(rt: Runtime) -> Fernet:
    key = hashlib.sha256(b"wildebeest-trio totp secret v1" + rt.config.secret_key()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(rt: Runtime, secret: str) -> str:
    return _box(rt).encrypt(secret.encode()).decode()


def _open(rt: Runtime, sealed: str | None) -> str | None:
    """The stored secret in clear, or None (none stored, or the server key changed)."""
    if not sealed:
        return None
    try:
        return _box(rt).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def _new_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits per half, 80 in all
    more = secrets.token_hex(5)
    return f"{raw}-{more}"


def _matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step whose code is `code`, within the allowed drift, or None."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now_step = int(at // STEP)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


async def is_enabled(rt: Runtime, user_id: int) -> bool:
    state = await rt.store.read(user_rows.otp_state, user_id)
    return state is not None and state["otp_enabled_at"] is not None


async def begin_setup(rt: Runtime, user_id: int, account_label: str) -> Setup:
    """A new secret for the app to scan; two-factor stays off until confirmed."""
    state = await rt.store.read(user_rows.otp_state, user_id)
    if state is not None and state["otp_enabled_at"] is not None:
        raise TotpError("Two-factor authentication is already enabled")
    secret = pyotp.random_base32()
    await rt.store.write(user_rows.set_otp_secret, user_id, _seal(rt, secret), now_ms())
    return Setup(secret, _uri((await site(rt)).title or rt.config.domain, secret, account_label))


def _uri(issuer: str, secret: str, account_label: str) -> str:
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(
        name=account_label, issuer_name=issuer
    )


async def pending_setup(rt: Runtime, user_id: int, account_label: str) -> Setup | None:
    """The secret being set up (not yet confirmed), if any."""
    state = await rt.store.read(user_rows.otp_state, user_id)
    if state is None or state["otp_enabled_at"] is not None:
        return None
    secret = _open(rt, state["otp_secret"])
    if secret is None:
        return None
    return Setup(secret, _uri((await site(rt)).title or rt.config.domain, secret, account_label))


async def confirm_setup(
    rt: Runtime, user_id: int, code: str, *, at: float | None = None
) -> list[str]:
    """Enable two-factor with a code from the app; the recovery codes (shown once)."""
    moment = time.time() if at is None else at
    codes = [_new_code() for _ in range(RECOVERY_CODES)]

    async def unit(conn: Connection) -> None:
        state = await user_rows.otp_state(conn, user_id)
        secret = _open(rt, state["otp_secret"]) if state is not None else None
        if state is None or secret is None or state["otp_enabled_at"] is not None:
            raise TotpError("Start the set-up again")
        step = _matching_step(secret, code, moment)
        if step is None:
            raise TotpError("That code is not right; check the time on your device")
        now = now_ms()
        await user_rows.enable_otp(conn, user_id, step, now)
        await user_rows.insert_recovery_codes(
            conn, [(rt.ids.next_id(), user_id, _hash(c), now) for c in codes]
        )

    await rt.store.write(unit)
    return codes


async def disable(rt: Runtime, user_id: int) -> None:
    """Turn two-factor off (the caller checked the password); recovery codes and security
    keys go too, as Mastodon's (a key is a second factor only beside the app)."""

    async def unit(conn: Connection) -> None:
        await user_rows.set_otp_secret(conn, user_id, None, now_ms())
        await key_rows.delete_all(conn, user_id)

    await rt.store.write(unit)


async def verify(rt: Runtime, user_id: int, code: str, *, at: float | None = None) -> bool:
    """Whether `code` (an app code or an unused recovery code) signs this user in; a
    code is spent by the check."""
    moment = time.time() if at is None else at
    code = code.strip()[:64]

    async def unit(conn: Connection) -> bool:
        state = await user_rows.otp_state(conn, user_id)
        if state is None or state["otp_enabled_at"] is None:
            return False
        secret = _open(rt, state["otp_secret"])
        step = _matching_step(secret, code, moment) if secret is not None else None
        if step is not None:
            return await user_rows.use_otp_step(conn, user_id, step)
        if len(code.replace("-", "")) == 20:
            return await user_rows.use_recovery_code(conn, user_id, _hash(code), now_ms())
        return False

    return await rt.store.write(unit)


async def recovery_codes_left(rt: Runtime, user_id: int) -> int:
    return await rt.store.read(user_rows.unused_recovery_codes, user_id)
