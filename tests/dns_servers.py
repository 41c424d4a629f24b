"""Kept for branches in flight: the DNS servers now live in `tests.fakes.dns` (the lead
removes this module once they are merged)."""

from __future__ import annotations

from tests.fakes.dns import BlackHole, Zone, black_hole, zone

__all__ = ["BlackHole", "Zone", "black_hole", "zone"]
