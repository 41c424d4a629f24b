"""Trusted identity JWTs: signature, claims, algorithms, key sets from a file or over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.certs import client_context, self_signed, server_context
from tests.conftest import free_port, loopback_outbound, make_config
from wildebeest_trio.config import ConfigError
from wildebeest_trio.services.access_jwt import (
    AccessDenied,
    AccessIdentity,
    AccessVerifier,
    parse_jwks,
)

ISSUER = "https://team.cloudflareaccess.com"
AUDIENCE = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"


class Signer:
    """A private key with its key id, making tokens and its public JWK."""

    def __init__(self, kid: str, kind: str = "rsa") -> None:
        self.kid = kid
        if kind == "rsa":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk.update({"kid": kid, "use": "sig", "alg": self.alg})

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        return jwt.encode(
            claims(**overrides),
            self.private,
            algorithm=self.alg,
            headers={"kid": self.kid, **(headers or {})},
        )


def claims(**overrides: Any) -> dict[str, Any]:
    """Claims as Cloudflare Access puts them in an application token."""
    now = int(time.time())
    values: dict[str, Any] = {
        "aud": [AUDIENCE],
        "email": "Alice@Example.org",
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "type": "app",
        "identity_nonce": "6ei69kawdKzMIAPF",
        "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
        "country": "NL",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    """A token built without PyJWT, for what PyJWT refuses to make."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64(signature)}"


def jwks(*signers: Signer) -> dict[str, Any]:
    return {"keys": [s.jwk for s in signers]}


@pytest.fixture(scope="module")
def key1() -> Signer:
    return Signer("key-1")


@pytest.fixture(scope="module")
def key2() -> Signer:
    return Signer("key-2")


@pytest.fixture(scope="module")
def ec_key() -> Signer:
    return Signer("ec-1", "ec")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JwksServer:
    """A JWKS over plain HTTP on 127.0.0.1, in a thread; counts the requests."""

    def __init__(self, certificate: tuple[Path, Path] | None = None) -> None:
        self.body = b'{"keys": []}'
        self.status = 200
        self.requests = 0
        self.hosts: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                outer.hosts.append(self.headers.get("Host"))
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{port}/cdn-cgi/access/certs"
        if certificate is not None:
            context = server_context(certificate)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.url = f"https://localhost:{port}/cdn-cgi/access/certs"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, document: dict[str, Any]) -> None:
        self.body = json.dumps(document).encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[JwksServer]:
    s = JwksServer()
    yield s
    s.close()


def http_verifier(server: JwksServer, clock: FakeClock | None = None, **kw: Any) -> AccessVerifier:
    return AccessVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=server.url,
        outbound=loopback_outbound(),
        clock=clock or FakeClock(),
        **kw,
    )


@pytest.fixture
def verifier(tmp_path: Path, key1: Signer, ec_key: Signer) -> AccessVerifier:
    """Keys from a file: an RSA and an EC key."""
    path = tmp_path / "certs.json"
    path.write_text(json.dumps(jwks(key1, ec_key)))
    return AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=str(path), clock=FakeClock())


async def denied(verifier: AccessVerifier, token: str, reason: str) -> None:
    with pytest.raises(AccessDenied) as caught:
        await verifier.verify(token)
    assert reason in caught.value.reason, caught.value.reason


# Valid tokens


async def test_valid_token_gives_the_identity(verifier: AccessVerifier, key1: Signer) -> None:
    identity = await verifier.verify(key1.token())
    assert isinstance(identity, AccessIdentity)
    assert identity.email == "alice@example.org"
    assert identity.subject == "7335d417-61da-459d-899c-0a01c76a2f94"
    assert identity.claims["country"] == "NL"
    assert verifier.header == "Cf-Access-Jwt-Assertion"


async def test_es256_and_a_plain_string_audience(verifier: AccessVerifier, ec_key: Signer) -> None:
    identity = await verifier.verify(ec_key.token(aud=AUDIENCE))
    assert identity.email == "alice@example.org"


async def test_small_clock_skew_is_tolerated(verifier: AccessVerifier, key1: Signer) -> None:
    now = int(time.time())
    await verifier.verify(key1.token(exp=now - 10, nbf=now + 10, iat=now + 10))


