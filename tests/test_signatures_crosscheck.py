"""Cross-checks against independent implementations, both ways.

- draft-cavage: `cryptography` plus a signing-string builder written here
  from the draft's text, sharing no code with the Rust signer;
- RFC 9421: the `http-message-signatures` package.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

from wildebeest_trio import signatures as sig

NOW = 1_703_066_400
INBOX = "https://remote.example/users/alice/inbox?x=1"
KEY_ID = "https://local.example/users/bob#main-key"
BODY = b'{"type":"Follow","object":"https://remote.example/users/alice"}'


@pytest.fixture(scope="module")
def crypto_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# --- an independent draft-cavage implementation -----------------------------------


def cavage_signing_string(
    method: str, url: str, headers: dict[str, str], signed: list[str], params: dict[str, str]
) -> str:
    """The signing string of draft-cavage-12 section 2.3, written from the text."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {params[name[1:-1]]}")
        else:
            lines.append(f"{name}: {lowered[name].strip()}")
    return "\n".join(lines)


def parse_cavage(value: str) -> dict[str, str]:
    """`k="v"` pairs of a Signature header (values here never hold quotes)."""
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


def test_our_cavage_signatures_verify_with_cryptography(crypto_rsa: rsa.RSAPrivateKey) -> None:
    for method, body in (("POST", BODY), ("GET", None)):
        headers = {
            "Accept": "application/activity+json",
            "Content-Type": "application/activity+json",
        }
        added = sig.sign_request(
            method,
            INBOX,
            headers,
            body,
            key_id=KEY_ID,
            private_key=private_pem(crypto_rsa),
            now=NOW,
        )
        all_headers = headers | added
        params = parse_cavage(added["Signature"])
        assert params["keyId"] == KEY_ID
        assert params["algorithm"] == "rsa-sha256"
        text = cavage_signing_string(method, INBOX, all_headers, params["headers"].split(), params)
        crypto_rsa.public_key().verify(
            base64.b64decode(params["signature"]),
            text.encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        assert all_headers["Date"] == format_datetime(
            datetime.datetime.fromtimestamp(NOW, datetime.UTC), usegmt=True
        )
        if body is not None:
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            assert all_headers["Digest"] == f"SHA-256={digest}"


@dataclass
class CavageCase:
    """One signature made by the independent implementation."""

    method: str
    signed: list[str]
    algorithm: str | None = "rsa-sha256"
    params: dict[str, str] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)


CAVAGE_CASES = [
    CavageCase("POST", ["(request-target)", "host", "date", "digest", "content-type"]),
    CavageCase("POST", ["host", "date", "digest", "content-type", "(request-target)"]),
    CavageCase("GET", ["date", "host", "(request-target)"]),
    CavageCase("GET", ["(request-target)", "host", "date", "accept"], algorithm="hs2019"),
    CavageCase("GET", ["(request-target)", "host", "date"], algorithm=None),
    CavageCase(
        "POST",
        ["(request-target)", "(created)", "(expires)", "host", "digest"],
        algorithm="hs2019",
        params={"created": str(NOW), "expires": str(NOW + 300)},
    ),
    CavageCase(
        "POST",
        ["(request-target)", "host", "date", "digest", "collection-synchronization"],
        extra_headers={"Collection-Synchronization": 'collectionId="x", digest="y"'},
    ),
]


