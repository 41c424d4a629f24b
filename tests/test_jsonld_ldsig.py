"""RsaSignature2017 Linked Data signatures, cross-checked with pyld + cryptography."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.jsonld_corpus import SEC, create_note, delete_note, person, update_person
from tests.jsonld_pyld import reference_sign, reference_verify
from tests.vectors import vectors_dir
from wildebeest_trio import _rust, jsonld

CREATOR = "https://mastodon.example/users/alice#main-key"
CREATED = "2024-11-27T18:42:08Z"
DOCS: dict[str, Callable[[], dict[str, Any]]] = {
    "create_note": create_note,
    "person": person,
    "delete_note": delete_note,
    "update_person": update_person,
}


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    """A fresh 2048-bit RSA key pair as (PKCS#8 PEM, SPKI PEM)."""
    private_pem, public_pem = _rust.generate_rsa_keypair(2048)
    return private_pem, public_pem


@pytest.fixture
def contexts() -> Path:
    """The published contexts the reference implementation loads."""
    return vectors_dir("contexts")


def _with_security(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with security v1 in its context, as Mastodon signs it."""
    ctx = doc["@context"]
    ctx = ctx if isinstance(ctx, list) else [ctx]
    if SEC not in ctx:
        ctx = [*ctx, SEC]
    return {**doc, "@context": ctx}


@pytest.mark.parametrize("name", list(DOCS))
def test_ours_verifies_with_reference(name: str, keypair: tuple[str, str], contexts: Path) -> None:
    """A signature we make verifies with the independent implementation."""
    private_pem, public_pem = keypair
    signed = jsonld.sign_ld_signature(DOCS[name](), private_pem, CREATOR, CREATED)
    assert signed["signature"]["type"] == "RsaSignature2017"
    assert SEC in signed["@context"]
    assert reference_verify(signed, public_pem, contexts)
    assert jsonld.verify_ld_signature(signed, public_pem)


@pytest.mark.parametrize("name", list(DOCS))
def test_reference_verifies_with_ours(name: str, keypair: tuple[str, str], contexts: Path) -> None:
    """A signature the independent implementation makes verifies here."""
    private_pem, public_pem = keypair
    doc = _with_security(DOCS[name]())
    signed = reference_sign(doc, private_pem, CREATOR, CREATED, contexts)
    assert jsonld.verify_ld_signature(signed, public_pem)
    assert jsonld.verify_ld_signature(json.dumps(signed), public_pem)
    # PKCS#1 v1.5 is deterministic: both implementations sign the same bytes.
    ours = jsonld.sign_ld_signature(doc, private_pem, CREATOR, CREATED)
    assert ours["signature"]["signatureValue"] == signed["signature"]["signatureValue"]


def test_key_handles_work(keypair: tuple[str, str]) -> None:
    """Keys may be the signer's handles as well as PEM strings."""
    private_pem, public_pem = keypair
    private = _rust.PrivateKey.from_pem(private_pem)
    public = _rust.PublicKey.from_pem(public_pem)
    signed = jsonld.sign_ld_signature(create_note(), private, CREATOR, CREATED)
    assert jsonld.verify_ld_signature(signed, public)
    assert jsonld.verify_ld_signature(signed, public_pem)


def _set_content(d: dict[str, Any]) -> None:
    d["object"]["content"] = "<p>changed</p>"


def _set_created(d: dict[str, Any]) -> None:
    d["signature"]["created"] = "2024-11-27T18:42:09Z"


def _set_content_map(d: dict[str, Any]) -> None:
    d["object"]["contentMap"]["en"] = "<p>changed</p>"


def _set_to(d: dict[str, Any]) -> None:
    d["to"] = ["https://evil.example/users/mallory"]


def _set_creator(d: dict[str, Any]) -> None:
    d["signature"]["creator"] = "https://evil.example/users/mallory#main-key"


@pytest.mark.parametrize(
    "tamper",
    [_set_content, _set_created, _set_content_map, _set_to, _set_creator],
    ids=["content", "created", "contentMap", "to", "creator"],
)
def test_tampering_breaks_it(
    tamper: Callable[[dict[str, Any]], None], keypair: tuple[str, str], contexts: Path
) -> None:
    """Changing any signed statement makes both implementations refuse it."""
    private_pem, public_pem = keypair
    signed = jsonld.sign_ld_signature(create_note(), private_pem, CREATOR, CREATED)
    bad = copy.deepcopy(signed)
    tamper(bad)
    assert not jsonld.verify_ld_signature(bad, public_pem)
    assert not reference_verify(bad, public_pem, contexts)


def test_key_order_does_not_matter(keypair: tuple[str, str]) -> None:
    """Reordering keys everywhere (signature included) keeps it valid."""
    private_pem, public_pem = keypair
    signed = jsonld.sign_ld_signature(create_note(), private_pem, CREATOR, CREATED)
    rng = random.Random(7)

    def shuffle(v: Any) -> Any:
        """The value with each object's keys in a random order."""
        if isinstance(v, dict):
            items = list(v.items())
            rng.shuffle(items)
            return {k: shuffle(x) for k, x in items}
        if isinstance(v, list):
            return [shuffle(x) for x in v]
        return v

    assert jsonld.verify_ld_signature(shuffle(signed), public_pem)


def test_wrong_key_fails(keypair: tuple[str, str]) -> None:
    """Another key does not verify the signature."""
    private_pem, _ = keypair
    _, other_public = _rust.generate_rsa_keypair(2048)
    signed = jsonld.sign_ld_signature(create_note(), private_pem, CREATOR, CREATED)
    assert not jsonld.verify_ld_signature(signed, other_public)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("signature"),
        lambda d: d["signature"].update(type="Ed25519Signature2018"),
        lambda d: d["signature"].update(signatureValue="not base64 !!"),
        lambda d: d["signature"].update(signatureValue=""),
        lambda d: d["signature"].pop("signatureValue"),
        lambda d: d.update(signature="a string"),
        lambda d: d["object"].update({"@graph": []}),
        lambda d: d["object"].update({"@reverse": {}}),
    ],
    ids=[
        "missing",
        "other-type",
        "garbage",
        "empty",
        "no-value",
        "not-object",
        "graph",
        "reverse",
    ],
)
def test_malformed_signature_is_false(
    mutate: Callable[[dict[str, Any]], Any], keypair: tuple[str, str]
) -> None:
    """Missing, foreign or malformed signatures (and unsafe keywords) are False."""
    private_pem, public_pem = keypair
    signed = jsonld.sign_ld_signature(create_note(), private_pem, CREATOR, CREATED)
    mutate(signed)
    assert jsonld.verify_ld_signature(signed, public_pem) is False


