"""Kept for branches in flight: the inbox tests' helpers now live in `tests.fakes` (the lead
removes this module once they are merged). `RemoteServer` serves every shape of remote now."""

from __future__ import annotations

from tests.fakes.instance import api, drain, local
from tests.fakes.remote import (
    AS,
    CONTEXT,
    PUBLIC,
    RemoteActor,
    RemoteServer,
    deliver,
    remote,
    signed_headers,
)
from tests.fakes.rows import account_id_of, rows

__all__ = [
    "AS",
    "CONTEXT",
    "PUBLIC",
    "RemoteActor",
    "RemoteServer",
    "account_id_of",
    "api",
    "deliver",
    "drain",
    "local",
    "remote",
    "rows",
    "signed_headers",
]