@pytest.mark.parametrize("case", CAVAGE_CASES, ids=lambda c: " ".join(c.signed) + f" {c.algorithm}")
def test_cryptography_cavage_signatures_verify_with_ours(
    crypto_rsa: rsa.RSAPrivateKey, case: CavageCase
) -> None:
    body = BODY if case.method == "POST" else None
    headers = {
        "Host": "remote.example",
        "Date": "Wed, 20 Dec 2023 10:00:00 GMT",
        "Accept": "application/activity+json",
        "Content-Type": "application/activity+json",
        **case.extra_headers,
    }
    if body is not None:
        headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    text = cavage_signing_string(case.method, INBOX, headers, case.signed, case.params)
    signature = base64.b64encode(
        crypto_rsa.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    fields = [f'keyId="{KEY_ID}"']
    if case.algorithm:
        fields.append(f'algorithm="{case.algorithm}"')
    fields += [f"{k}={v}" for k, v in case.params.items()]
    fields += [f'headers="{" ".join(case.signed)}"', f'signature="{signature}"']
    headers["Signature"] = ",".join(fields)
    public = sig.PublicKey.from_pem(public_pem(crypto_rsa))
    for policy in ("mastodon", "spec"):
        info = sig.verify_request(
            case.method,
            INBOX,
            headers,
            body,
            public_key=public,
            now=NOW,
            policy=policy,  # type: ignore[arg-type]
        )
        assert info.components == case.signed
        assert info.algorithm == (case.algorithm or "hs2019")


def test_cryptography_ed25519_hs2019_verifies_with_ours() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    headers = {"Host": "remote.example", "Date": "Wed, 20 Dec 2023 10:00:00 GMT"}
    signed = ["(request-target)", "host", "date"]
    text = cavage_signing_string("GET", INBOX, headers, signed, {})
    signature = base64.b64encode(key.sign(text.encode())).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="hs2019",headers="{" ".join(signed)}",signature="{signature}"'
    )
    sig.verify_request("GET", INBOX, headers, None, public_key=public_pem(key), now=NOW)


def test_ed25519_cavage_signatures_verify_with_cryptography() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    added = sig.sign_request(
        "POST", INBOX, {}, BODY, key_id=KEY_ID, private_key=private_pem(key), now=NOW
    )
    params = parse_cavage(added["Signature"])
    assert params["algorithm"] == "hs2019"
    text = cavage_signing_string("POST", INBOX, added, params["headers"].split(), params)
    key.public_key().verify(base64.b64decode(params["signature"]), text.encode())


# --- RFC 9421 against http-message-signatures --------------------------------------


class Headers(dict[str, str]):
    """A plain header dict that the package can read and write."""


@dataclass
class Request:
    """The request interface http-message-signatures reads."""

    method: str
    url: str
    headers: Headers


@dataclass
class Response:
    """The response interface http-message-signatures reads."""

    status_code: int
    headers: Headers
    request: Request


ALGS: list[tuple[str, Any, Any]] = [
    (
        "rsa-v1_5-sha256",
        algorithms.RSA_V1_5_SHA256,
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ),
    (
        "rsa-pss-sha512",
        algorithms.RSA_PSS_SHA512,
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ),
    (
        "ecdsa-p256-sha256",
        algorithms.ECDSA_P256_SHA256,
        lambda: ec.generate_private_key(ec.SECP256R1()),
    ),
    ("ed25519", algorithms.ED25519, ed25519.Ed25519PrivateKey.generate),
    ("hmac-sha256", algorithms.HMAC_SHA256, lambda: b"shared secret of thirty-two bytes"),
]

COMPONENTS = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@path",
    "@query",
    "@request-target",
    '"@query-param";name="x"',
    "content-type",
    "content-digest",
]


def _keys(make: Any) -> tuple[Any, Any, Any, Any]:
    """(their private, their public, our private, our public) for one key."""
    key = make()
    if isinstance(key, bytes):
        return key, key, key, key
    return (
        key,
        key.public_key(),
        sig.PrivateKey.from_pem(private_pem(key)),
        sig.PublicKey.from_pem(public_pem(key)),
    )


def _request() -> Request:
    return Request(
        "POST",
        INBOX,
        Headers(
            {
                "Host": "remote.example",
                "Content-Type": "application/activity+json",
                "Content-Digest": sig.content_digest_header(BODY),
            }
        ),
    )


