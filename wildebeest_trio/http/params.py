"""Request parameters as Mastodon clients send them: query, form, multipart or JSON.

Clients mix styles: Rails-like brackets in forms (`id[]=1`, `source[privacy]=public`,
`data[alerts][mention]=true`) and nested JSON objects for the same thing. `Params`
flattens both into one view: `get("source[privacy]")` and `get_list("id")` work on
either.
"""

from __future__ import annotations

import re
from typing import Any

from quart import request
from werkzeug.datastructures import FileStorage, MultiDict

from .. import jsonbounds
from ..ids import MAX_ID, parse_id
from .errors import ApiError
from .jsonio import MAX_JSON_BYTES
from .strict_input import refuse_nul

_TRUE = {"1", "true", "on", "yes", "t"}
_INTEGER = re.compile(r"-?[0-9]+")
_FALSE = {"0", "false", "off", "no", "f", ""}


def parse_flag(value: Any, name: str) -> bool:
    """A boolean as Rails reads one from JSON or a form (`true`, `1`, `on`...); 422 else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApiError(422, f"{name} must be a boolean")


def parse_integer(
    value: Any,
    name: str,
    *,
    minimum: int = -MAX_ID,
    maximum: int = MAX_ID,
    clamp: bool = False,
) -> int:
    """An integer as clients send one: ASCII digits with an optional minus (surrounding
    spaces ignored), or a JSON number without a fraction; 422 for anything else (`²`,
    `1e3`, `12abc`). A value outside `minimum..maximum` (by default what a 64-bit column
    holds) is a 422 too, or the nearest bound with `clamp` (Rails' `limit_param` way)."""
    number: int | None = None
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(text := value.strip()):
        # More than 19 digits is past any bound (and `int()` refuses thousands of them).
        digits = text.lstrip("-")
        beyond = -(MAX_ID + 1) if text.startswith("-") else MAX_ID + 1
        number = beyond if len(digits) > 19 else int(text)
    if number is None:
        raise ApiError(422, f"{name} must be an integer")
    if number < minimum:
        if clamp:
            return minimum
        raise ApiError(422, f"{name} must be at least {minimum}")
    if number > maximum:
        if clamp:
            return maximum
        raise ApiError(422, f"{name} must be at most {maximum}")
    return number


def _flatten(prefix: str, value: Any, out: MultiDict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        for inner in value:
            if isinstance(inner, dict | list):
                _flatten(f"{prefix}[]", inner, out)
            else:
                out.add(f"{prefix}[]", inner)
    else:
        out.add(prefix, value)


class Params:
    """The parameters of one request, whatever their encoding."""

    def __init__(self, values: MultiDict[str, Any], files: MultiDict[str, FileStorage]) -> None:
        self._values = values
        self.files = files

    def __contains__(self, name: str) -> bool:
        return name in self._values or f"{name}[]" in self._values

    def get(self, name: str, default: Any = None) -> Any:
        value = self._values.get(name, default)
        return value

    def text(self, name: str, default: str | None = None, *, max_length: int = 10_000) -> Any:
        """A string parameter (numbers and booleans from JSON are given as text)."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise ApiError(422, f"{name} must be a string")
        text = str(value)
        if len(text) > max_length:
            raise ApiError(422, f"{name} is too long (maximum is {max_length} characters)")
        return text

    def flag(self, name: str, default: bool | None = None) -> Any:
        value = self._values.get(name)
        if value is None:
            return default
        return parse_flag(value, name)

    def integer(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int = -MAX_ID,
        maximum: int = MAX_ID,
        clamp: bool = False,
    ) -> Any:
        """An integer parameter within `minimum..maximum` (`parse_integer`); `default` when
        absent or empty."""
        value = self._values.get(name)
        if value is None or value == "":
            return default
        return parse_integer(value, name, minimum=minimum, maximum=maximum, clamp=clamp)

    def ids(self, name: str, limit: int | None = None) -> list[int]:
        """The ids of a list parameter (`name[]`), the malformed ones left out (they name no
        record, as Mastodon's `where(id: ...)` finds none for them)."""
        values = self.get_list(name)[:limit]
        return [i for i in map(parse_id, values) if i is not None]

    def get_list(self, name: str) -> list[Any]:
        """`name[]=a&name[]=b`, `name=a` repeated, or a JSON array."""
        values = self._values.getlist(f"{name}[]") or self._values.getlist(name)
        return [v for v in values if v is not None]

    def raw_list(self, key: str) -> list[Any]:
        """Every value under exactly this flattened key."""
        return self._values.getlist(key)

    def names(self) -> list[str]:
        return list(self._values.keys())


async def read_params(*, max_json_bytes: int = MAX_JSON_BYTES) -> Params:
    """Gather query, form, multipart and JSON parameters (body values win over the query)."""
    values: MultiDict[str, Any] = MultiDict()
    for key, value in request.args.items(multi=True):
        values.add(key, value)
    files: MultiDict[str, FileStorage] = MultiDict()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        mimetype = request.mimetype
        if mimetype == "application/json" or mimetype.endswith("+json"):
            raw = await request.get_data()
            if raw:
                if len(raw) > max_json_bytes:
                    raise ApiError(413, "Request entity too large")
                try:
                    body = jsonbounds.loads(raw, max_bytes=max_json_bytes)
                except ValueError:
                    raise ApiError(400, "Invalid JSON body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "The JSON body must be an object")
                body_values: MultiDict[str, Any] = MultiDict()
                _flatten("", body, body_values)
                refuse_nul(text for pair in body_values.items(multi=True) for text in pair)
                for key in body_values:
                    values.setlist(key, body_values.getlist(key))
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form
            for key in form:
                values.setlist(key, form.getlist(key))
            files = await request.files
    return Params(values, files)
