"""The Python face of the signer: keys, signing, verification rules, batches, digests."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from wildebeest_trio import signatures as sig

NOW = 1_703_066_400.0  # 2023-12-20T10:00:00Z
INBOX = "https://remote.example/users/alice/inbox"
KEY_ID = "https://local.example/users/bob#main-key"
BODY = b'{"type":"Create","actor":"https://local.example/users/bob"}'


@pytest.fixture(scope="module")
def rsa_pems() -> tuple[str, str]:
    return sig.generate_rsa_keypair()


@pytest.fixture(scope="module")
def rsa_keys(rsa_pems: tuple[str, str]) -> tuple[Any, Any]:
    return sig.PrivateKey.from_pem(rsa_pems[0]), sig.PublicKey.from_pem(rsa_pems[1])


@pytest.fixture(scope="module")
def ed_keys() -> tuple[Any, Any]:
    priv, pub = sig.generate_ed25519_keypair()
    return sig.PrivateKey.from_pem(priv), sig.PublicKey.from_pem(pub)


def signed_post(priv: Any, scheme: str = "cavage", **extra: Any) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json"} | extra.pop("headers", {})
    added = sig.sign_request(
        "POST",
        INBOX,
        headers,
        BODY,
        key_id=KEY_ID,
        private_key=priv,
        scheme=scheme,
        now=NOW,
        **extra,
    )
    return headers | added


def signed_get(priv: Any, scheme: str = "cavage", url: str = INBOX) -> dict[str, str]:
    headers = {"Accept": "application/activity+json"}
    added = sig.sign_request(
        "GET", url, headers, None, key_id=KEY_ID, private_key=priv, scheme=scheme, now=NOW
    )
    return headers | added


# --- keys ------------------------------------------------------------------------


def test_generated_keys(rsa_pems: tuple[str, str]) -> None:
    priv_pem, pub_pem = rsa_pems
    assert priv_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert pub_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    priv = sig.PrivateKey.from_pem(priv_pem)
    assert (priv.kind, priv.bits) == ("rsa", 2048)
    assert priv.public_key() == sig.PublicKey.from_pem(pub_pem)
    assert sig.PublicKey.from_pem(priv.public_key().to_pem()) == priv.public_key()
    assert sig.generate_rsa_keypair(3072)[0] != priv_pem
    with pytest.raises(sig.InvalidKey):
        sig.generate_rsa_keypair(1000)


def test_key_formats_read_by_cryptography_and_back() -> None:
    """PKCS#1, PKCS#8, SPKI and SEC1 PEMs written by `cryptography` are all read."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key()
    message = b"a message"
    for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8):
        pem = key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()
        ).decode()
        ours = sig.PrivateKey.from_pem(pem)
        assert ours.bits == 2048
        signature = ours.sign(message)
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        pub.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    for fmt in (serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1):
        pem = pub.public_bytes(serialization.Encoding.PEM, fmt).decode()
        assert sig.PublicKey.from_pem(pem).verify(message, key_sign(key, message))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for fmt in (serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8):
        pem = ec_key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()
        ).decode()
        assert sig.PrivateKey.from_pem(pem).kind == "ecdsa-p256"


def key_sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p.replace("\n", " "),
        lambda p: p.replace("\n", "\\n"),
        lambda p: p.replace("\n", "\r\n"),
        lambda p: "  " + p.replace("\n", "\n    ") + "  ",
    ],
    ids=["spaces", "escaped", "crlf", "indented"],
)
def test_real_world_mangled_pems(rsa_pems: tuple[str, str], mangle: Any) -> None:
    priv, pub = rsa_pems
    assert sig.PublicKey.from_pem(mangle(pub)) == sig.PublicKey.from_pem(pub)
    assert sig.PrivateKey.from_pem(mangle(priv)).public_key() == sig.PublicKey.from_pem(pub)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
    ],
)
def test_bad_pems_raise_invalid_key(pem: str) -> None:
    with pytest.raises(sig.InvalidKey):
        sig.PublicKey.from_pem(pem)
    with pytest.raises(sig.InvalidKey):
        sig.PrivateKey.from_pem(pem)
    assert issubclass(sig.InvalidKey, sig.SignatureError)