@pytest.mark.parametrize(("alg", "their_alg", "make"), ALGS, ids=[a[0] for a in ALGS])
def test_their_rfc9421_signatures_verify_with_ours(alg: str, their_alg: Any, make: Any) -> None:
    their_priv, _their_pub, _ours_priv, ours_pub = _keys(make)
    request = _request()
    signer = HTTPMessageSigner(
        signature_algorithm=their_alg,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: their_priv}),
    )
    created = datetime.datetime.fromtimestamp(NOW, datetime.UTC)
    signer.sign(
        request,
        key_id=KEY_ID,
        created=created,
        covered_component_ids=COMPONENTS,
        label="sig1",
        use_existing_digest=True,
    )
    info = sig.verify_message(
        key=ours_pub,
        method=request.method,
        url=request.url,
        headers=request.headers,
        now=NOW,
        body=BODY,
    )
    assert info.algorithm == alg
    assert info.key_id == KEY_ID
    if alg == "rsa-v1_5-sha256":
        # What a Mastodon 4.7 peer sends passes the full request check.
        signer.sign(
            request,
            key_id=KEY_ID,
            created=created,
            covered_component_ids=["@method", "@target-uri", "content-digest"],
            include_alg=False,
            label="sig1",
            use_existing_digest=True,
        )
        sig.verify_request("POST", INBOX, request.headers, BODY, public_key=ours_pub, now=NOW)


@pytest.mark.parametrize(("alg", "their_alg", "make"), ALGS, ids=[a[0] for a in ALGS])
def test_our_rfc9421_signatures_verify_with_theirs(alg: str, their_alg: Any, make: Any) -> None:
    _their_priv, their_pub, ours_priv, _ours_pub = _keys(make)
    request = _request()
    request.headers.update(
        sig.sign_message(
            COMPONENTS,
            key=ours_priv,
            method=request.method,
            url=request.url,
            headers=request.headers,
            created=NOW,
            keyid=KEY_ID,
            alg=alg,
        )
    )
    verifier = HTTPMessageVerifier(
        signature_algorithm=their_alg,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: their_pub}, private_keys={}),
    )
    results = verifier.verify(request, max_age=None, body=BODY)
    assert len(results) == 1
    assert results[0].parameters["keyid"] == KEY_ID


def test_our_mastodon_style_rfc9421_requests_verify_with_theirs(
    crypto_rsa: rsa.RSAPrivateKey,
) -> None:
    for method, body in (("POST", BODY), ("GET", None)):
        headers = Headers({"Host": "remote.example"})
        headers.update(
            sig.sign_request(
                method,
                INBOX,
                headers,
                body,
                key_id=KEY_ID,
                private_key=private_pem(crypto_rsa),
                scheme="rfc9421",
            )
        )
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.RSA_V1_5_SHA256,
            key_resolver=MappingKeyResolver(
                public_keys={KEY_ID: crypto_rsa.public_key()}, private_keys={}
            ),
        )
        required = ["@method", "@target-uri"] + (["content-digest"] if body else [])
        verifier.verify(Request(method, INBOX, headers), require_components=required, body=body)


def test_responses_with_request_components_both_ways() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    ours_priv = sig.PrivateKey.from_pem(private_pem(key))
    ours_pub = sig.PublicKey.from_pem(public_pem(key))
    request = _request()
    components = [
        '"@status"',
        '"content-type"',
        '"@method";req',
        '"@authority";req',
        '"content-digest";req',
    ]
    # Ours signs, theirs verifies.
    response = Response(200, Headers({"Content-Type": "application/json"}), request)
    response.headers.update(
        sig.sign_message(
            components,
            key=ours_priv,
            status=200,
            headers=response.headers,
            request=sig.RequestContext(request.method, request.url, request.headers),
            created=NOW,
            keyid=KEY_ID,
        )
    )
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: key.public_key()}, private_keys={}),
    )
    verifier.verify(response, max_age=None)
    # Theirs signs, ours verifies.
    response = Response(200, Headers({"Content-Type": "application/json"}), request)
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key}),
    ).sign(
        response,
        key_id=KEY_ID,
        created=datetime.datetime.fromtimestamp(NOW, datetime.UTC),
        covered_component_ids=components,
    )
    info = sig.verify_message(
        key=ours_pub,
        status=200,
        headers=response.headers,
        request=sig.RequestContext(request.method, request.url, request.headers),
        now=NOW,
    )
    assert info.label == "pyhms"
