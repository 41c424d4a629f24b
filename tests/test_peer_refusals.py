"""A peer that checks our signed fetches as GoToSocial does, and what we log when a peer
refuses them.

GoToSocial verifies a signed GET by fetching the signer's actor and parsing its
`preferredUsername` with its username characters (letters, digits, `.`, `-`, `_`);
anything else, such as the `:` of a domain with a port, makes it answer 500. Our test
domain always has a port (`127.0.0.1:PORT`), the case that broke every exchange with it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio

from tests.conftest import free_port, make_config
from wildebeest_trio.config import Config
from wildebeest_trio.federation import lookup
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.signatures import (
    SignatureError,
    generate_rsa_keypair,
    parse_signature,
    verify_request,
)

AP = "application/activity+json"
# GoToSocial's username characters (`usernameGrp` in its regexes, the ASCII part).
USERNAME = re.compile(r"[A-Za-z0-9._-]+")


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """This module's server may fetch from 127.0.0.1 (the fake peer)."""
    return make_config(tmp_path, database_url, allow_private_addresses=True)


@dataclass
class Peer:
    """A fake GoToSocial server with one account, `gus`, served only to signed GETs."""

    base: str = ""
    host: str = ""
    public_pem: str = field(default_factory=lambda: generate_rsa_keypair(2048)[1])
    #: (status, body) to answer every signed GET with, whoever signed it.
    refuse_with: tuple[int, str] | None = None
    #: What its signature checks concluded, in order.
    verdicts: list[str] = field(default_factory=list)

    def actor(self) -> dict[str, Any]:
        uri = f"{self.base}/users/gus"
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": "gus",
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
        }


async def _signer_problem(peer: Peer) -> str | None:
    """Why the signed GET in hand is refused, as GoToSocial decides; None when it is not."""
    url = f"{peer.base}{request.path}"
    headers = dict(request.headers)
    try:
        key_id = parse_signature("GET", url, headers).key_id
    except SignatureError as exc:
        return f"not signed: {exc}"
    async with httpx.AsyncClient() as client:
        fetched = await client.get(key_id.split("#")[0], headers={"Accept": AP})
    signer = fetched.json()
    if not USERNAME.fullmatch(str(signer.get("preferredUsername", ""))):
        return f"unparseable username {signer.get('preferredUsername')!r}"
    try:
        verify_request("GET", url, headers, None, public_key=signer["publicKey"]["publicKeyPem"])
    except SignatureError as exc:
        return f"bad signature: {exc}"
    return None


@pytest.fixture
async def peer(nursery: trio.Nursery) -> AsyncIterator[Peer]:
    state = Peer()
    app = QuartTrio("gotosocial-like")

    @app.route("/.well-known/webfinger")
    async def webfinger() -> Response:
        if request.args.get("resource") != f"acct:gus@{state.host}":
            return Response("", status=404)
        body = {
            "subject": f"acct:gus@{state.host}",
            "links": [{"rel": "self", "type": AP, "href": f"{state.base}/users/gus"}],
        }
        return Response(json.dumps(body), content_type="application/jrd+json")

    @app.route("/users/gus")
    async def actor() -> Response:
        if state.refuse_with is not None:
            return Response(state.refuse_with[1], status=state.refuse_with[0])
        problem = await _signer_problem(state)
        state.verdicts.append(problem or "ok")
        if problem is not None:
            return Response(json.dumps({"error": f"Internal Server Error: {problem}"}), 500)
        return Response(json.dumps(state.actor()), content_type=AP)

    config = HypercornConfig()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    await nursery.start(serve, app, config)
    state.host = f"127.0.0.1:{port}"
    state.base = f"http://{state.host}"
    yield state


async def test_a_gotosocial_peer_accepts_our_signed_fetches(
    rt: Runtime, live_server: str, peer: Peer
) -> None:
    assert ":" in rt.config.domain
    row = await lookup.resolve_account(rt, "gus", peer.host)
    assert peer.verdicts == ["ok"]
    assert row is not None and row["uri"] == f"{peer.base}/users/gus"


@pytest.mark.parametrize(
    ("status", "body", "level"),
    [
        (401, "signature could not be verified", logging.WARNING),
        (500, '{"error":"Internal Server Error"}', logging.WARNING),
        (410, "", logging.INFO),
    ],
)
async def test_a_refused_fetch_is_logged_with_the_answer(
    rt: Runtime,
    live_server: str,
    peer: Peer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: str,
    level: int,
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio.federation")
    peer.refuse_with = (status, body)
    with pytest.raises(lookup.LookupFailed):
        await lookup.resolve_account(rt, "gus", peer.host)
    url = f"{peer.base}/users/gus"
    [record] = [
        r
        for r in caplog.records
        if r.name == "wildebeest_trio.federation.fetch" and url in r.getMessage()
    ]
    assert record.levelno == level
    assert str(status) in record.getMessage()
    assert (body or "(empty body)") in record.getMessage()
