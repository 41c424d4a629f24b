"""The fakes' pytest fixtures, for a test module's `pytest_plugins = ("tests.fakes.fixtures",)`:
`remote` (one fake host), `hosts` (four, verifying signatures), `local` and `api` (the
instance under test reaching them), `zone` and `black_hole` (DNS servers)."""

from __future__ import annotations

from tests.fakes.dns import black_hole, zone
from tests.fakes.instance import api, local
from tests.fakes.remote import hosts, remote

__all__ = ["api", "black_hole", "hosts", "local", "remote", "zone"]
