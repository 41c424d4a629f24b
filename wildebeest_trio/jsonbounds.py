"""JSON from outside the process, parsed with bounds on its size and nesting depth.

Python's `json` recurses once per level of nesting and fails with a RecursionError (a 500)
near a thousand levels; orjson stops at 1,024 levels with a ValueError. Rails refuses JSON
nested deeper than 100 levels (`JSON.parse`'s `max_nesting`), and no Mastodon API request,
ActivityPub document, JRD or streaming command needs more, so that is the bound here for
every JSON that comes in: request bodies, inbox deliveries, fetched documents, key sets
and streaming commands. Every refusal is a ValueError, which callers already turn into
their 400 or their refusal of a document.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 100


class JsonRefused(ValueError):
    """Not JSON this server reads: malformed, too large or nested too deep."""


def loads(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The value `data` holds; `JsonRefused` past `max_bytes` (characters for a str) or
    `max_depth` levels of arrays and objects, or for anything orjson does not accept
    (invalid UTF-8, lone surrogates, NaN...)."""
    if len(data) > max_bytes:
        raise JsonRefused(f"JSON larger than {max_bytes} bytes")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonRefused(str(exc)) from None
    # Counting brackets (strings included) is fast and rules out almost every document.
    openers = (
        data.count(b"[") + data.count(b"{")
        if isinstance(data, bytes)
        else (data.count("[") + data.count("{"))
    )
    if openers > max_depth and depth(value) > max_depth:
        raise JsonRefused(f"JSON nested deeper than {max_depth} levels")
    return value


def depth(value: Any) -> int:
    """How many arrays and objects are nested in `value` at most (0 for a scalar); without
    recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest
