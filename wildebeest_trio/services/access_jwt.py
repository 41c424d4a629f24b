"""Trusted identity header: verify an identity provider's JWT (Cloudflare Access style).

Behind Cloudflare Access (or any proxy doing the same), every request carries a
JWT in a header (`Cf-Access-Jwt-Assertion`) naming the logged-in person. It is
trusted only after checking, with PyJWT: an RS256 or ES256 signature by a key
of the issuer's JWKS, `iss`, `aud`, `exp` and `nbf` (with a small leeway).

The JWKS (an https URL or a local file) is cached. A token naming a key id the
cache lacks makes one refetch (the provider rotated its keys), but refetches
happen at most once per `refetch_interval` seconds however many such tokens
arrive, so forged tokens cannot turn into a flood of requests to the provider.
The cache is also refreshed after `max_age` seconds so removed keys stop
working; if that refresh fails the old keys stay in use (logged), to keep
people logged in through a short outage of the provider.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import trio
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .. import jsonbounds
from ..config import Config, ConfigError
from ..net import FetchError, Outbound, safe_get

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
# Cloudflare's tokens are about 1 KiB; anything far larger is not one.
MAX_TOKEN_LENGTH = 16 * 1024
MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048


class AccessDenied(Exception):
    """The token is not accepted; `reason` says why (for logs, not for the visitor)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessIdentity:
    """Who a verified token names: e-mail (lower-cased), subject and every claim."""

    email: str
    subject: str
    claims: dict[str, Any] = field(repr=False)


def _usable_key(data: Any) -> jwt.PyJWK | None:
    """A JWK as a verification key, or None when it is not one we accept."""
    if not isinstance(data, dict) or data.get("use", "sig") != "sig":
        return None
    try:
        key = jwt.PyJWK(data)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    public = key.key
    if key.algorithm_name == "RS256":
        ok = isinstance(public, rsa.RSAPublicKey) and public.key_size >= MIN_RSA_BITS
    elif key.algorithm_name == "ES256":
        ok = isinstance(public, ec.EllipticCurvePublicKey) and isinstance(
            public.curve, ec.SECP256R1
        )
    else:
        # HS256 (`kty: oct`) above all: a shared secret published in a key set is no secret.
        ok = False
    return key if ok else None


