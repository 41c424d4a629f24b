"""Web Push encryption and VAPID, checked by decrypting and verifying independently."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import urlsplit

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wildebeest_trio.services import push_crypto
from wildebeest_trio.services.instance import generate_vapid_keys


def _subscriber() -> tuple[ec.EllipticCurvePrivateKey, str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return key, push_crypto.b64url(point), os.urandom(16)


@pytest.mark.parametrize("size", [0, 1, 3000])
def test_aes128gcm_round_trip(size: int) -> None:
    key, p256dh, auth = _subscriber()
    message = os.urandom(size)
    sealed = push_crypto.encrypt(
        message, p256dh=p256dh, auth=push_crypto.b64url(auth), standard=True
    )
    assert sealed.headers == {"Content-Encoding": "aes128gcm"}
    # RFC 8188 header: 16-byte salt, 4-byte record size, key id length, then the key id
    # (the sender's ECDH public key, as RFC 8291 requires).
    assert sealed.body[20] == 65
    assert push_crypto.b64url(sealed.body[21:86]) == sealed.dh
    plain = http_ece.decrypt(sealed.body, private_key=key, auth_secret=auth, version="aes128gcm")
    assert plain == message


def test_aesgcm_round_trip() -> None:
    key, p256dh, auth = _subscriber()
    sealed = push_crypto.encrypt(
        b"{}", p256dh=p256dh, auth=push_crypto.b64url(auth), standard=False
    )
    assert sealed.headers["Content-Encoding"] == "aesgcm"
    salt = push_crypto.b64url_decode(sealed.headers["Encryption"].removeprefix("salt="))
    plain = http_ece.decrypt(
        sealed.body,
        salt=salt,
        private_key=key,
        dh=push_crypto.b64url_decode(sealed.dh),
        auth_secret=auth,
        version="aesgcm",
    )
    assert plain == b"{}"


def test_every_message_has_a_fresh_key_and_salt() -> None:
    _, p256dh, auth = _subscriber()
    a = push_crypto.encrypt(b"x", p256dh=p256dh, auth=push_crypto.b64url(auth), standard=True)
    b = push_crypto.encrypt(b"x", p256dh=p256dh, auth=push_crypto.b64url(auth), standard=True)
    assert a.dh != b.dh and a.body[:16] != b.body[:16]


def test_keys_accept_padded_standard_base64() -> None:
    _, p256dh, auth = _subscriber()
    padded = base64.b64encode(push_crypto.b64url_decode(p256dh)).decode()
    push_crypto.check_keys(padded, base64.b64encode(auth).decode())


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        ("BAAA", push_crypto.b64url(b"a" * 16)),
        (None, push_crypto.b64url(b"a" * 17)),
        (push_crypto.b64url(b"\x04" + b"\x00" * 64), push_crypto.b64url(b"a" * 16)),
        ("%%%", push_crypto.b64url(b"a" * 16)),
    ],
)
def test_bad_keys(p256dh: str | None, auth: str) -> None:
    with pytest.raises(push_crypto.InvalidKeys):
        push_crypto.check_keys(p256dh or _subscriber()[1], auth)


@pytest.mark.parametrize("standard", [True, False])
def test_vapid_headers(standard: bool) -> None:
    vapid = generate_vapid_keys()
    _, p256dh, auth = _subscriber()
    endpoint = "https://push.example:8443/wpush/v2/abc?x=1"
    sealed = push_crypto.encrypt(
        b"x", p256dh=p256dh, auth=push_crypto.b64url(auth), standard=standard
    )
    headers = push_crypto.push_headers(
        endpoint,
        sealed,
        standard=standard,
        vapid_private_pem=vapid["private_pem"],
        vapid_public_key=vapid["public_key"],
        subject="mailto:admin@example.org",
    )
    assert headers["TTL"] == "172800"
    assert headers["Urgency"] == "normal"
    if standard:
        assert headers["Authorization"].startswith("vapid t=")
        token, key = headers["Authorization"].removeprefix("vapid t=").split(",k=")
        assert "Crypto-Key" not in headers
    else:
        token = headers["Authorization"].removeprefix("WebPush ")
        dh, key = headers["Crypto-Key"].removeprefix("dh=").split(";p256ecdsa=")
        assert dh == sealed.dh
    assert key == vapid["public_key"]
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), push_crypto.b64url_decode(key)
    )
    parts = urlsplit(endpoint)
    claims = jwt.decode(
        token, public, algorithms=["ES256"], audience=f"{parts.scheme}://{parts.netloc}"
    )
    assert claims["sub"] == "mailto:admin@example.org"
    assert time.time() + 11 * 3600 < claims["exp"] <= time.time() + 24 * 3600


def test_vapid_audience_is_the_origin() -> None:
    assert push_crypto.origin("https://Push.Example:443/a?b") == "https://push.example"
    assert push_crypto.origin("https://push.example:8443/a") == "https://push.example:8443"
    assert push_crypto.origin("http://[::1]:8080/x") == "http://[::1]:8080"
