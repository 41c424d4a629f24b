"""Password hashing with argon2id."""

from __future__ import annotations

import argon2

from ..config import Config


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
