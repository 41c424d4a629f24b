"""The W3C JSON-LD 1.1 toRdf tests selected by `toRdf-classification.json`.

The selection (381 tests) keeps what ActivityStreams documents can meet. Output
is compared with the expected dataset by isomorphism: both sides are
canonicalized (RDFC-1.0, itself checked against its W3C suite) and compared.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.vectors import vectors_dir, vectors_root
from wildebeest_trio import jsonld

ROOT = vectors_root() / "json-ld-api"
TESTS = ROOT / "tests"
BASE_IRI = "https://w3c.github.io/json-ld-api/tests/"


def _selected() -> list[dict[str, Any]]:
    """The manifest entries the classification keeps (none without vectors)."""
    classification = ROOT / "toRdf-classification.json"
    if not classification.exists():
        return []
    kept = {
        c["id"]
        for c in json.loads(classification.read_text(encoding="utf-8"))
        if not c["excluded_because"]
    }
    manifest = json.loads((TESTS / "toRdf-manifest.jsonld").read_text(encoding="utf-8"))
    return [e for e in manifest["sequence"] if e["@id"] in kept]


SELECTED = _selected()
_NAME = re.compile(r"[\w./-]+\.jsonld")


def _referenced_contexts(text: str, url: str, seen: dict[str, str]) -> None:
    """Adds every suite file a document names (transitively) to `seen`."""
    for name in _NAME.findall(text):
        if name.startswith(("http:", "https:")):
            continue
        ref = urljoin(url, name)
        path = TESTS / ref.removeprefix(BASE_IRI)
        if ref in seen or not path.is_file():
            continue
        seen[ref] = path.read_text(encoding="utf-8")
        _referenced_contexts(seen[ref], ref, seen)


def test_selection_is_complete() -> None:
    """The classification keeps the 381 tests this module expects."""
    vectors_dir("json-ld-api")
    assert len(SELECTED) == 381


@pytest.mark.parametrize("entry", SELECTED, ids=[e["@id"].lstrip("#") for e in SELECTED])
def test_to_rdf(entry: dict[str, Any]) -> None:
    """One toRdf test: the dataset, the error code, or no error."""
    vectors_dir("json-ld-api")
    text = (TESTS / entry["input"]).read_text(encoding="utf-8")
    url = BASE_IRI + entry["input"]
    base = entry.get("option", {}).get("base", url)
    contexts: dict[str, str] = {}
    _referenced_contexts(text, url, contexts)
    types = entry["@type"]
    if "jld:NegativeEvaluationTest" in types:
        with pytest.raises(jsonld.JsonLdError) as info:
            jsonld.to_rdf(text, base=base, contexts=contexts)
        assert info.value.code == entry["expectErrorCode"]
        return
    got = jsonld.to_rdf(text, base=base, contexts=contexts)
    if "jld:PositiveSyntaxTest" in types:
        return
    expected = (TESTS / entry["expect"]).read_text(encoding="utf-8")
    assert jsonld.canonicalize_nquads(got) == jsonld.canonicalize_nquads(expected)