def test_small_rsa_keys_verify_but_do_not_sign() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(sig.InvalidKey, match="cannot sign"):
        sig.PrivateKey.from_pem(pem)
    pub = sig.PublicKey.from_pem(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert pub.bits == 1024
    assert pub.verify(b"x", key_sign(key, b"x"))


# --- cavage ---------------------------------------------------------------------


def test_cavage_post_adds_what_mastodon_sends(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = signed_post(priv)
    assert headers["Host"] == "remote.example"
    assert headers["Date"] == "Wed, 20 Dec 2023 10:00:00 GMT"
    assert headers["Digest"] == sig.digest_header(BODY)
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]
    info = sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
    assert info == sig.SignatureInfo(
        key_id=KEY_ID,
        scheme="cavage",
        algorithm="rsa-sha256",
        components=["(request-target)", "host", "date", "digest", "content-type"],
        created=NOW,
        expires=None,
        label=None,
    )
    assert sig.parse_signature("POST", INBOX, headers) == info


def test_cavage_get_signs_accept(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = signed_get(priv)
    assert "Digest" not in headers
    info = sig.verify_request("GET", INBOX, headers, None, public_key=pub, now=NOW)
    assert info.components == ["(request-target)", "host", "date", "accept"]


def test_existing_headers_are_kept_and_a_wrong_digest_is_refused(rsa_keys: tuple[Any, Any]) -> None:
    priv = rsa_keys[0]
    headers = {
        "Host": "remote.example",
        "Date": "Wed, 20 Dec 2023 09:59:00 GMT",
        "Digest": sig.digest_header(BODY),
    }
    added = sig.sign_request("POST", INBOX, headers, BODY, key_id=KEY_ID, private_key=priv)
    assert list(added) == ["Signature"]
    with pytest.raises(sig.DigestMismatch):
        sig.sign_request("POST", INBOX, headers, b"other", key_id=KEY_ID, private_key=priv, now=NOW)


def test_pem_strings_work_everywhere(rsa_pems: tuple[str, str]) -> None:
    priv_pem, pub_pem = rsa_pems
    headers = signed_post(priv_pem)
    sig.verify_request("POST", INBOX, headers, BODY, public_key=pub_pem, now=NOW)
    # A private key handle stands for its public half too.
    sig.verify_request(
        "POST", INBOX, headers, BODY, public_key=sig.PrivateKey.from_pem(priv_pem), now=NOW
    )


def test_header_names_are_case_insensitive(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = {k.lower(): v for k, v in signed_post(priv).items()}
    sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
    headers = {k.upper(): v for k, v in signed_post(priv).items()}
    sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)


def test_repeated_headers_are_joined(rsa_keys: tuple[Any, Any]) -> None:
    """Both specs join repeated fields with ", " in order."""
    priv, pub = rsa_keys
    pairs = [("Accept", "application/activity+json"), ("Accept", "application/ld+json")]
    added = sig.sign_request("GET", INBOX, pairs, None, key_id=KEY_ID, private_key=priv, now=NOW)
    joined = {"Accept": "application/activity+json, application/ld+json"} | added
    sig.verify_request("GET", INBOX, joined, None, public_key=pub, now=NOW)
    sig.verify_request("GET", INBOX, [*pairs, *added.items()], None, public_key=pub, now=NOW)
    swapped = [pairs[1], pairs[0], *added.items()]
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_request("GET", INBOX, swapped, None, public_key=pub, now=NOW)


def test_path_only_url_takes_host_header(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = signed_post(priv)
    sig.verify_request("POST", "/users/alice/inbox", headers, BODY, public_key=pub, now=NOW)


def test_ed25519_keys(ed_keys: tuple[Any, Any]) -> None:
    priv, pub = ed_keys
    for scheme in ("cavage", "rfc9421"):
        headers = signed_post(priv, scheme)
        info = sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
        assert info.algorithm == ("hs2019" if scheme == "cavage" else "ed25519")


def test_mastodon_time_window(rsa_keys: tuple[Any, Any]) -> None:
    """Date within the last 65 minutes and at most an hour ahead."""
    priv, pub = rsa_keys
    headers = signed_post(priv)
    verify = sig.verify_request
    verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW + 64 * 60)
    verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW - 59 * 60)
    with pytest.raises(sig.SignatureExpired):
        verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW + 66 * 60)
    with pytest.raises(sig.SignatureExpired):
        verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW - 61 * 60)
    # The window is configurable.
    verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW + 86400, max_age=90000)
    with pytest.raises(sig.SignatureExpired):
        verify("POST", INBOX, headers, BODY, public_key=pub, now=NOW + 120, max_age=60)