# Claims


async def test_wrong_audience(verifier: AccessVerifier, key1: Signer) -> None:
    await denied(verifier, key1.token(aud=["another-application"]), "wrong audience")


async def test_wrong_issuer(verifier: AccessVerifier, key1: Signer) -> None:
    await denied(verifier, key1.token(iss="https://evil.cloudflareaccess.com"), "wrong issuer")


async def test_expired(verifier: AccessVerifier, key1: Signer) -> None:
    now = int(time.time())
    await denied(verifier, key1.token(iat=now - 7200, exp=now - 120), "expired")


async def test_not_yet_valid(verifier: AccessVerifier, key1: Signer) -> None:
    await denied(verifier, key1.token(nbf=int(time.time()) + 600), "not valid yet")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud"])
async def test_required_claims(verifier: AccessVerifier, key1: Signer, claim: str) -> None:
    await denied(verifier, key1.token(**{claim: None}), claim)


@pytest.mark.parametrize("email", [None, "", "not-an-address", 42])
async def test_a_person_is_needed(verifier: AccessVerifier, key1: Signer, email: Any) -> None:
    """Service tokens carry `common_name` and no e-mail: they cannot log anyone in."""
    token = key1.token(email=email, common_name="abc.access")
    await denied(verifier, token, "no e-mail")


# Signatures and algorithms


async def test_forged_signature(verifier: AccessVerifier, key1: Signer) -> None:
    impostor = Signer("key-1")  # same key id, other key
    await denied(verifier, impostor.token(), "bad signature")


async def test_tampered_payload(verifier: AccessVerifier, key1: Signer) -> None:
    header, _, signature = key1.token().split(".")
    payload = b64(json.dumps(claims(email="mallory@example.org")).encode())
    await denied(verifier, f"{header}.{payload}.{signature}", "bad signature")


async def test_alg_none(verifier: AccessVerifier, key1: Signer) -> None:
    for alg in ("none", "None", "NONE"):
        token = hand_made({"alg": alg, "typ": "JWT", "kid": key1.kid}, claims())
        await denied(verifier, token, "is not accepted")


async def test_hs256_keyed_with_the_public_key(verifier: AccessVerifier, key1: Signer) -> None:
    """The classic confusion: an HMAC 'signed' with the published RSA key as its secret."""
    secrets_to_try = [key1.public_pem(), json.dumps(key1.jwk).encode()]
    for secret in secrets_to_try:
        token = hand_made(
            {"alg": "HS256", "typ": "JWT", "kid": key1.kid},
            claims(),
            lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest(),
        )
        await denied(verifier, token, "is not accepted")


async def test_other_algorithms_are_refused(verifier: AccessVerifier, key1: Signer) -> None:
    token = jwt.encode(claims(), key1.private, algorithm="PS256", headers={"kid": key1.kid})
    await denied(verifier, token, "is not accepted")


async def test_algorithm_must_match_the_key(
    verifier: AccessVerifier, key1: Signer, ec_key: Signer
) -> None:
    """An ES256 token naming the RSA key's id does not get checked against that key."""
    token = jwt.encode(claims(), ec_key.private, algorithm="ES256", headers={"kid": key1.kid})
    await denied(verifier, token, "no ES256 key with id 'key-1'")


@pytest.mark.parametrize("token", ["", "   ", "abc", "a.b.c", "x" * 20000, "e30.e30.", None])
async def test_malformed(verifier: AccessVerifier, token: Any) -> None:
    with pytest.raises(AccessDenied):
        await verifier.verify(token)


# Key sets


