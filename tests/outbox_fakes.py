"""Kept for branches in flight: the outbound federation tests' fakes now live in
`tests.fakes` (the lead removes this module once they are merged). `FakeHosts` is
`RemoteServer` (`start_hosts` is `start_remote(nursery, count, verify=True)`), `Delivery` its
`Request`, `remote_account` is `account_on`, `add_follower` is in `tests.fakes.rows`."""

from __future__ import annotations

from functools import partial

from tests.fakes.remote import RemoteServer as FakeHosts
from tests.fakes.remote import Request as Delivery
from tests.fakes.remote import account_on as remote_account
from tests.fakes.remote import distinct_ports, start_remote, trust_local_key, wait_for
from tests.fakes.rows import add_follower

start_hosts = partial(start_remote, verify=True)

__all__ = [
    "Delivery",
    "FakeHosts",
    "add_follower",
    "distinct_ports",
    "remote_account",
    "start_hosts",
    "trust_local_key",
    "wait_for",
]
