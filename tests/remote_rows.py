"""Kept for branches in flight: these helpers now live in `tests.fakes.rows` (the lead
removes this module once they are merged). `follow_rows_between` is `add_follower`."""

from __future__ import annotations

from tests.fakes.rows import accept_our_request, remote_account, remote_status
from tests.fakes.rows import add_follower as follow_rows_between

__all__ = ["accept_our_request", "follow_rows_between", "remote_account", "remote_status"]
