"""HTTP signatures: sign and verify requests, as the Fediverse does.

The work is done by the Rust extension (`wildebeest_trio._rust`); this module
is its typed face. It covers:

- draft-cavage-http-signatures-12 (`Signature` with `keyId`, `headers`...),
  which every Mastodon version sends and accepts;
- RFC 9421 HTTP Message Signatures (`Signature-Input` + `Signature`), which
  Mastodon verifies from 4.5 on and sends as a retry from 4.7 on;
- the `Digest` (RFC 3230) and `Content-Digest` (RFC 9530) body digests.

Keys are parsed once into `PrivateKey` / `PublicKey` handles (parsing an RSA
PEM is the slow part); every function also accepts a PEM string. Verification
errors are subclasses of `SignatureError`.

`policy="mastodon"` applies Mastodon's rules on top of the specifications
(digest signed on POST, host signed on GET, date or created signed, exactly
one RFC 9421 signature with `keyid` and `created`, ...); `policy="spec"`
checks only what the specifications require.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

import trio

from wildebeest_trio import _rust

__all__ = [
    "DigestMismatch",
    "InvalidKey",
    "MalformedDigest",
    "MalformedSignature",
    "MissingSignature",
    "PrivateKey",
    "PublicKey",
    "RequestContext",
    "RequiredComponentMissing",
    "SignatureError",
    "SignatureExpired",
    "SignatureInfo",
    "SignatureInvalid",
    "UnsupportedAlgorithm",
    "content_digest_header",
    "digest_header",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "parse_signature",
    "sign_many",
    "sign_many_async",
    "sign_message",
    "sign_request",
    "sign_request_async",
    "signature_base",
    "verify_digest",
    "verify_message",
    "verify_request",
    "verify_request_async",
]

#: A parsed private key (RSA of 2048 bits or more, Ed25519, ECDSA P-256/P-384).
PrivateKey = _rust.PrivateKey
#: A parsed public key (RSA of 1024 bits or more, Ed25519, ECDSA P-256/P-384).
PublicKey = _rust.PublicKey

if TYPE_CHECKING:
    # The extension's exception classes, as the type checker sees them.
    #: Base class of every error raised here.
    class SignatureError(Exception): ...

    #: A key could not be read (bad PEM or DER, unsupported type or size).
    class InvalidKey(SignatureError): ...

    #: The request carries no signature.
    class MissingSignature(SignatureError): ...

    #: A signature header, or a header it depends on (Date...), cannot be parsed.
    class MalformedSignature(SignatureError): ...

    #: `Content-Digest` is not a structured-field dictionary (Mastodon answers 400).
    class MalformedDigest(SignatureError): ...

    #: The algorithm is unknown or does not fit the key.
    class UnsupportedAlgorithm(SignatureError): ...

    #: The digest header is absent, unsupported or does not match the body.
    class DigestMismatch(SignatureError): ...

    #: The signature does not cover what the policy requires.
    class RequiredComponentMissing(SignatureError): ...

    #: The signature is too old, expired or dated too far ahead.
    class SignatureExpired(SignatureError): ...

    #: The signature does not verify.
    class SignatureInvalid(SignatureError): ...

else:
    SignatureError = _rust.SignatureError
    InvalidKey = _rust.InvalidKey
    MissingSignature = _rust.MissingSignature
    MalformedSignature = _rust.MalformedSignature
    MalformedDigest = _rust.MalformedDigest
    UnsupportedAlgorithm = _rust.UnsupportedAlgorithm
    DigestMismatch = _rust.DigestMismatch
    RequiredComponentMissing = _rust.RequiredComponentMissing
    SignatureExpired = _rust.SignatureExpired
    SignatureInvalid = _rust.SignatureInvalid

# A handle or a PEM string; the handle types come from the extension.
PrivateKeyLike: TypeAlias = Any
PublicKeyLike: TypeAlias = Any
HeadersLike: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
Scheme: TypeAlias = Literal["cavage", "rfc9421"]
Policy: TypeAlias = Literal["mastodon", "spec"]

_SCHEMES = ("cavage", "rfc9421")
_POLICIES = ("mastodon", "spec")


# Not frozen: a frozen dataclass costs 2 us more to build (it sets each field
# through object.__setattr__), which is 5% of a whole verification.
@dataclass(slots=True)
class SignatureInfo:
    """What a request's signature says about itself (verified or not)."""

    key_id: str
    scheme: Scheme
    #: cavage: the `algorithm` parameter (`hs2019` when absent); RFC 9421:
    #: the algorithm used to verify, or the `alg` parameter when only parsed.
    algorithm: str | None
    #: cavage: the signed header names; RFC 9421: the covered components.
    components: list[str]
    created: float | None
    expires: float | None
    #: The RFC 9421 label (`sig1`...), None for cavage.
    label: str | None
    nonce: str | None = None
    tag: str | None = None


