"""The fakes' pytest fixtures, for a test module's `pytest_plugins = ("tests.fakes.fixtures",)`:
`remote` (one fake host), `hosts` (four, verifying signatures), `tls_ca` (the tests' CA),
`local` and `api` (the instance under test reaching them), `zone` and `black_hole` (DNS
servers), `a` and `b` (two live instances; the module overrides `config` with
`peers.peer_config`)."""

from __future__ import annotations

from tests.fakes.dns import black_hole, zone
from tests.fakes.instance import api, local
from tests.fakes.peers import a, b, c
from tests.fakes.remote import hosts, remote, tls_ca

__all__ = ["a", "api", "b", "black_hole", "c", "hosts", "local", "remote", "tls_ca", "zone"]
