"""Helpers for the signature tests: reading the published vectors' HTTP messages."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildebeest_trio import signatures as sig


@dataclass
class HttpMessage:
    """A parsed HTTP/1.1 message as the vectors print it."""

    headers: list[tuple[str, str]]
    body: bytes
    method: str | None = None
    url: str | None = None
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        """The message as keyword arguments of sign_message / verify_message."""
        out: dict[str, Any] = {"headers": list(self.headers)}
        if self.status is not None:
            out["status"] = self.status
        else:
            out["method"] = self.method
            out["url"] = self.url
        return out

    def context(self) -> sig.RequestContext:
        """This request as the context of a response's `;req` components."""
        assert self.method is not None and self.url is not None
        return sig.RequestContext(self.method, self.url, list(self.headers))


def parse_http(text: str, scheme: str = "https") -> HttpMessage:
    """Parse a request or response; the URL is rebuilt from Host and the target."""
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    # One vector carries an extra blank line before its body (a transcription
    # artefact); the body itself never starts with a newline.
    payload = body.lstrip("\n").encode()
    first = lines[0].split(" ")
    if first[0].startswith("HTTP/"):
        return HttpMessage(headers=headers, body=payload, status=int(first[1]))
    host = next(v for n, v in headers if n.lower() == "host")
    return HttpMessage(
        headers=headers, body=payload, method=first[0], url=f"{scheme}://{host}{first[1]}"
    )


def header_lines(text: str) -> list[tuple[str, str]]:
    """`Name: value` lines as pairs."""
    out = []
    for line in text.strip().split("\n"):
        name, _, value = line.partition(":")
        out.append((name.strip(), value.strip()))
    return out


def printed_test_response(draft: Path) -> str:
    """The `test-response` exactly as the RFC 9421 draft prints it (RFC 8792 unfolded)."""
    text = draft.read_text()
    start = text.index("this `test-response` message is used:")
    block_start = text.index("~~~ http-message", start)
    block_end = text.index("~~~", block_start + 5)
    lines = text[block_start:block_end].split("\n")[1:]
    # Drop the RFC 8792 note and the blank line after it.
    while lines and (lines[0].startswith("NOTE:") or not lines[0].strip()):
        lines.pop(0)
    unfolded = "\n".join(lines).replace("\\\n  ", "")
    return unfolded.rstrip("\n")


class Rfc9421Vectors:
    """The RFC 9421 vectors with their keys and messages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = json.loads((root / "rfc9421-vectors.json").read_text())
        self.request = parse_http((root / "test-request.http").read_text())
        self.response = parse_http((root / "test-response.http").read_text())

    @property
    def cases(self) -> list[dict[str, Any]]:
        return self.data["cases"]

    def default_alg(self, keyid: str) -> str:
        return self.data["default_alg_by_keyid"][keyid]

    def public_key(self, keyid: str) -> Any:
        if keyid == "test-shared-secret":
            return self.shared_secret()
        return sig.PublicKey.from_pem((self.root / "keys" / f"{keyid}.pub.pem").read_text())

    def private_key(self, keyid: str) -> Any:
        if keyid == "test-shared-secret":
            return self.shared_secret()
        return sig.PrivateKey.from_pem((self.root / "keys" / f"{keyid}.priv.pem").read_text())

    def shared_secret(self) -> bytes:
        return base64.b64decode((self.root / "keys" / "test-shared-secret.b64").read_text())

    def message(self, case: dict[str, Any]) -> HttpMessage:
        """The signed message of a case (the Appendix B ones add their signature lines)."""
        if "applies_to" in case:
            base = self.request if case["applies_to"] == "test-request" else self.response
            return HttpMessage(
                headers=base.headers + header_lines(case["message"]),
                body=base.body,
                method=base.method,
                url=base.url,
                status=base.status,
            )
        return parse_http(case["message"])

    def request_context(self, msg: HttpMessage) -> sig.RequestContext | None:
        """For a response, the request its `;req` components come from."""
        if msg.status is None:
            return None
        return self.request.context()


def split_signature_input(value: str) -> tuple[list[str], dict[str, Any]]:
    """Components and parameters of one `Signature-Input` inner list.

    Parsed with `http_sf`, an implementation independent of ours.
    """
    import http_sf

    members, params = http_sf.parse(("x=" + value).encode(), tltype="dictionary")["x"]
    components = []
    for name, item_params in members:
        text = f'"{name}"'
        for k, v in item_params.items():
            text += f";{k}" if v is True else f';{k}="{v}"'
        components.append(text)
    return components, dict(params)
