"""URL converters: `<id:status_id>` matches an id and hands the view an int; the text
ones match no control characters.

An id is ASCII digits for a value up to 2^63-1 (`ids.parse_id`); any other segment (`²`,
twenty nines, `-1`) matches no route, which is the 404 Mastodon answers for an unknown
record. No name, tag or file has a control character either (and PostgreSQL refuses a NUL
in text): a segment with one is a 404 too.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter, PathConverter, UnicodeConverter, ValidationError

from ..ids import parse_id


class IdConverter(BaseConverter):
    """`<id:name>`: a record id."""

    regex = "[0-9]{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(value)


_CONTROL = "\\x00-\\x1f\\x7f"


class TextConverter(UnicodeConverter):
    """`<name>` (werkzeug's default): one segment, without control characters."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", f"[^/{_CONTROL}]")


class TextPathConverter(PathConverter):
    """`<path:name>`: segments and slashes, without control characters."""

    regex = f"[^/{_CONTROL}][^{_CONTROL}]*?"


CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter,
    "default": TextConverter,
    "string": TextConverter,
    "path": TextPathConverter,
}