def parse_jwks(raw: bytes) -> dict[str | None, list[jwt.PyJWK]]:
    """The RS256/ES256 public keys of a JWKS document, by `kid` (None: keys without one)."""
    try:
        document = jsonbounds.loads(raw, max_bytes=MAX_JWKS_BYTES)
    except ValueError:
        raise AccessDenied("key set is not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise AccessDenied("key set has no `keys` list")
    keys: dict[str | None, list[jwt.PyJWK]] = {}
    for entry in entries:
        key = _usable_key(entry)
        if key is not None:
            kid = entry.get("kid")
            keys.setdefault(kid if isinstance(kid, str) else None, []).append(key)
    if not keys:
        raise AccessDenied("key set has no usable RS256 or ES256 key")
    return keys


class AccessVerifier:
    """Verifies identity JWTs against one issuer, audience and key set."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: str,
        header: str = "Cf-Access-Jwt-Assertion",
        outbound: Outbound | None = None,
        leeway: float = 30.0,
        refetch_interval: float = 60.0,
        max_age: float = 3600.0,
        fetch_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not issuer or not audience or not jwks:
            raise ValueError("issuer, audience and jwks are all required")
        scheme = urlsplit(jwks).scheme.lower()
        if scheme in {"http", "https"} and outbound is None:
            raise ValueError("a JWKS URL needs the runtime's outbound connections")
        if scheme == "http" and not (outbound and outbound.policy.allow_private):
            # Keys fetched in clear text could be swapped on the way.
            raise ValueError("the JWKS URL must be https")
        if scheme not in {"", "http", "https"}:
            raise ValueError(f"the JWKS must be an https URL or a file path, not {scheme}:")
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.header = header
        self.outbound = outbound
        self.leeway = leeway
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self.fetch_timeout = fetch_timeout
        self._clock = clock
        # Tests pass a context trusting their own certificate; production uses the default.
        self.ssl_context = ssl_context
        self._is_url = scheme in {"http", "https"}
        self._keys: dict[str | None, list[jwt.PyJWK]] | None = None
        self._loaded_at = 0.0
        self._last_fetch: float | None = None
        self._generation = 0
        self._lock = trio.Lock()
        # How many times the key set was read (fetched or loaded); tests and metrics.
        self.fetches = 0

    @classmethod
    def from_config(cls, config: Config, outbound: Outbound) -> AccessVerifier | None:
        """The verifier of the `access_*` settings, or None when the mode is off."""
        if not config.access_team_domain:
            return None
        try:
            return cls(
                issuer=config.access_team_domain,
                audience=config.access_audience.strip(),
                jwks=config.access_jwks,
                header=config.access_header,
                outbound=outbound,
            )
        except ValueError as exc:
            raise ConfigError(f"WB_ACCESS_JWKS: {exc}") from None

    async def verify(self, token: str) -> AccessIdentity:
        """The identity in a valid token; `AccessDenied` for anything else."""
        token = token.strip() if isinstance(token, str) else ""
        if not token:
            raise AccessDenied("no token")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AccessDenied("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AccessDenied("malformed token") from None
        alg = header.get("alg")
        # Checked before any key is looked at: `none`, and HS256 keyed with the public key.
        if alg not in ALGORITHMS:
            raise AccessDenied(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AccessDenied("malformed key id")
        key = await self._key_for(kid, alg)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AccessDenied("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AccessDenied("token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise AccessDenied("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise AccessDenied("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise AccessDenied("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AccessDenied(f"token has no {exc.claim!r} claim") from None
        except jwt.InvalidTokenError as exc:
            raise AccessDenied(f"invalid token: {exc}") from None
        email = claims.get("email")
        # Service tokens (machines, not people) carry no e-mail: they cannot log in.
        if not isinstance(email, str) or "@" not in email.strip():
            raise AccessDenied("token names no e-mail address")
        subject = claims.get("sub")
        return AccessIdentity(
            email=email.strip().lower(),
            subject=subject if isinstance(subject, str) else "",
            claims=claims,
        )

    # The key set

    def _find(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        keys = self._keys or {}
        if kid is not None:
            candidates = keys.get(kid, [])
        else:
            # No key id: acceptable only when the set has a single key to choose.
            every = [key for group in keys.values() for key in group]
            candidates = every if len(every) == 1 else []
        for key in candidates:
            if key.algorithm_name == alg:
                return key
        return None

    async def _key_for(self, kid: str | None, alg: str) -> jwt.PyJWK:
        if self._keys is None or self._clock() - self._loaded_at >= self.max_age:
            await self._refresh(self._generation)
        key = self._find(kid, alg)
        if key is None:
            # Perhaps the provider rotated its keys: look once more (rate-limited).
            await self._refresh(self._generation)
            key = self._find(kid, alg)
        if key is None:
            # The key id comes from the visitor: shortened before it reaches the logs.
            shown = kid if kid is None or len(kid) <= 64 else kid[:64] + "…"
            raise AccessDenied(f"no {alg} key with id {shown!r} in the key set")
        return key

    async def _refresh(self, seen: int) -> None:
        """Reload the key set unless another task just did, or the last try was too recent."""
        async with self._lock:
            if self._generation != seen:
                return
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self.refetch_interval:
                if self._keys is None:
                    raise AccessDenied("key set unavailable (retrying later)")
                return
            self._last_fetch = now
            self.fetches += 1
            try:
                keys = parse_jwks(await (self._fetch() if self._is_url else self._read_file()))
            except AccessDenied as exc:
                log.warning("identity key set %s: %s", self.jwks, exc.reason)
                if self._keys is None:
                    raise AccessDenied(f"key set unavailable: {exc.reason}") from None
                return
            self._keys = keys
            self._loaded_at = now
            self._generation += 1

    async def _read_file(self) -> bytes:
        path = trio.Path(self.jwks)
        try:
            if (await path.stat()).st_size > MAX_JWKS_BYTES:
                raise AccessDenied("key set file too large")
            return await path.read_bytes()
        except OSError as exc:
            raise AccessDenied(f"cannot read key set file: {exc.strerror}") from None

    async def _fetch(self) -> bytes:
        """GET the JWKS URL: public addresses only (unless allowed), no redirects, capped."""
        assert self.outbound is not None  # __init__ requires it for a URL
        try:
            fetched = await safe_get(
                self.jwks,
                headers={"Accept": "application/json"},
                outbound=self.outbound,
                max_bytes=MAX_JWKS_BYTES,
                max_redirects=0,
                time_limit=self.fetch_timeout,
                ssl_context=self.ssl_context,
            )
        except FetchError as exc:
            if "larger than" in str(exc):
                raise AccessDenied("key set too large") from None
            if "no answer within" in str(exc):
                raise AccessDenied(
                    f"key set URL did not answer within {self.fetch_timeout:g}s"
                ) from None
            raise AccessDenied(f"cannot fetch key set: {exc}") from None
        if fetched.status != 200:
            raise AccessDenied(f"key set URL answered {fetched.status}")
        return fetched.body


__all__ = ["ALGORITHMS", "AccessDenied", "AccessIdentity", "AccessVerifier", "parse_jwks"]
