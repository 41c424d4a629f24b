"""Request parameters as Mastodon clients send them: query, form, multipart or JSON.

Clients mix styles: Rails-like brackets in forms (`id[]=1`, `source[privacy]=public`,
`data[alerts][mention]=true`) and nested JSON objects for the same thing. `Params`
flattens both into one view: `get("source[privacy]")` and `get_list("id")` work on
either.
"""

from __future__ import annotations

from typing import Any

from quart import request
from werkzeug.datastructures import FileStorage, MultiDict

from .. import jsonbounds
from .errors import ApiError
from .jsonio import MAX_JSON_BYTES

_TRUE = {"1", "true", "on", "yes", "t"}
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

    def integer(self, name: str, default: int | None = None) -> Any:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise ApiError(422, f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(422, f"{name} must be an integer") from None

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
                for key in body_values:
                    values.setlist(key, body_values.getlist(key))
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form
            for key in form:
                values.setlist(key, form.getlist(key))
            files = await request.files
    return Params(values, files)
