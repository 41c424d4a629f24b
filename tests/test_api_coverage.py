"""Every client method Mastodon documents is routed.

The list comes from the OpenAPI schema of Mastodon's documentation
(`/work/shared/vectors/mastodon-api`, abraham/mastodon-openapi) minus the admin API (its own
work) and a short list of documented exclusions, plus the documented methods the schema
leaves out. Each must match a rule of the app's URL map with the same shape: Mastodon's
`{id}` segments are our converters, and a catch-all rule does not count.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect, WebsocketMismatch

from wildebeest_trio.runtime import Runtime

# `../shared/vectors/mastodon-api` beside the checkout (or a worktree's checkout).
SCHEMA_FOLDERS = [
    parent / "shared/vectors/mastodon-api" for parent in Path(__file__).resolve().parents[1:4]
]
METHODS = ("get", "post", "put", "patch", "delete")

# Another piece of work covers these prefixes (the admin API).
ELSEWHERE = ("/api/v1/admin/", "/api/v2/admin/")

# Documented in the schema, deliberately not served.
EXCLUDED = {
    # Removed in Mastodon 3.0 (conversations replaced it); kept in the docs as history.
    ("GET", "/api/v1/timelines/direct"),
}

# Documented on Mastodon's method pages (docs.joinmastodon.org/methods/...) but absent from
# the schema.
DOCUMENTED_BEYOND_SCHEMA = {
    # methods/streaming: the WebSocket endpoint (one connection, any stream).
    ("GET", "/api/v1/streaming"),
    # methods/emails (4.4): whether the signed-in person's address is confirmed.
    ("GET", "/api/v1/emails/check_confirmation"),
    # A password manager's path to the password page (W3C "well-known URL for changing
    # passwords"), which Mastodon serves.
    ("GET", "/.well-known/change-password"),
    # methods/oembed
    ("GET", "/api/oembed"),
}

# Documented and not yet routed here; each names the work that brings it. The test fails
# when one of these starts being routed too, so the list only shrinks. Empty: every
# documented client method is routed.
NOT_YET: dict[tuple[str, str], str] = {}


def _schema() -> dict[str, Any] | None:
    for folder in SCHEMA_FOLDERS:
        found = sorted(folder.glob("mastodon-openapi-*.schema.json")) if folder.is_dir() else []
        if found:
            data: dict[str, Any] = json.loads(found[-1].read_text())
            return data
    return None


def documented_operations() -> set[tuple[str, str]]:
    """(method, path) of each client operation the documentation describes."""
    schema = _schema()
    if schema is None:
        pytest.skip("Mastodon's OpenAPI schema (../shared/vectors/mastodon-api) is absent")
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS and not path.startswith(ELSEWHERE)
    }
    return (operations - EXCLUDED) | DOCUMENTED_BEYOND_SCHEMA


_VARIABLE = re.compile(r"\{([a-z_]+)\}")
_SAMPLES = {"date": "2025-01-01", "year": "2025"}


def _shape(rule: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "*", rule)


def _routed(adapter: Any, method: str, path: str) -> bool:
    concrete = _VARIABLE.sub(lambda m: _SAMPLES.get(m.group(1), "1"), path)
    for websocket in (False, True):
        try:
            rule, _ = adapter.match(concrete, method=method, return_rule=True, websocket=websocket)
        except (NotFound, MethodNotAllowed, RequestRedirect, WebsocketMismatch):
            continue
        return bool(_shape(rule.rule) == _shape(path))
    return False


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_documented_client_method_is_routed(rt: Runtime) -> None:
    from wildebeest_trio.http import create_app

    operations = documented_operations()
    adapter = create_app(rt).url_map.bind("localhost")
    missing = sorted(
        f"{method} {path}"
        for method, path in operations
        if (method, path) not in NOT_YET and not _routed(adapter, method, path)
    )
    assert not missing, "documented client methods not routed:\n" + "\n".join(missing)
    arrived = sorted(f"{m} {p}" for m, p in NOT_YET if _routed(adapter, m, p))
    assert not arrived, "routed now, take them off NOT_YET:\n" + "\n".join(arrived)
    assert set(NOT_YET) <= operations