class RequestContext(NamedTuple):
    """The request a response answers, for RFC 9421 `;req` components."""

    method: str
    url: str
    headers: HeadersLike


def _pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    """Header (name, value) pairs, keeping repeated fields."""
    if type(headers) is dict:
        return list(headers.items())
    # httpx.Headers merges repeats in items(); multi_items() keeps them.
    multi = getattr(headers, "multi_items", None)
    if callable(multi):
        return list(multi())
    items = getattr(headers, "items", None)
    if callable(items):
        return list(items())
    return [(name, value) for name, value in headers]  # type: ignore[misc]


def _info(raw: tuple[Any, ...]) -> SignatureInfo:
    return SignatureInfo(*raw)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _request_tuple(
    request: RequestContext | None,
) -> tuple[str, str, list[tuple[str, str]]] | None:
    if request is None:
        return None
    return (request.method, request.url, _pairs(request.headers))


# --- keys --------------------------------------------------------------------


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """Generate an RSA key: (PKCS#8 private PEM, SPKI public PEM)."""
    return _rust.generate_rsa_keypair(bits)


def generate_ed25519_keypair() -> tuple[str, str]:
    """Generate an Ed25519 key: (PKCS#8 private PEM, SPKI public PEM)."""
    return _rust.generate_ed25519_keypair()


# --- requests ----------------------------------------------------------------


def sign_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    *,
    key_id: str,
    private_key: PrivateKeyLike,
    scheme: Scheme = "cavage",
    now: float | None = None,
) -> dict[str, str]:
    """Sign a request; return the headers to add to it.

    Always `Signature`, plus `Host`, `Date` and (with a body, or for any
    method but GET/HEAD) `Digest` (cavage) or `Content-Digest` (RFC 9421)
    when the request lacks them; RFC 9421 adds `Signature-Input` too.

    cavage signs `(request-target) host date digest [content-type]` with a
    body and `(request-target) host date [accept]` without, with
    `algorithm="rsa-sha256"` for RSA keys (`hs2019` for Ed25519), as
    Mastodon does. RFC 9421 covers `@method @target-uri [content-digest]`
    with `created` and `keyid`, label `sig1`, as Mastodon 4.7 does.
    `now` (Unix seconds) fixes the clock, for tests.
    """
    _check_choice("scheme", scheme, _SCHEMES)
    return dict(
        _rust.sign_request(method, url, _pairs(headers), body, key_id, private_key, scheme, now)
    )


def parse_signature(
    method: str, url: str, headers: HeadersLike, *, label: str | None = None
) -> SignatureInfo:
    """Read a request's signature parameters without verifying anything.

    Use it to find `key_id` and fetch the key before `verify_request`.
    Raises `MissingSignature` or `MalformedSignature`.
    """
    return _info(_rust.parse_signature(method, url, _pairs(headers), label))


