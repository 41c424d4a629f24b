"""A peer that checks our signed fetches as GoToSocial does, and what we log when a peer
refuses them.

GoToSocial verifies a signed GET by fetching the signer's actor and parsing its
`preferredUsername` with its username characters (letters, digits, `.`, `-`, `_`);
anything else, such as the `:` of a domain with a port, makes it answer 500. Our test
domain always has a port (`127.0.0.1:PORT`), the case that broke every exchange with it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer
from wildebeest_trio.config import Config
from wildebeest_trio.federation import lookup
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)

# GoToSocial's username characters (`usernameGrp` in its regexes, the ASCII part).
USERNAME = re.compile(r"[A-Za-z0-9._-]+")


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """This module's server may fetch from 127.0.0.1 (the fake peer)."""
    return make_config(tmp_path, database_url, allow_private_addresses=True)


def _gotosocial_username(signer: dict[str, Any]) -> str | None:
    """Why GoToSocial cannot parse a signer's actor: its username; None when it can."""
    if USERNAME.fullmatch(str(signer.get("preferredUsername", ""))):
        return None
    return f"unparseable username {signer.get('preferredUsername')!r}"


@pytest.fixture
def peer(remote: RemoteServer) -> RemoteServer:
    """A fake GoToSocial server with one account, `gus`, served only to signed GETs (500
    to any other)."""
    remote.signed_fetches = True
    remote.signer_rule = _gotosocial_username
    remote.refusal_status = 500
    remote.actor("gus")
    return remote


async def test_a_gotosocial_peer_accepts_our_signed_fetches(
    rt: Runtime, live_server: str, peer: RemoteServer
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
    peer: RemoteServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: str,
    level: int,
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio.federation")
    peer.answer(f"{peer.base}/users/gus", status, body)
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
