"""Property tests: tampering always fails, and no input crashes the signer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wildebeest_trio import signatures as sig

NOW = 1_703_066_400.0
URL = "https://remote.example/users/alice/inbox?page=1"
KEY_ID = "https://local.example/users/bob#main-key"
BODY = b'{"type":"Like","object":"https://remote.example/notes/1"}'

PRIVATE_PEM, PUBLIC_PEM = sig.generate_rsa_keypair()
PRIVATE = sig.PrivateKey.from_pem(PRIVATE_PEM)
PUBLIC = sig.PublicKey.from_pem(PUBLIC_PEM)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Header values as a server sees them: any byte decoded as Latin-1, or any
# text without lone surrogates (which no HTTP parser produces).
header_value = st.one_of(
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
)


def signed(method: str, scheme: str) -> dict[str, str]:
    body = BODY if method == "POST" else None
    headers = {"Content-Type": "application/activity+json", "Accept": "application/activity+json"}
    return headers | sig.sign_request(
        method, URL, headers, body, key_id=KEY_ID, private_key=PRIVATE, scheme=scheme, now=NOW
    )


def verify(method: str, url: str, headers: Any, body: bytes | None, now: float = NOW) -> Any:
    return sig.verify_request(method, url, headers, body, public_key=PUBLIC, now=now)


def covered_headers(scheme: str, method: str) -> list[str]:
    if scheme == "rfc9421":
        return ["Content-Digest"] if method == "POST" else []
    return ["Host", "Date"] + (["Digest", "Content-Type"] if method == "POST" else ["Accept"])


@SETTINGS
@given(
    scheme=st.sampled_from(["cavage", "rfc9421"]),
    method=st.sampled_from(["GET", "POST"]),
    data=st.data(),
)
def test_changing_any_covered_part_fails(scheme: str, method: str, data: st.DataObject) -> None:
    headers = signed(method, scheme)
    body = BODY if method == "POST" else None
    verify(method, URL, headers, body)
    # The body is covered (through its digest) only when there is one.
    parts = ["header", "method", "path", "query", "time"] + (["body"] if body else [])
    what = data.draw(st.sampled_from(parts), label="what")
    url, now, new_method = URL, NOW, method
    if what == "header":
        names = covered_headers(scheme, method)
        assume(names)
        name = data.draw(st.sampled_from(names), label="header")
        value = data.draw(header_value, label="value")
        assume(value.strip(" \t") != headers[name])
        headers = headers | {name: value}
    elif what == "method":
        new_method = data.draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "get", "HEAD"]))
        # cavage lowercases the method in (request-target); RFC 9421 keeps its case.
        assume(new_method.upper() != method if scheme == "cavage" else new_method != method)
    elif what == "path":
        segment = data.draw(st.from_regex(r"[a-z0-9%._~-]{1,10}", fullmatch=True))
        url = URL.replace("/inbox", f"/{segment}")
        assume(url != URL)
    elif what == "query":
        query = data.draw(st.from_regex(r"[a-z0-9=&%]{0,10}", fullmatch=True))
        url = URL.replace("?page=1", f"?{query}" if query else "")
        assume(url != URL)
    elif what == "body":
        new_body = data.draw(st.binary(max_size=100))
        assume(new_body != body)
        body = new_body
    else:
        # Beyond 65 minutes old, or more than an hour ahead.
        now = NOW + data.draw(
            st.one_of(st.floats(3900.5, 1e9), st.floats(-1e9, -3600.5)), label="shift"
        )
    with pytest.raises(sig.SignatureError):
        verify(new_method, url, headers, body, now=now)


@SETTINGS
@given(
    scheme=st.sampled_from(["cavage", "rfc9421"]),
    method=st.sampled_from(["GET", "POST"]),
    data=st.data(),
)
def test_changing_the_signature_fields_fails(scheme: str, method: str, data: st.DataObject) -> None:
    headers = signed(method, scheme)
    body = BODY if method == "POST" else None
    before = verify(method, URL, headers, body)
    name = data.draw(
        st.sampled_from(["Signature"] + (["Signature-Input"] if scheme == "rfc9421" else []))
    )
    original = headers[name]
    position = data.draw(st.integers(0, len(original) - 1))
    replacement = data.draw(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=3)
    )
    changed = original[:position] + replacement + original[position + len(replacement) :]
    assume(changed != original)
    headers = headers | {name: changed}
    try:
        after = verify(method, URL, headers, body)
    except sig.SignatureError:
        return
    # A change may verify only where nothing is signed: the cavage keyId (the
    # server looks the key up by it, so a changed keyId finds another key) or
    # what the parsers normalize away (optional whitespace).
    assert after.components == before.components
    assert after.created == before.created
    if scheme == "rfc9421":
        assert after.key_id == before.key_id


ATTACKED = [
    "Signature",
    "Signature-Input",
    "Date",
    "Digest",
    "Content-Digest",
    "Host",
    "Authorization",
    "Accept",
]


@SETTINGS
@given(
    scheme=st.sampled_from(["cavage", "rfc9421"]),
    method=st.sampled_from(["GET", "POST", "PATCH", ""]),
    replaced=st.dictionaries(st.sampled_from(ATTACKED), header_value, max_size=4),
    added=st.lists(
        st.tuples(st.text(st.characters(exclude_categories=("Cs",)), max_size=12), header_value),
        max_size=3,
    ),
    body=st.one_of(st.none(), st.binary(max_size=64)),
    policy=st.sampled_from(["mastodon", "spec"]),
)
def test_random_header_bytes_never_crash(
    scheme: str,
    method: str,
    replaced: dict[str, str],
    added: list[tuple[str, str]],
    body: bytes | None,
    policy: str,
) -> None:
    headers = list((signed("POST", scheme) | replaced).items()) + added
    for call in (
        lambda: sig.verify_request(
            method,
            URL,
            headers,
            body,
            public_key=PUBLIC,
            now=NOW,
            policy=policy,  # type: ignore[arg-type]
        ),
        lambda: sig.parse_signature(method, URL, headers),
        lambda: sig.verify_digest(headers, body or b""),
        lambda: sig.verify_message(key=PUBLIC, method=method, url=URL, headers=headers, now=NOW),
    ):
        try:
            call()
        except sig.SignatureError as e:
            assert str(e)


@SETTINGS
@given(
    method=header_value,
    url=st.one_of(st.just(URL), header_value),
    headers=st.lists(st.tuples(header_value, header_value), max_size=4),
    components=st.lists(header_value, max_size=4),
)
def test_random_requests_and_components_never_crash(
    method: str, url: str, headers: list[tuple[str, str]], components: list[str]
) -> None:
    for call in (
        lambda: sig.sign_request(
            method, url, headers, b"x", key_id=KEY_ID, private_key=PRIVATE, now=NOW
        ),
        lambda: sig.sign_request(
            method,
            url,
            headers,
            None,
            key_id=KEY_ID,
            private_key=PRIVATE,
            scheme="rfc9421",
            now=NOW,
        ),
        lambda: sig.signature_base(components, method=method, url=url, headers=headers, status=200),
        lambda: sig.sign_message(components, key=b"k", method=method, url=url, headers=headers),
    ):
        try:
            call()
        except sig.SignatureError as e:
            assert str(e)


@SETTINGS
@given(pem=header_value)
def test_random_pems_never_crash(pem: str) -> None:
    for parse in (sig.PublicKey.from_pem, sig.PrivateKey.from_pem):
        with pytest.raises(sig.InvalidKey):
            parse(pem)
    wrapped = f"-----BEGIN PUBLIC KEY-----\n{pem}\n-----END PUBLIC KEY-----"
    with pytest.raises(sig.InvalidKey):
        sig.PublicKey.from_pem(wrapped)