def verify_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    *,
    public_key: PublicKeyLike,
    now: float | None = None,
    max_age: float = 3900,
    max_skew: float = 3600,
    policy: Policy = "mastodon",
    label: str | None = None,
) -> SignatureInfo:
    """Verify a request's signature (cavage, or RFC 9421 if `Signature-Input` is present).

    `url` is the full URL the request was sent to (`https://host/path?query`),
    or just the path and query (the host then comes from `Host`). The time
    window follows Mastodon: the signature's `created` (or `Date`) may be at
    most `max_skew` seconds ahead; with an `expires`, the request is accepted
    until `expires` (capped at 12 hours after creation under the mastodon
    policy) plus `max_skew`; without one, until `max_age` seconds after
    creation (5 minutes plus 1 hour of skew by default).

    Raises a `SignatureError` subclass saying what is wrong.
    """
    _check_choice("policy", policy, _POLICIES)
    return _info(
        _rust.verify_request(
            method, url, _pairs(headers), body, public_key, now, max_age, max_skew, policy, label
        )
    )


def _job(request: Mapping[str, Any]) -> tuple[Any, ...]:
    """One `sign_many` request as the positional tuple the extension takes."""
    scheme = request.get("scheme", "cavage")
    _check_choice("scheme", scheme, _SCHEMES)
    return (
        request["method"],
        request["url"],
        _pairs(request.get("headers", {})),
        request.get("body"),
        request["key_id"],
        request["private_key"],
        scheme,
        request.get("now"),
    )


def sign_many(
    requests: Iterable[Mapping[str, Any]], *, threads: int | None = None
) -> list[dict[str, str]]:
    """Sign a batch of requests on all cores, with the GIL released.

    Each request is a mapping of `sign_request`'s arguments (`method`, `url`,
    `headers`, `body`, `key_id`, `private_key`, optionally `scheme`, `now`).
    The results are in the same order. `threads` limits the cores used
    (1 signs on the calling thread). One failure raises and nothing is returned.
    """
    jobs = [_job(r) for r in requests]
    return [dict(pairs) for pairs in _rust.sign_many(jobs, threads)]


async def sign_request_async(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    *,
    key_id: str,
    private_key: PrivateKeyLike,
    scheme: Scheme = "cavage",
    now: float | None = None,
) -> dict[str, str]:
    """`sign_request` in a worker thread, so the Trio loop keeps serving."""
    call = functools.partial(
        sign_request,
        method,
        url,
        headers,
        body,
        key_id=key_id,
        private_key=private_key,
        scheme=scheme,
        now=now,
    )
    return await trio.to_thread.run_sync(call)


async def verify_request_async(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes | None,
    *,
    public_key: PublicKeyLike,
    now: float | None = None,
    max_age: float = 3900,
    max_skew: float = 3600,
    policy: Policy = "mastodon",
    label: str | None = None,
) -> SignatureInfo:
    """`verify_request` in a worker thread, so the Trio loop keeps serving."""
    call = functools.partial(
        verify_request,
        method,
        url,
        headers,
        body,
        public_key=public_key,
        now=now,
        max_age=max_age,
        max_skew=max_skew,
        policy=policy,
        label=label,
    )
    return await trio.to_thread.run_sync(call)


async def sign_many_async(
    requests: Iterable[Mapping[str, Any]], *, threads: int | None = None
) -> list[dict[str, str]]:
    """`sign_many` in a worker thread, so the Trio loop keeps serving."""
    jobs = list(requests)
    return await trio.to_thread.run_sync(functools.partial(sign_many, jobs, threads=threads))


# --- the RFC 9421 message face -----------------------------------------------


