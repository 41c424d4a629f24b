"""The access log: one line per request on the `wildebeest_trio.access` logger.

`client "METHOD /path?query" status bytes duration "user agent" request-id`, logged by
`http.edge` when the response is complete (a streaming response when it ends). Query
values that may be secrets (tokens, codes, passwords...) are replaced by `[FILTERED]`;
control characters and quotes are escaped so a request cannot forge log lines.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, quote

log = logging.getLogger("wildebeest_trio.access")

# Rails' filter_parameters as Mastodon sets them, plus OAuth's `code` and signatures.
SECRET_PARTS = (
    "passw",
    "secret",
    "token",
    "_key",
    "crypt",
    "salt",
    "certificate",
    "otp",
    "ssn",
    "code",
    "email",
    "signature",
)
FILTERED = "[FILTERED]"


def _printable(text: str) -> str:
    """Control characters, quotes and backslashes as escapes: one log line stays one."""
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def filtered_query(query: str) -> str:
    """A query string with the values of secret-looking parameters replaced."""
    if not query:
        return ""
    pairs = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        secret = any(part in name.lower() for part in SECRET_PARTS)
        pairs.append(f"{quote(name, safe='[]')}={FILTERED if secret else quote(value)}")
    return "&".join(pairs)


def request_line(scope: dict[str, Any]) -> str:
    """`METHOD /path?query` as logged: the path as sent, secrets filtered out."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    path = raw_path.decode("latin-1").partition("?")[0]
    query = filtered_query(scope.get("query_string", b"").decode("latin-1"))
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    return _printable(f"{method} {path}" + (f"?{query}" if query else ""))


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def log_request(
    scope: dict[str, Any] | Any,
    client: str | None,
    status: int | None,
    sent: int,
    seconds: float,
    request_id: str,
) -> None:
    """The access line of a request answered (`scope` as it arrived; `client` its address)."""
    address = client or "-"
    line = request_line(scope)
    agent = _printable(_header(scope, b"user-agent")[:300])
    # The same facts as fields, for JSON logs (WB_LOG_FORMAT=json).
    fields = {
        "client": address,
        "request": line,
        "status": status,
        "bytes": sent,
        "duration_ms": round(seconds * 1000, 1),
        "user_agent": agent,
    }
    log.info(
        '%s "%s" %s %d %.1fms "%s" %s',
        address,
        line,
        status or "-",
        sent,
        seconds * 1000,
        agent,
        request_id,
        extra=fields,
    )
