"""JSON for responses through orjson (several times faster than the standard library)."""

from __future__ import annotations

from typing import Any

import orjson
from quart.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """Quart's JSON provider, encoding with orjson."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