def test_parse_jwks_keeps_only_strong_signature_keys(key1: Signer, ec_key: Signer) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(weak.public_key()))
    p384 = ec.generate_private_key(ec.SECP384R1())
    p384_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(p384.public_key()))
    document = {
        "keys": [
            key1.jwk,
            ec_key.jwk,
            {"kty": "oct", "kid": "shared", "k": b64(b"secret" * 8)},
            {**weak_jwk, "kid": "weak"},
            {**p384_jwk, "kid": "p384"},
            {**key1.jwk, "kid": "enc", "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "!", "e": "AQAB"},
            "not a key",
        ],
        "public_cert": {"kid": "x", "cert": "..."},
    }
    keys = parse_jwks(json.dumps(document).encode())
    assert sorted(k for k in keys if k) == ["ec-1", "key-1"]
    for bad in (
        b"not json",
        b"[]",
        b'{"keys": {}}',
        json.dumps({"keys": [document["keys"][2]]}).encode(),
    ):
        with pytest.raises(AccessDenied):
            parse_jwks(bad)


async def test_key_without_id_only_when_the_set_has_one_key(
    tmp_path: Path, key1: Signer, key2: Signer
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"keys": [{k: v for k, v in key1.jwk.items() if k != "kid"}]}))
    verifier = AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=str(path))
    no_kid = jwt.encode(claims(), key1.private, algorithm="RS256")
    assert (await verifier.verify(no_kid)).email == "alice@example.org"

    path2 = tmp_path / "two.json"
    path2.write_text(json.dumps(jwks(key1, key2)))
    two = AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=str(path2))
    await denied(two, no_kid, "no RS256 key with id None")


async def test_key_set_over_http(server: JwksServer, key1: Signer) -> None:
    server.serve(jwks(key1))
    verifier = http_verifier(server)
    for _ in range(5):
        assert (await verifier.verify(key1.token())).email == "alice@example.org"
    # Cached: one request for five tokens, sent with the URL's own host name.
    assert server.requests == 1
    assert server.hosts == [server.url.split("/")[2]]


async def test_key_rotation_over_http(server: JwksServer, key1: Signer, key2: Signer) -> None:
    clock = FakeClock()
    server.serve(jwks(key1))
    verifier = http_verifier(server, clock, refetch_interval=60)
    await verifier.verify(key1.token())
    assert server.requests == 1

    # The provider rotates: key-2 appears. A token signed by it makes one refetch.
    server.serve(jwks(key1, key2))
    clock.now += 61
    assert (await verifier.verify(key2.token())).email == "alice@example.org"
    assert server.requests == 2
    await verifier.verify(key1.token())
    await verifier.verify(key2.token())
    assert server.requests == 2


async def test_unknown_key_is_denied_without_amplification(
    server: JwksServer, key1: Signer
) -> None:
    clock = FakeClock()
    server.serve(jwks(key1))
    verifier = http_verifier(server, clock, refetch_interval=60)
    stranger = Signer("key-9")
    await denied(verifier, stranger.token(), "no RS256 key with id 'key-9'")
    assert server.requests == 1  # the first load; the refetch right after is rate-limited

    clock.now += 61
    # Many forged tokens at once, after the interval: a single refetch between them.
    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(denied, verifier, stranger.token(), "no RS256 key")
    assert server.requests == 2
    for _ in range(20):
        await denied(verifier, stranger.token(), "no RS256 key")
    assert server.requests == 2
    # Genuine tokens keep working throughout.
    await verifier.verify(key1.token())


async def test_key_rotation_in_a_file(tmp_path: Path, key1: Signer, key2: Signer) -> None:
    clock = FakeClock()
    path = tmp_path / "certs.json"
    path.write_text(json.dumps(jwks(key1)))
    verifier = AccessVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=str(path), clock=clock, refetch_interval=30
    )
    await verifier.verify(key1.token())
    path.write_text(json.dumps(jwks(key2)))
    await denied(verifier, key2.token(), "no RS256 key")  # too soon after the load
    clock.now += 31
    await verifier.verify(key2.token())
    assert verifier.fetches == 2


async def test_removed_keys_stop_working_after_max_age(
    server: JwksServer, key1: Signer, key2: Signer
) -> None:
    clock = FakeClock()
    server.serve(jwks(key1, key2))
    verifier = http_verifier(server, clock, max_age=3600)
    await verifier.verify(key1.token())
    server.serve(jwks(key2))  # key-1 revoked
    clock.now += 3601
    await denied(verifier, key1.token(), "no RS256 key with id 'key-1'")
    await verifier.verify(key2.token())