def sign_message(
    components: Sequence[str],
    *,
    key: PrivateKeyLike | bytes,
    method: str | None = None,
    url: str | None = None,
    status: int | None = None,
    headers: HeadersLike = (),
    request: RequestContext | None = None,
    label: str = "sig1",
    created: int | None = None,
    expires: int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    alg: str | None = None,
    keyid: str | None = None,
    algorithm: str | None = None,
) -> dict[str, str]:
    """Sign an HTTP request or response per RFC 9421 with explicit components.

    `components` are identifiers such as `"@method"`, `"content-type"`,
    `"@authority;req"` or `'"@query-param";name="Pet"'`. A request gives
    `method` and `url`; a response gives `status` (and `request` for `;req`
    components). Parameters left None are not included; they are written in
    the order created, keyid, alg, expires, nonce, tag. `alg` is both a
    parameter and the algorithm; `algorithm` picks the algorithm without
    saying so in the signature. `key` is a private key, a PEM, or `bytes`
    for an `hmac-sha256` shared secret.

    Returns `{"Signature-Input": "<label>=...", "Signature": "<label>=:...:"}`;
    to add a signature beside existing ones, join each with `", "`.
    """
    member_input, member_sig, _base = _rust.rfc9421_sign(
        list(components),
        key,
        method,
        url,
        status,
        _pairs(headers),
        _request_tuple(request),
        label,
        created,
        expires,
        nonce,
        tag,
        alg,
        keyid,
        algorithm,
    )
    return {"Signature-Input": member_input, "Signature": member_sig}


def signature_base(
    components: Sequence[str],
    *,
    method: str | None = None,
    url: str | None = None,
    status: int | None = None,
    headers: HeadersLike = (),
    request: RequestContext | None = None,
    created: int | None = None,
    expires: int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    alg: str | None = None,
    keyid: str | None = None,
) -> str:
    """The RFC 9421 signature base that `sign_message` would sign."""
    return _rust.rfc9421_base(
        list(components),
        method,
        url,
        status,
        _pairs(headers),
        _request_tuple(request),
        created,
        expires,
        nonce,
        tag,
        alg,
        keyid,
    )


def verify_message(
    *,
    key: PublicKeyLike | bytes,
    headers: HeadersLike,
    method: str | None = None,
    url: str | None = None,
    status: int | None = None,
    request: RequestContext | None = None,
    label: str | None = None,
    algorithm: str | None = None,
    now: float | None = None,
    max_age: float | None = None,
    max_skew: float = 0.0,
    required: Sequence[str] = (),
    body: bytes | None = None,
) -> SignatureInfo:
    """Verify one RFC 9421 signature of a request or response (spec rules only).

    `label` picks the signature (default: the first). `algorithm` is the
    algorithm the verifier knows for the key, for keys that do not say (an
    RSA key may be PKCS#1 v1.5 or PSS); an `alg` parameter that disagrees is
    refused. `key` is a public key, a PEM, or `bytes` for an HMAC secret.
    `expires` and a `created` in the future are checked against `now`
    (default: the clock) with `max_skew`; `max_age` also limits the age of
    `created`. `required` components must be covered. With `body`, a
    covered `Content-Digest` is checked against it.
    """
    return _info(
        _rust.rfc9421_verify(
            key,
            method,
            url,
            status,
            _pairs(headers),
            _request_tuple(request),
            label,
            algorithm,
            now,
            max_age,
            max_skew,
            list(required),
            body,
        )
    )


# --- digests -----------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The `Digest` header value for a body: `SHA-256=<base64>`."""
    return _rust.digest_header(body)


def content_digest_header(body: bytes, algorithms: Sequence[str] = ("sha-256",)) -> str:
    """The `Content-Digest` header value for a body: `sha-256=:<base64>:`."""
    return _rust.content_digest_header(body, list(algorithms))


def verify_digest(headers: HeadersLike, body: bytes, *, policy: Policy = "spec") -> None:
    """Check the `Digest` and/or `Content-Digest` header against the body.

    Every supported algorithm present must match (SHA-256 and SHA-512;
    under `policy="mastodon"` only SHA-256, which must be present). Raises
    `DigestMismatch`, or `MalformedDigest` (a `MalformedSignature`) when
    `Content-Digest` is not a structured-field dictionary.
    """
    _check_choice("policy", policy, _POLICIES)
    _rust.verify_digest(_pairs(headers), body, policy)
