"""One-time tokens: signed, purpose-bound, expiring, and single-use through their binding."""

from __future__ import annotations

import base64

import pytest

from wildebeest_trio.services.onetime import (
    CONFIRM_EMAIL,
    RESET_PASSWORD,
    TokenExpired,
    TokenInvalid,
    check_token,
    make_token,
    token_user_id,
)

SECRET = bytes(range(32))
USER = 112233445566778899
NOW = 1_800_000_000.0


def test_round_trip_gives_the_user_id() -> None:
    token = make_token(SECRET, RESET_PASSWORD, USER, 3600, binding="hash-1", now=NOW)
    assert check_token(SECRET, RESET_PASSWORD, token, binding="hash-1", now=NOW + 10) == USER
    assert token_user_id(token) == USER
    # URL-safe without escaping: it goes into a query string as it is.
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_every_tampered_byte_is_refused() -> None:
    token = make_token(SECRET, CONFIRM_EMAIL, USER, 3600, now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for i in range(len(raw)):
        forged = bytearray(raw)
        forged[i] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(forged)).rstrip(b"=").decode()
        with pytest.raises(TokenInvalid):
            check_token(SECRET, CONFIRM_EMAIL, text, now=NOW)


def test_a_later_expiry_cannot_be_forged_onto_an_expired_token() -> None:
    token = make_token(SECRET, CONFIRM_EMAIL, USER, 60, now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[9:17] = int(NOW + 10**6).to_bytes(8, "big")
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(TokenInvalid) as caught:
        check_token(SECRET, CONFIRM_EMAIL, forged, now=NOW + 120)
    assert not isinstance(caught.value, TokenExpired)


def test_other_secret_or_purpose_is_refused() -> None:
    token = make_token(SECRET, CONFIRM_EMAIL, USER, 3600, now=NOW)
    with pytest.raises(TokenInvalid):
        check_token(b"another secret", CONFIRM_EMAIL, token, now=NOW)
    with pytest.raises(TokenInvalid):
        check_token(SECRET, RESET_PASSWORD, token, now=NOW)


def test_expiry() -> None:
    token = make_token(SECRET, RESET_PASSWORD, USER, 3600, now=NOW)
    assert check_token(SECRET, RESET_PASSWORD, token, now=NOW + 3599) == USER
    with pytest.raises(TokenExpired):
        check_token(SECRET, RESET_PASSWORD, token, now=NOW + 3600)
    # A TokenExpired is a TokenInvalid, for callers that need not tell them apart.
    with pytest.raises(TokenInvalid):
        check_token(SECRET, RESET_PASSWORD, token, now=NOW + 7200)


def test_expired_forgery_is_invalid_not_expired() -> None:
    token = make_token(b"attacker's key", RESET_PASSWORD, USER, 1, now=NOW)
    with pytest.raises(TokenInvalid) as caught:
        check_token(SECRET, RESET_PASSWORD, token, now=NOW + 100)
    assert not isinstance(caught.value, TokenExpired)


def test_reset_token_is_single_use_through_its_binding() -> None:
    """The caller binds to the password hash; changing the password spends every token."""
    old_hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaDE"
    token = make_token(SECRET, RESET_PASSWORD, USER, 3600, binding=old_hash, now=NOW)
    other = make_token(SECRET, RESET_PASSWORD, USER, 3600, binding=old_hash, now=NOW + 5)
    assert check_token(SECRET, RESET_PASSWORD, token, binding=old_hash, now=NOW) == USER
    new_hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdDI$aGFzaDI"  # the reset happened
    for used in (token, other):
        with pytest.raises(TokenInvalid):
            check_token(SECRET, RESET_PASSWORD, used, binding=new_hash, now=NOW + 10)


def test_binding_as_bytes_or_text_and_no_ambiguity() -> None:
    token = make_token(SECRET, "a", USER, 60, binding=b"bc", now=NOW)
    assert check_token(SECRET, "a", token, binding="bc", now=NOW) == USER
    # Purpose and binding do not run into each other.
    with pytest.raises(TokenInvalid):
        check_token(SECRET, "ab", token, binding="c", now=NOW)


@pytest.mark.parametrize(
    "token", ["", "x", "!!!!", "A" * 66, "A" * 500, "é" * 66, "AAAA=AAA", None, 12]
)
def test_malformed_tokens_are_invalid(token: object) -> None:
    with pytest.raises(TokenInvalid):
        check_token(SECRET, RESET_PASSWORD, token, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TokenInvalid):
        token_user_id(token)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        make_token(SECRET, "", USER, 60)
    with pytest.raises(ValueError):
        make_token(SECRET, RESET_PASSWORD, USER, 0)