async def test_stale_keys_serve_through_an_outage(server: JwksServer, key1: Signer) -> None:
    clock = FakeClock()
    server.serve(jwks(key1))
    verifier = http_verifier(server, clock, max_age=3600)
    await verifier.verify(key1.token())
    server.status = 503
    clock.now += 3601
    await verifier.verify(key1.token())
    assert server.requests == 2


async def test_unavailable_key_set(server: JwksServer, key1: Signer, tmp_path: Path) -> None:
    server.status = 500
    await denied(http_verifier(server), key1.token(), "key set URL answered 500")
    server.status = 200
    server.body = b"{" + b" " * (300 * 1024) + b"}"
    await denied(http_verifier(server), key1.token(), "key set too large")
    missing = AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=str(tmp_path / "nope"))
    await denied(missing, key1.token(), "cannot read key set file")


async def test_private_addresses_are_refused_unless_allowed(
    server: JwksServer, key1: Signer
) -> None:
    server.serve(jwks(key1))
    strict = loopback_outbound(allow_private=False)
    https_url = server.url.replace("http://", "https://")
    for url in (https_url, "https://localhost:9/certs", "https://[::1]:9/certs"):
        verifier = AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=url, outbound=strict)
        await denied(verifier, key1.token(), "private or loopback address")
    assert server.requests == 0
    # Clear-text key sets only where private addresses are allowed (tests).
    with pytest.raises(ValueError, match="https"):
        AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=server.url, outbound=strict)
    with pytest.raises(ValueError):
        AccessVerifier(issuer=ISSUER, audience=AUDIENCE, jwks="ftp://example.org/certs")


async def test_key_set_over_https_by_name(tmp_path: Path, key1: Signer) -> None:
    """Connected to the checked address, with the URL's name for SNI, certificate and Host."""
    certificate = self_signed(tmp_path)
    server = JwksServer(certificate)
    try:
        server.serve(jwks(key1))
        verifier = AccessVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=server.url,
            outbound=loopback_outbound(),
            ssl_context=client_context(certificate),
        )
        assert (await verifier.verify(key1.token())).email == "alice@example.org"
        assert server.hosts == [server.url.split("/")[2]]
        assert server.hosts[0].startswith("localhost:")
        # The system's trust store does not know the test certificate.
        untrusting = AccessVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks=server.url, outbound=loopback_outbound()
        )
        await denied(untrusting, key1.token(), "CERTIFICATE_VERIFY_FAILED")
    finally:
        server.close()


async def test_unreachable_key_set_url(key1: Signer) -> None:
    url = f"http://127.0.0.1:{free_port()}/certs"
    verifier = AccessVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=url, outbound=loopback_outbound()
    )
    with trio.fail_after(15):
        await denied(verifier, key1.token(), "cannot fetch key set")


# Configuration


def test_from_config(tmp_path: Path) -> None:
    db = "sqlite:///:memory:"
    outbound = loopback_outbound()
    assert AccessVerifier.from_config(make_config(tmp_path, db), outbound) is None
    config = make_config(
        tmp_path, db, access_team_domain="team.cloudflareaccess.com", access_audience=AUDIENCE
    )
    verifier = AccessVerifier.from_config(config, outbound)
    assert verifier is not None
    assert verifier.issuer == ISSUER
    assert verifier.audience == AUDIENCE
    assert verifier.jwks == f"{ISSUER}/cdn-cgi/access/certs"
    assert verifier.header == "Cf-Access-Jwt-Assertion"
    with pytest.raises(ConfigError, match="WB_ACCESS_AUDIENCE"):
        make_config(tmp_path, db, access_team_domain=ISSUER)
    with pytest.raises(ConfigError, match="WB_ACCESS_JWKS"):
        AccessVerifier.from_config(
            make_config(
                tmp_path,
                db,
                access_team_domain=ISSUER,
                access_audience="a",
                access_jwks="http://keys.example/certs",
            ),
            loopback_outbound(allow_private=False),
        )
    custom = make_config(
        tmp_path,
        db,
        access_team_domain="https://login.example/",
        access_audience="a",
        access_jwks=str(tmp_path / "keys.json"),
        access_header="X-Identity",
    )
    verifier = AccessVerifier.from_config(custom, outbound)
    assert verifier is not None
    assert (verifier.issuer, verifier.header) == ("https://login.example", "X-Identity")
