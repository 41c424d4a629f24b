"""One-time tokens for e-mailed links (confirm an address, reset a password).

A token is stateless: `base64url(version | user id | expiry | tag)` where the
tag is HMAC-SHA256, under a key derived from the instance secret, over the
purpose, the user id, the expiry and a *binding* the caller chooses. Nothing is
stored, so a token is only as single-use as its binding makes it.

The binding contract:

- For a password reset, bind to the account's current password hash (or any
  per-user nonce that changes when the reset happens). Once the password is
  changed the binding differs, and the token (and every other reset token for
  that account) stops working: single use.
- For an address confirmation, bind to the address being confirmed, so a link
  sent to an old address cannot confirm a new one.
- The caller needs the user id to look the binding up before checking the
  token: `token_user_id` reads it WITHOUT verifying anything, for that lookup
  only; trust the id `check_token` returns, never that one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time

# Purposes the server uses; a token made for one is refused for any other.
CONFIRM_EMAIL = "confirm-email"
RESET_PASSWORD = "reset-password"
# Reset links are valid for an hour (as Mastodon's Devise setting).
PASSWORD_RESET_TTL = 60 * 60
CONFIRMATION_TTL = 7 * 24 * 60 * 60

_VERSION = 1
_HEAD = struct.Struct(">BQQ")  # version, user id, expiry (unix seconds)
_TAG_LEN = 32
# Separates this use of the instance secret from every other use of it.
_KEY_LABEL = b"wildebeest-trio one-time token v1"


class TokenInvalid(Exception):
    """The token is malformed, forged, for another purpose, or its binding changed."""


class TokenExpired(TokenInvalid):
    """The token was genuine but its time is up (a subclass: catch it first to tell apart)."""


def _tag(secret: bytes, purpose: str, head: bytes, binding: str | bytes) -> bytes:
    key = hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()
    bound = binding.encode() if isinstance(binding, str) else binding
    purpose_bytes = purpose.encode()
    # Length prefixes keep (purpose, binding) pairs from running into each other.
    message = b"".join(
        (
            struct.pack(">I", len(purpose_bytes)),
            purpose_bytes,
            head,
            hashlib.sha256(bound).digest(),
        )
    )
    return hmac.new(key, message, hashlib.sha256).digest()


def make_token(
    secret: bytes,
    purpose: str,
    user_id: int,
    ttl: int,
    *,
    binding: str | bytes = b"",
    now: float | None = None,
) -> str:
    """A URL-safe token for `user_id`, good for `purpose` for `ttl` seconds."""
    if not purpose:
        raise ValueError("a token needs a purpose")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    issued = time.time() if now is None else now
    head = _HEAD.pack(_VERSION, user_id, int(issued) + ttl)
    raw = head + _tag(secret, purpose, head, binding)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(token: str) -> tuple[bytes, int, int, bytes]:
    if not isinstance(token, str) or len(token) > 200:
        raise TokenInvalid("malformed token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("malformed token") from None
    if len(raw) != _HEAD.size + _TAG_LEN:
        raise TokenInvalid("malformed token")
    head, tag = raw[: _HEAD.size], raw[_HEAD.size :]
    version, user_id, expires = _HEAD.unpack(head)
    if version != _VERSION:
        raise TokenInvalid("unknown token version")
    return head, user_id, expires, tag


def token_user_id(token: str) -> int:
    """The user id a token claims, UNVERIFIED: only to look up the binding for `check_token`."""
    return _decode(token)[1]


def check_token(
    secret: bytes,
    purpose: str,
    token: str,
    *,
    binding: str | bytes = b"",
    now: float | None = None,
) -> int:
    """The user id of a genuine, unexpired token for `purpose` and `binding`.

    Raises `TokenExpired` for a genuine token past its time, `TokenInvalid` otherwise.
    """
    head, user_id, expires, tag = _decode(token)
    if not hmac.compare_digest(tag, _tag(secret, purpose, head, binding)):
        raise TokenInvalid("token is not valid")
    # Expiry is looked at only after the tag, so a forger learns nothing from it.
    if (time.time() if now is None else now) >= expires:
        raise TokenExpired("token has expired")
    return user_id


__all__ = [
    "CONFIRMATION_TTL",
    "CONFIRM_EMAIL",
    "PASSWORD_RESET_TTL",
    "RESET_PASSWORD",
    "TokenExpired",
    "TokenInvalid",
    "check_token",
    "make_token",
    "token_user_id",
]
