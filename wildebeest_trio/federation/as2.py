"""Reading ActivityStreams 2.0 values: any JSON-LD compaction of one item or many, links
given as bare IRIs or as embedded objects."""

from __future__ import annotations

from typing import Any


def first(value: Any) -> Any:
    """The first of a value that may be a single item or a list (any JSON-LD compaction)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_list(value: Any) -> list[Any]:
    """A value that may be absent, one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def link(value: Any) -> str | None:
    """An id from a bare IRI or an embedded object with `id`/`href`."""
    value = first(value)
    if isinstance(value, dict):
        value = value.get("id") or value.get("href") or value.get("url")
        value = first(value)
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None
