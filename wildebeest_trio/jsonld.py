"""JSON-LD toRdf, RDF canonicalization (RDFC-1.0) and RsaSignature2017.

The typed Python face of the Rust implementation in `rust_sig/src/jsonld/`.
Contexts are never fetched: ActivityStreams, security v1/v2, identity v1 and
the other contexts the Fediverse uses are bundled, extra documents can be
passed in `contexts`, and any other remote context raises `UnknownContext`.
Heavy calls release the GIL, so they may run in `trio.to_thread`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from wildebeest_trio import _rust

__all__ = [
    "InvalidDocument",
    "JsonLdError",
    "LimitExceeded",
    "UnknownContext",
    "canonicalize",
    "canonicalize_nquads",
    "issued_identifiers",
    "sign_ld_signature",
    "to_rdf",
    "verify_ld_signature",
]

#: Default bound on the work of Hash N-Degree Quads (calls plus permutations).
DEFAULT_MAX_WORK: int = 20_000

Document = dict[str, Any] | list[Any] | str
#: A key: a `_rust.PublicKey`/`_rust.PrivateKey` handle or a PEM string.
Key = Any
Contexts = Mapping[str, dict[str, Any] | list[Any] | str] | None


class JsonLdError(ValueError):
    """A JSON-LD, N-Quads or LD-signature failure, with its spec error code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        #: The JSON-LD error code when the specification names one, else "".
        self.code = code


class UnknownContext(JsonLdError):
    """A remote context that is neither bundled nor supplied (never fetched)."""


class InvalidDocument(JsonLdError):
    """Input that is not valid JSON, JSON-LD or N-Quads."""


class LimitExceeded(JsonLdError):
    """A size, nesting depth or canonicalization work bound was exceeded."""


_KINDS: dict[str, type[JsonLdError]] = {
    "unknown_context": UnknownContext,
    "invalid": InvalidDocument,
    "limit": LimitExceeded,
    "crypto": JsonLdError,
}

T = TypeVar("T")


def _call(fn: Callable[..., T], *args: Any) -> T:
    """Calls into Rust, turning its failures into the typed exceptions."""
    try:
        return fn(*args)
    except _rust.JsonLdFailure as exc:
        kind, code, message = exc.args
        text = f"{code}: {message}" if code else message
        raise _KINDS[kind](text, code) from None


def canonicalize_nquads(
    nquads: str, *, hash_algorithm: str = "sha256", max_work: int = DEFAULT_MAX_WORK
) -> str:
    """Canonical N-Quads (RDFC-1.0) of a dataset given as N-Quads."""
    return _call(_rust.jsonld_canonicalize_nquads, nquads, hash_algorithm, max_work)


def issued_identifiers(
    nquads: str, *, hash_algorithm: str = "sha256", max_work: int = DEFAULT_MAX_WORK
) -> dict[str, str]:
    """The canonical blank node map (input label -> `c14nN`) of a dataset."""
    return _call(_rust.jsonld_issued_identifiers, nquads, hash_algorithm, max_work)


def _contexts_arg(contexts: Contexts) -> dict[str, Any] | None:
    """The `contexts` mapping as a dict for the extension (None when empty)."""
    return dict(contexts) if contexts else None


def to_rdf(document: Document, *, base: str | None = None, contexts: Contexts = None) -> str:
    """The document's RDF dataset as N-Quads (JSON-LD 1.1 toRdf).

    `document` is a parsed JSON object or array, or JSON text; `base` is the
    document's IRI for relative references; `contexts` supplies context
    documents (URL -> document) besides the bundled ones.
    """
    return _call(_rust.jsonld_to_rdf, document, base, _contexts_arg(contexts))


def canonicalize(
    document: Document,
    *,
    base: str | None = None,
    contexts: Contexts = None,
    hash_algorithm: str = "sha256",
    max_work: int = DEFAULT_MAX_WORK,
) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document's dataset."""
    return _call(
        _rust.jsonld_canonicalize,
        document,
        base,
        _contexts_arg(contexts),
        hash_algorithm,
        max_work,
    )


def verify_ld_signature(document: dict[str, Any] | str, public_key: Key) -> bool:
    """Checks a document's `RsaSignature2017` Linked Data signature, as Mastodon.

    False when the signature is missing, not `RsaSignature2017`, malformed or
    wrong, or when the document uses `@graph`, `@included` or `@reverse`
    (which Mastodon refuses in signed documents). Raises a `JsonLdError` when
    the document is not usable JSON-LD (an unknown context, for instance) and
    the signer's `InvalidKey` for an unusable key.
    """
    return _call(_rust.jsonld_verify_ld_signature, document, public_key)


def sign_ld_signature(
    document: dict[str, Any], private_key: Key, creator: str, created: str | None = None
) -> dict[str, Any]:
    """The document signed with `RsaSignature2017`, exactly as Mastodon signs.

    `https://w3id.org/security/v1` is appended to `@context` when missing (as
    Mastodon's serializer does), an existing `signature` is replaced, and the
    new one names `creator` (the key id) and `created` (now, ISO 8601 UTC,
    when not given).
    """
    if created is None:
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = _call(_rust.jsonld_sign_ld_signature, document, private_key, creator, created)
    result: dict[str, Any] = json.loads(signed)
    return result
