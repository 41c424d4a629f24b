"""An independent JSON-LD and RsaSignature2017 implementation for cross-checks.

Built on pyld (expansion, URDNA2015) and `cryptography` (RSA), with a document
loader that serves the published context documents from the shared vectors
and never touches the network. Used by the tests and by `bench/jsonld.py`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyld import jsonld as pyld_jsonld

IDENTITY_V1 = "https://w3id.org/identity/v1"


@cache
def _documents(contexts_dir: str) -> dict[str, Any]:
    """URL -> parsed published context document, from the vectors' index."""
    root = Path(contexts_dir)
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    return {
        url: json.loads((root / entry["file"]).read_text(encoding="utf-8"))
        for url, entry in index.items()
    }


def offline_loader(contexts_dir: Path) -> Any:
    """A pyld document loader over the published contexts (fails closed)."""
    docs = _documents(str(contexts_dir))

    def load(url: str, options: Any = None) -> dict[str, Any]:
        """Serves one context document, or raises for an unknown URL."""
        doc = docs[url.split("#")[0]]
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(doc)}

    return load


def pyld_canonicalize(document: dict[str, Any], contexts_dir: Path) -> str:
    """Canonical N-Quads of a JSON-LD document, by pyld."""
    options = {
        # pyld otherwise resolves against http://example.org/base/; no base (None) is
        # what Mastodon (and this module) use.
        "base": None,
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": offline_loader(contexts_dir),
    }
    return pyld_jsonld.normalize(document, options)


def _hash(document: dict[str, Any], contexts_dir: Path) -> str:
    """sha256 hex of the canonical form, as Mastodon's `hash`."""
    return hashlib.sha256(pyld_canonicalize(document, contexts_dir).encode()).hexdigest()


def to_be_signed(options: dict[str, Any], document: dict[str, Any], contexts_dir: Path) -> bytes:
    """Mastodon's string to sign: options hash then document hash."""
    opts = {k: v for k, v in options.items() if k not in ("type", "id", "signatureValue")}
    opts["@context"] = IDENTITY_V1
    body = {k: v for k, v in document.items() if k != "signature"}
    return (_hash(opts, contexts_dir) + _hash(body, contexts_dir)).encode()


def reference_verify(document: dict[str, Any], public_pem: str, contexts_dir: Path) -> bool:
    """Checks an RsaSignature2017 signature with pyld and `cryptography`."""
    sig = document.get("signature")
    if not isinstance(sig, dict) or sig.get("type") != "RsaSignature2017":
        return False
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(
            base64.b64decode(sig["signatureValue"]),
            to_be_signed(sig, document, contexts_dir),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


def reference_sign(
    document: dict[str, Any], private_pem: str, creator: str, created: str, contexts_dir: Path
) -> dict[str, Any]:
    """Signs as Mastodon does, with pyld and `cryptography`."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    options = {"type": "RsaSignature2017", "creator": creator, "created": created}
    signature = key.sign(
        to_be_signed(options, document, contexts_dir), padding.PKCS1v15(), hashes.SHA256()
    )
    signed = dict(document)
    signed["signature"] = {**options, "signatureValue": base64.b64encode(signature).decode()}
    return signed
