"""Security keys and passkeys (WebAuthn) as a second sign-in factor beside the TOTP app,
as Mastodon offers them: a key is added only once two-factor is on with an app, each key
carries a name its owner chose, and turning two-factor off removes every key.

The browser's part is `navigator.credentials`; checking what it answers is py_webauthn's.
A challenge is not stored: the page carries it with an HMAC tag under the server's key
(`onetime` tokens, five minutes), bound for sign-in to the state of the user's keys. A
sign-in moves a key's `last_used_at`, which kills every challenge issued before it, so an
answer counts once.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import webauthn_credentials as key_rows
from ..store.base import RowView
from ..store.rows import WebauthnCredentialRow
from . import totp
from .instance import site
from .onetime import TokenInvalid, check_token, make_token

CHALLENGE_TTL = 5 * 60
MAX_NICKNAME = 100
# What a browser's answer may weigh: a few public keys and signatures, with room for
# attestation certificates.
MAX_CREDENTIAL_JSON = 32_000
MAX_KEYS = 20
# What py_webauthn raises on an answer it cannot read or verify.
_REFUSED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)
_REGISTER = "webauthn-register"
_SIGN_IN = "webauthn-sign-in"


class WebauthnError(ValueError):
    """A refused key: two-factor off, a bad name, or an answer that does not verify."""


@dataclass(frozen=True)
class Challenge:
    """What a page hands the browser: the options for `navigator.credentials` (JSON) and
    the signed challenge the form sends back."""

    options: str
    ticket: str


def _rp_id(rt: Runtime) -> str:
    """The relying party: the server's host name, without a port."""
    return urlsplit(rt.config.base_url).hostname or rt.config.domain


def _expected(rt: Runtime, challenge: bytes) -> dict[str, Any]:
    """What an answer must have been made for: this challenge, this server."""
    return {
        "expected_challenge": challenge,
        "expected_rp_id": _rp_id(rt),
        "expected_origin": rt.config.base_url,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ticket(rt: Runtime, purpose: str, user_id: int, challenge: bytes, state: str) -> str:
    token = make_token(
        rt.config.secret_key(),
        purpose,
        user_id,
        CHALLENGE_TTL,
        binding=_b64(challenge) + "|" + state,
    )
    return f"{_b64(challenge)}.{token}"


def _challenge_of(rt: Runtime, purpose: str, user_id: int, ticket: str, state: str) -> bytes:
    """The challenge a genuine, current ticket carries; WebauthnError otherwise."""
    encoded, _, token = ticket[:400].partition(".")
    try:
        if (
            check_token(rt.config.secret_key(), purpose, token, binding=encoded + "|" + state)
            != user_id
        ):
            raise TokenInvalid("another user's challenge")
        return _unb64(encoded)
    except (TokenInvalid, binascii.Error, ValueError):
        raise WebauthnError("The request expired; try again") from None


def _state(keys: list[WebauthnCredentialRow]) -> str:
    """What changes whenever any of the keys signs in (or is added or removed)."""
    return ",".join(f"{k['id']}:{k['last_used_at']}" for k in keys)


def _answer(credential: str) -> dict[str, Any]:
    """The browser's answer as JSON, bounded; WebauthnError when it is not one."""
    if len(credential) > MAX_CREDENTIAL_JSON:
        raise WebauthnError("The security key's answer is too large")
    try:
        value = json.loads(credential)
    except ValueError:
        raise WebauthnError("The security key's answer is not readable") from None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise WebauthnError("The security key's answer is not readable")
    return value


async def keys(rt: Runtime, user_id: int) -> list[WebauthnCredentialRow]:
    """The user's keys, oldest first."""
    return await rt.store.read(key_rows.credentials_of, user_id)


async def registration_challenge(rt: Runtime, user: RowView) -> Challenge:
    """Options to create a new key for `user` (whose existing keys are excluded)."""
    existing = await keys(rt, user["user_id"])
    label = f"{user['username']}@{rt.config.domain}"
    options = generate_registration_options(
        rp_id=_rp_id(rt),
        rp_name=(await site(rt)).title or rt.config.domain,
        user_name=label,
        user_id=str(user["user_id"]).encode(),
        user_display_name=user["username"],
        timeout=CHALLENGE_TTL * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_unb64(k["credential_id"])) for k in existing
        ],
    )
    ticket = _ticket(rt, _REGISTER, user["user_id"], options.challenge, "")
    return Challenge(options_to_json(options), ticket)


