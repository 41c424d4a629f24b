"""Web Push message encryption (RFC 8291 aes128gcm and the legacy aesgcm draft) and VAPID.

The content encodings come from `http_ece` (the library pywebpush is built on); the
VAPID token is an ES256 JWT made with PyJWT. pywebpush itself is not used: it sends
with `requests`, which would block the Trio event loop.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# Mastodon's TTL (48 h): a push older than that is no use to anyone.
TTL_SECONDS = 172_800
# RFC 8292 allows at most 24 h; 12 h leaves room for clock skew at the push service.
VAPID_LIFETIME = 12 * 3600


class InvalidKeys(ValueError):
    """The subscriber's keys cannot be used to encrypt a message."""


def b64url_decode(text: str) -> bytes:
    """Base64url (or plain base64), padding optional, as browsers and apps send keys."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeys(f"not base64url: {exc}") from None


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class Encrypted:
    """An encrypted push message: the body and the headers its encoding needs."""

    body: bytes
    headers: dict[str, str]
    #: The server's ephemeral ECDH public key (legacy encoding puts it in `Crypto-Key`).
    dh: str


def _receiver_keys(p256dh: str, auth: str) -> tuple[bytes, bytes]:
    point = b64url_decode(p256dh)
    secret = b64url_decode(auth)
    if len(secret) != 16:
        raise InvalidKeys("the auth secret must be 16 bytes")
    if len(point) != 65 or point[0] != 4:
        raise InvalidKeys("p256dh must be an uncompressed P-256 point (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidKeys("p256dh is not a point on P-256") from None
    return point, secret


def encrypt(payload: bytes, *, p256dh: str, auth: str, standard: bool) -> Encrypted:
    """Encrypt a push message for one subscriber with a fresh ECDH key and salt."""
    point, secret = _receiver_keys(p256dh, auth)
    server_key = ec.generate_private_key(ec.SECP256R1())
    dh = b64url(
        server_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    salt = os.urandom(16)
    version = "aes128gcm" if standard else "aesgcm"
    try:
        body = http_ece.encrypt(
            payload,
            salt=salt,
            private_key=server_key,
            dh=point,
            auth_secret=secret,
            version=version,
        )
    except Exception as exc:  # http_ece raises bare ECE errors and ValueErrors alike
        raise InvalidKeys(f"encryption failed: {exc}") from None
    headers = {"Content-Encoding": version}
    if not standard:
        # The legacy draft carries the salt and the sender's key in headers.
        headers["Encryption"] = f"salt={b64url(salt)}"
    return Encrypted(body=body, headers=headers, dh=dh)


def check_keys(p256dh: str, auth: str) -> None:
    """Raise InvalidKeys unless a trial encryption with these keys works (as Mastodon 4.3+)."""
    encrypt(b"test", p256dh=p256dh, auth=auth, standard=True)


def origin(url: str) -> str:
    """The RFC 6454 serialization of a URL's origin: lowercase host, no default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}"


def vapid_token(endpoint: str, *, private_pem: str, subject: str, now: float | None = None) -> str:
    """An ES256 VAPID JWT for the push service that serves `endpoint` (RFC 8292)."""
    audience = origin(endpoint)
    issued = int(time.time() if now is None else now)
    claims = {"aud": audience, "exp": issued + VAPID_LIFETIME, "sub": subject}
    return jwt.encode(claims, private_pem, algorithm="ES256", headers={"typ": "JWT"})


def push_headers(
    endpoint: str,
    encrypted: Encrypted,
    *,
    standard: bool,
    vapid_private_pem: str,
    vapid_public_key: str,
    subject: str,
) -> dict[str, str]:
    """Every header a push POST carries: encoding, VAPID authorization, TTL and urgency."""
    token = vapid_token(endpoint, private_pem=vapid_private_pem, subject=subject)
    headers = {
        "Content-Type": "application/octet-stream",
        "TTL": str(TTL_SECONDS),
        "Urgency": "normal",
        **encrypted.headers,
    }
    if standard:
        headers["Authorization"] = f"vapid t={token},k={vapid_public_key}"
    else:
        headers["Authorization"] = f"WebPush {token}"
        headers["Crypto-Key"] = f"dh={encrypted.dh};p256ecdsa={vapid_public_key}"
    return headers
