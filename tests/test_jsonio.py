"""The API's JSON encoder: documents whose keys are not all strings are written as before."""

from __future__ import annotations

import orjson
import pytest

from wildebeest_trio.http.context import encode_json


def test_keys_that_are_not_strings_are_written_as_strings() -> None:
    document = {"a": [1, {2: "two", "b": None}], 3: True}
    assert encode_json(document) == b'{"a":[1,{"2":"two","b":null}],"3":true}'
    assert encode_json({"id": "1", "list": ["x"]}) == b'{"id":"1","list":["x"]}'


def test_what_cannot_be_json_is_still_refused() -> None:
    with pytest.raises(orjson.JSONEncodeError):
        encode_json({"a": {1, 2}})
