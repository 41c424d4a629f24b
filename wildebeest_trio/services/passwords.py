"""Password hashing with argon2id."""

from __future__ import annotations

import argon2

from ..config import Config

# Mastodon's (Devise's `password_length = 8..72`), counted in characters.
MIN_LENGTH = 8
MAX_LENGTH = 72


def length_problem(password: str) -> str | None:
    """Why a new password is refused, in Mastodon's words (`is too short (minimum is 8
    characters)`), or None when its length is allowed."""
    if len(password) < MIN_LENGTH:
        return f"is too short (minimum is {MIN_LENGTH} characters)"
    if len(password) > MAX_LENGTH:
        return f"is too long (maximum is {MAX_LENGTH} characters)"
    return None


def hasher(config: Config) -> argon2.PasswordHasher:
    """The argon2id hasher with the configured cost (cheap only where tests ask for it)."""
    return argon2.PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
        type=argon2.Type.ID,
    )


def hash_password(config: Config, password: str) -> str:
    """An argon2id hash of a password."""
    return hasher(config).hash(password)


def verify_password(config: Config, hashed: str, password: str) -> bool:
    """Whether a password matches its hash (constant-time inside argon2)."""
    try:
        return hasher(config).verify(hashed, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
