"""JSON for requests and responses through orjson (several times faster than the standard
library); what comes in is bounded in size and depth (`jsonbounds`)."""

from __future__ import annotations

from typing import Any

import orjson
from quart.json.provider import DefaultJSONProvider

from .. import jsonbounds

# The largest JSON request body the API reads (Mastodon's requests are a few kilobytes).
MAX_JSON_BYTES = 1_000_000


def encode(data: Any) -> bytes:
    """`data` as JSON; keys that are not strings (numbers, in a few documents) are written
    as strings."""
    try:
        # Without OPT_NON_STR_KEYS, which costs orjson two fifths more on a timeline's
        # 60 kB page: a document with another kind of key fails at once and goes again.
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


class OrjsonProvider(DefaultJSONProvider):
    """Quart's JSON provider, with orjson and `jsonbounds` (`request.get_json` uses it)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return encode(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return jsonbounds.loads(s, max_bytes=MAX_JSON_BYTES)
