"""The store's shapes that the layers above the services name: a row, a page of a list,
statuses with what they refer to.

The HTTP layer never imports `store`; it takes these from here. They stay defined where
the SQL that fills them lives, and this module is their one public name above it.
"""

from __future__ import annotations

from ..store import Row
from ..store.paging import Page
from ..store.statuses import StatusBundle

__all__ = ["Page", "Row", "StatusBundle"]
