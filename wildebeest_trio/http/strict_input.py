"""Query strings and form bodies read strictly: UTF-8 without NUL characters, or a 400.

Quart decodes a URL-encoded form body with `bytes.decode()` and gives a body that is not
UTF-8 back as an empty form (percent-escapes that are not UTF-8 become U+FFFD). Rails
refuses such parameters with a 400, and so does this server: through the request class's
form parser, and for the endpoints that read the pairs of a form in order themselves. A
NUL character is never part of a name, a text or an id, and PostgreSQL refuses it in text:
a query, form or JSON parameter holding one is a 400 too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from quart_trio.formparser import TrioFormDataParser
from quart_trio.wrappers.request import TrioRequest
from werkzeug.datastructures import MultiDict

from .errors import ApiError

# Far more than any form of this server has; a bound on the work a body can ask for.
MAX_FIELDS = 10_000
URLENCODED = ("application/x-www-form-urlencoded", "application/x-url-encoded")


def refuse_nul(texts: Iterable[Any]) -> None:
    """400 when one of `texts` (the strings among them) holds a NUL character."""
    if any(isinstance(t, str) and "\x00" in t for t in texts):
        raise ApiError(400, "Parameters must not contain NUL characters")


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The `(name, value)` pairs of a URL-encoded body, in order; 400 unless it is UTF-8
    (raw and percent-escaped alike) without NUL, with at most `MAX_FIELDS` fields."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise ApiError(400, "The form data is not valid UTF-8") from None
    except ValueError:
        raise ApiError(400, f"The form data has more than {MAX_FIELDS} fields") from None
    refuse_nul(text for pair in pairs for text in pair)
    return pairs


class StrictFormDataParser(TrioFormDataParser):
    """Quart-trio's form parser: `form_pairs` for URL-encoded bodies, and no NUL in the
    fields of multipart ones."""

    async def _parse_urlencoded(
        self, body: Any, mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> tuple[MultiDict[str, str], MultiDict[str, Any]]:
        return self.cls(form_pairs(await body)), self.cls()

    def get_parse_func(self, mimetype: str, options: dict[str, str]) -> Any:
        if mimetype in URLENCODED:
            return StrictFormDataParser._parse_urlencoded
        return super().get_parse_func(mimetype, options)

    async def parse(
        self, body: Any, mimetype: str, content_length: int | None, options: Any = None
    ) -> tuple[MultiDict[str, Any], MultiDict[str, Any]]:
        form, files = await super().parse(body, mimetype, content_length, options)
        refuse_nul(text for pair in form.items(multi=True) for text in pair)
        return form, files


class StrictRequest(TrioRequest):
    """The request class: forms through `StrictFormDataParser`, and query strings without
    NUL characters."""

    form_data_parser_class = StrictFormDataParser

    @property
    def args(self) -> MultiDict[str, str]:  # type: ignore[override]
        # Checked on every access (the parsed arguments are cached below): a 400 raised
        # in one hook must not let a later reader through.
        args: MultiDict[str, str] = super().args
        refuse_nul(text for pair in args.items(multi=True) for text in pair)
        return args