def test_verify_uses_the_clock_by_default(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    added = sig.sign_request("GET", INBOX, {}, None, key_id=KEY_ID, private_key=priv)
    info = sig.verify_request("GET", INBOX, added, None, public_key=pub)
    assert info.created is not None and abs(info.created - time.time()) < 5
    with pytest.raises(sig.SignatureExpired):
        sig.verify_request("GET", INBOX, signed_get(priv), None, public_key=pub)


def test_mastodon_policy_versus_spec(rsa_keys: tuple[Any, Any]) -> None:
    """A GET without host, or a POST without digest, passes the spec but not Mastodon."""
    priv, pub = rsa_keys
    date = "Wed, 20 Dec 2023 10:00:00 GMT"
    text = f"(request-target): get /users/alice/inbox\ndate: {date}"
    signature = base64.b64encode(priv.sign(text.encode())).decode()
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Signature": f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
        f'headers="(request-target) date",signature="{signature}"',
    }
    sig.verify_request("GET", INBOX, headers, None, public_key=pub, now=NOW, policy="spec")
    with pytest.raises(sig.RequiredComponentMissing, match="Host"):
        sig.verify_request("GET", INBOX, headers, None, public_key=pub, now=NOW)
    with pytest.raises(sig.RequiredComponentMissing, match="Digest"):
        sig.verify_request("POST", INBOX, headers, None, public_key=pub, now=NOW)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"Signature": None}, sig.MissingSignature),
        ({"Signature": "garbage"}, sig.MalformedSignature),
        ({"Signature": 'keyId="a",signature="!!notbase64"'}, sig.MalformedSignature),
        ({"Signature": 'keyId="a",keyId="b",signature="YQ=="'}, sig.MalformedSignature),
        (
            {"Signature": 'keyId="a",algorithm="rsa-sha512",signature="YQ=="'},
            sig.UnsupportedAlgorithm,
        ),
        ({"Digest": "SHA-256=" + base64.b64encode(bytes(32)).decode()}, sig.DigestMismatch),
        ({"Digest": "MD5=abc"}, sig.DigestMismatch),
        ({"Digest": None}, sig.DigestMismatch),
        ({"Date": "Wed, 20 Dec 2023 08:00:00 GMT"}, sig.SignatureExpired),
        ({"Date": "yesterday"}, sig.MalformedSignature),
        ({"Content-Type": "text/plain"}, sig.SignatureInvalid),
        ({"Host": "evil.example"}, sig.SignatureInvalid),
    ],
)
def test_typed_errors(
    rsa_keys: tuple[Any, Any], change: dict[str, str | None], error: type
) -> None:
    priv, pub = rsa_keys
    headers = signed_post(priv)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(error) as caught:
        sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
    assert isinstance(caught.value, sig.SignatureError)
    assert str(caught.value)


def test_wrong_key_and_wrong_key_type(rsa_keys: tuple[Any, Any], ed_keys: tuple[Any, Any]) -> None:
    priv, _ = rsa_keys
    other = sig.PublicKey.from_pem(sig.generate_rsa_keypair()[1])
    headers = signed_post(priv)
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_request("POST", INBOX, headers, BODY, public_key=other, now=NOW)
    with pytest.raises(sig.UnsupportedAlgorithm):
        sig.verify_request("POST", INBOX, headers, BODY, public_key=ed_keys[1], now=NOW)