async def register(
    rt: Runtime, user_id: int, nickname: str, credential: str, ticket: str
) -> WebauthnCredentialRow:
    """Add the key the browser created, under `nickname`; the new key."""
    nickname = " ".join(nickname.split())
    if not nickname:
        raise WebauthnError("Give the key a name")
    if len(nickname) > MAX_NICKNAME:
        raise WebauthnError(f"A key's name is at most {MAX_NICKNAME} characters")
    if not await totp.is_enabled(rt, user_id):
        raise WebauthnError("Turn on two-factor authentication with an app first")
    challenge = _challenge_of(rt, _REGISTER, user_id, ticket, "")
    answer = _answer(credential)
    try:
        verified = verify_registration_response(credential=answer, **_expected(rt, challenge))
    except _REFUSED:
        raise WebauthnError("The security key's answer did not verify") from None
    row: WebauthnCredentialRow = {
        "id": rt.ids.next_id(),
        "user_id": user_id,
        "nickname": nickname,
        "credential_id": _b64(verified.credential_id),
        "public_key": _b64(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "created_at": now_ms(),
        "last_used_at": None,
    }

    async def unit(conn: Connection) -> None:
        if await key_rows.count_of(conn, user_id) >= MAX_KEYS:
            raise WebauthnError(f"At most {MAX_KEYS} keys; remove one first")
        if await key_rows.nickname_taken(conn, user_id, nickname):
            raise WebauthnError("You already have a key with that name")
        if await key_rows.external_id_taken(conn, row["credential_id"]):
            raise WebauthnError("This key is already registered")
        await key_rows.insert_credential(conn, row)

    await rt.store.write(unit)
    return row


async def remove(rt: Runtime, user_id: int, key_id: int) -> None:
    """Remove one of the user's keys; WebauthnError when it is not theirs."""
    if not await rt.store.write(key_rows.delete_credential, user_id, key_id):
        raise WebauthnError("No such key")


async def sign_in_challenge(rt: Runtime, user_id: int) -> Challenge | None:
    """Options to sign in with one of the user's keys; None when they have none."""
    existing = await keys(rt, user_id)
    if not existing:
        return None
    options = generate_authentication_options(
        rp_id=_rp_id(rt),
        timeout=CHALLENGE_TTL * 1000,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=_unb64(k["credential_id"])) for k in existing
        ],
        user_verification=UserVerificationRequirement.DISCOURAGED,
    )
    ticket = _ticket(rt, _SIGN_IN, user_id, options.challenge, _state(existing))
    return Challenge(options_to_json(options), ticket)


async def check_sign_in(rt: Runtime, user_id: int, credential: str, ticket: str) -> bool:
    """Whether the browser's answer, from one of the user's keys, signs them in; an answer
    counts once."""
    try:
        answer = _answer(credential)
    except WebauthnError:
        return False

    async def unit(conn: Connection) -> bool:
        existing = await key_rows.credentials_of(conn, user_id)
        try:
            challenge = _challenge_of(rt, _SIGN_IN, user_id, ticket, _state(existing))
        except WebauthnError:
            return False
        key = next((k for k in existing if k["credential_id"] == answer["id"]), None)
        if key is None:
            return False
        try:
            verified = verify_authentication_response(
                credential=answer,
                **_expected(rt, challenge),
                credential_public_key=_unb64(key["public_key"]),
                credential_current_sign_count=key["sign_count"],
            )
        except _REFUSED:
            return False
        return await key_rows.record_use(
            conn, key["id"], verified.new_sign_count, key["last_used_at"], now_ms()
        )

    return await rt.store.write(unit)