def test_unknown_context_raises(keypair: tuple[str, str]) -> None:
    """A signed document with an unbundled remote context fails closed."""
    private_pem, public_pem = keypair
    doc = create_note()
    doc["@context"].append("https://unknown.example/ns")
    with pytest.raises(jsonld.UnknownContext, match=re.escape("https://unknown.example/ns")):
        jsonld.sign_ld_signature(doc, private_pem, CREATOR, CREATED)
    signed = jsonld.sign_ld_signature(create_note(), private_pem, CREATOR, CREATED)
    signed["@context"].append("https://unknown.example/ns")
    with pytest.raises(jsonld.UnknownContext):
        jsonld.verify_ld_signature(signed, public_pem)


def test_created_defaults_to_now(keypair: tuple[str, str]) -> None:
    """Without `created`, the signature carries the current UTC time."""
    private_pem, public_pem = keypair
    signed = jsonld.sign_ld_signature(like_with_context(), private_pem, CREATOR)
    assert signed["signature"]["created"].endswith("Z")
    assert jsonld.verify_ld_signature(signed, public_pem)


def like_with_context() -> dict[str, Any]:
    """A small document whose context is a single string."""
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://mastodon.example/users/alice#likes/1",
        "type": "Like",
        "actor": "https://mastodon.example/users/alice",
        "object": "https://social.example/users/bob/statuses/1",
    }