def test_bad_arguments_raise_value_error(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    with pytest.raises(ValueError):
        sig.sign_request("GET", INBOX, {}, None, key_id=KEY_ID, private_key=priv, scheme="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sig.verify_request("GET", INBOX, {}, None, public_key=pub, policy="lax")  # type: ignore[arg-type]
    with pytest.raises(sig.MalformedSignature):
        sig.sign_request("GET", "no url", {}, None, key_id=KEY_ID, private_key=priv)
    with pytest.raises(TypeError):
        sig.sign_request("GET", INBOX, {}, None, key_id=KEY_ID, private_key=42)


# --- RFC 9421 ---------------------------------------------------------------------


def test_rfc9421_requests_as_mastodon_sends_them(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = signed_post(priv, "rfc9421")
    assert headers["Content-Digest"] == sig.content_digest_header(BODY)
    assert headers["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW)};keyid="{KEY_ID}"'
    )
    info = sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
    assert (info.scheme, info.label, info.algorithm) == ("rfc9421", "sig1", "rsa-v1_5-sha256")
    assert info.components == ["@method", "@target-uri", "content-digest"]
    headers = signed_get(priv, "rfc9421", INBOX + "?page=2")
    info = sig.verify_request("GET", INBOX + "?page=2", headers, None, public_key=pub, now=NOW)
    assert info.components == ["@method", "@target-uri"]
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_request("GET", INBOX + "?page=3", headers, None, public_key=pub, now=NOW)


def test_rfc9421_mastodon_rules(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    base = {"Host": "remote.example", "Content-Digest": sig.content_digest_header(BODY)}

    def message(components: list[str], **params: Any) -> dict[str, str]:
        return base | sig.sign_message(
            components, key=priv, method="POST", url=INBOX, headers=base, **params
        )

    full = ["@method", "@target-uri", "content-digest"]
    ok = message(full, created=int(NOW), keyid=KEY_ID)
    sig.verify_request("POST", INBOX, ok, BODY, public_key=pub, now=NOW)
    for headers, error in [
        (message(full, keyid=KEY_ID), sig.RequiredComponentMissing),
        (message(full, created=int(NOW)), sig.RequiredComponentMissing),
        (
            message(["@method", "content-digest"], created=int(NOW), keyid=KEY_ID),
            sig.RequiredComponentMissing,
        ),
        (
            message(["@method", "@target-uri"], created=int(NOW), keyid=KEY_ID),
            sig.RequiredComponentMissing,
        ),
        (
            _relabel_alg(message(full, created=int(NOW), keyid=KEY_ID, alg="rsa-v1_5-sha256")),
            sig.UnsupportedAlgorithm,
        ),
        (message(full, created=int(NOW) - 4000, keyid=KEY_ID), sig.SignatureExpired),
    ]:
        with pytest.raises(error):
            sig.verify_request("POST", INBOX, headers, BODY, public_key=pub, now=NOW)
    # Two signatures: Mastodon wants exactly one; the spec policy takes the first.
    second = sig.sign_message(
        full,
        key=priv,
        method="POST",
        url=INBOX,
        headers=base,
        label="sig2",
        created=int(NOW),
        keyid=KEY_ID,
    )
    both = base | {
        "Signature-Input": ok["Signature-Input"] + ", " + second["Signature-Input"],
        "Signature": ok["Signature"] + ", " + second["Signature"],
    }
    with pytest.raises(sig.MalformedSignature):
        sig.verify_request("POST", INBOX, both, BODY, public_key=pub, now=NOW)
    assert (
        sig.verify_request("POST", INBOX, both, BODY, public_key=pub, now=NOW, policy="spec").label
        == "sig1"
    )
    assert (
        sig.verify_request("POST", INBOX, both, BODY, public_key=pub, now=NOW, label="sig2").label
        == "sig2"
    )


def _relabel_alg(headers: dict[str, str]) -> dict[str, str]:
    """Claim an algorithm that does not fit the RSA key."""
    value = headers["Signature-Input"].replace('alg="rsa-v1_5-sha256"', 'alg="ed25519"')
    return headers | {"Signature-Input": value}


def test_rfc9421_expires_capped_at_12_hours(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    headers = {"Host": "remote.example"}
    headers |= sig.sign_message(
        ["@method", "@target-uri"],
        key=priv,
        method="GET",
        url=INBOX,
        headers=headers,
        created=int(NOW),
        expires=int(NOW) + 86400,
        keyid=KEY_ID,
    )
    verify = sig.verify_request
    verify("GET", INBOX, headers, None, public_key=pub, now=NOW + 12 * 3600 + 3500)
    with pytest.raises(sig.SignatureExpired):
        verify("GET", INBOX, headers, None, public_key=pub, now=NOW + 13 * 3600 + 10)
    verify("GET", INBOX, headers, None, public_key=pub, now=NOW + 20 * 3600, policy="spec")


def test_rfc9421_responses_and_hmac() -> None:
    secret = b"a shared secret of some length"
    request = sig.RequestContext("POST", "https://example.com/foo?x=1", {"Host": "example.com"})
    response_headers = {"Content-Type": "application/json"}
    components = ["@status", "content-type", "@method;req", '"@query-param";name="x";req']
    added = sig.sign_message(
        components, key=secret, status=200, headers=response_headers, request=request, created=1
    )
    headers = response_headers | added
    info = sig.verify_message(key=secret, status=200, headers=headers, request=request, now=1)
    assert info.algorithm == "hmac-sha256"
    assert info.components == [
        "@status",
        "content-type",
        "@method;req",
        '@query-param;name="x";req',
    ]
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_message(key=b"other", status=200, headers=headers, request=request, now=1)
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_message(key=secret, status=201, headers=headers, request=request, now=1)
    with pytest.raises(sig.SignatureInvalid):
        sig.verify_message(key=secret, status=200, headers=headers, now=1)
    with pytest.raises(sig.RequiredComponentMissing):
        sig.verify_message(
            key=secret, status=200, headers=headers, request=request, now=1, required=["@path;req"]
        )


def test_rfc9421_base_rejects_bad_components() -> None:
    kwargs: dict[str, Any] = {
        "method": "GET",
        "url": "https://example.com/",
        "headers": {"X": "a\nb"},
    }
    for bad in ["@unknown", "Content-Type", '"x";nope', "@signature-params", "x", "@status"]:
        with pytest.raises(sig.SignatureError):
            sig.signature_base([bad], **kwargs)
    with pytest.raises(sig.MalformedSignature):
        sig.signature_base(["@method", "@method"], **kwargs)


# --- batches and async ---------------------------------------------------------------


def test_sign_many(rsa_keys: tuple[Any, Any], rsa_pems: tuple[str, str]) -> None:
    priv, pub = rsa_keys
    requests = [
        {
            "method": "POST",
            "url": f"https://host{i}.example/inbox",
            "headers": {"Content-Type": "application/activity+json"},
            "body": BODY + str(i).encode(),
            "key_id": KEY_ID,
            "private_key": priv if i % 2 else rsa_pems[0],
            "scheme": "rfc9421" if i % 3 == 0 else "cavage",
            "now": NOW,
        }
        for i in range(20)
    ]
    for threads in (None, 1, 2):
        results = sig.sign_many(requests, threads=threads)
        assert len(results) == 20
        for req, added in zip(requests, results, strict=True):
            headers = req["headers"] | added
            sig.verify_request("POST", req["url"], headers, req["body"], public_key=pub, now=NOW)
    assert sig.sign_many([]) == []
    with pytest.raises(sig.MalformedSignature):
        sig.sign_many([*requests, dict(requests[0], url="nope")])


async def test_async_variants_run_off_the_trio_thread(rsa_keys: tuple[Any, Any]) -> None:
    priv, pub = rsa_keys
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        requests = [
            {
                "method": "POST",
                "url": INBOX,
                "headers": {},
                "body": BODY,
                "key_id": KEY_ID,
                "private_key": priv,
                "now": NOW,
            }
            for _ in range(200)
        ]
        results = await sig.sign_many_async(requests)
        added = await sig.sign_request_async(
            "POST", INBOX, {}, BODY, key_id=KEY_ID, private_key=priv, now=NOW
        )
        info = await sig.verify_request_async("POST", INBOX, added, BODY, public_key=pub, now=NOW)
        nursery.cancel_scope.cancel()
    assert len(results) == 200
    assert info.key_id == KEY_ID
    # The loop kept running while the batch was signed in a thread.
    assert ticks > 10


# --- digests ---------------------------------------------------------------------------


def test_digest_helpers() -> None:
    assert (
        sig.digest_header(b"Hello world") == "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
    )
    both = sig.content_digest_header(b"x", ("sha-256", "sha-512"))
    assert both.startswith("sha-256=:") and ", sha-512=:" in both
    sig.verify_digest({"Content-Digest": both}, b"x")
    sig.verify_digest({"digest": "sha-256=" + sig.digest_header(b"x")[8:]}, b"x")
    with pytest.raises(sig.DigestMismatch):
        sig.verify_digest({"Digest": sig.digest_header(b"x")}, b"y")
    with pytest.raises(sig.DigestMismatch):
        sig.verify_digest({}, b"y")
    with pytest.raises(sig.MalformedDigest):
        sig.verify_digest({"Content-Digest": "sha-256=abc"}, b"x")
    with pytest.raises(sig.DigestMismatch):
        sig.verify_digest(
            {"Content-Digest": sig.content_digest_header(b"x", ["sha-512"])},
            b"x",
            policy="mastodon",
        )
    with pytest.raises(sig.UnsupportedAlgorithm):
        sig.content_digest_header(b"x", ["md5"])
    assert issubclass(sig.MalformedDigest, sig.MalformedSignature)


def test_authorization_header_form_under_the_spec_policy(rsa_keys: tuple[Any, Any]) -> None:
    """draft-cavage also allows `Authorization: Signature ...`; Mastodon reads only `Signature`."""
    priv, pub = rsa_keys
    headers = signed_get(priv)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    info = sig.verify_request("GET", INBOX, headers, None, public_key=pub, now=NOW, policy="spec")
    assert info.key_id == KEY_ID
    with pytest.raises(sig.MissingSignature):
        sig.verify_request("GET", INBOX, headers, None, public_key=pub, now=NOW)
