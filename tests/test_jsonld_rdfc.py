"""The W3C RDF Dataset Canonicalization (RDFC-1.0) test suite, all 86 tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vectors import vectors_root
from wildebeest_trio import jsonld

SUITE = vectors_root() / "rdf-canon" / "tests"


def _entries() -> list[dict[str, Any]]:
    """The manifest's entries, or none when the vectors are absent."""
    manifest = SUITE / "manifest.jsonld"
    if not manifest.exists():
        return []
    return json.loads(manifest.read_text(encoding="utf-8"))["entries"]


ENTRIES = _entries()


def _suite_dir() -> Path:
    """The suite folder, skipping the test when the vectors are absent."""
    from tests.vectors import vectors_dir

    return vectors_dir("rdf-canon", "tests")


def test_suite_is_complete() -> None:
    """The manifest lists the 86 tests this module expects."""
    _suite_dir()
    assert len(ENTRIES) == 86


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"].lstrip("#") for e in ENTRIES])
def test_rdfc10(entry: dict[str, Any]) -> None:
    """One manifest entry: eval (byte-for-byte), map, or negative."""
    base = _suite_dir()
    nquads = (base / entry["action"]).read_text(encoding="utf-8")
    algorithm = entry.get("hashAlgorithm", "SHA256")
    kind = entry["type"]
    if kind == "rdfc:RDFC10EvalTest":
        expected = (base / entry["result"]).read_text(encoding="utf-8")
        assert jsonld.canonicalize_nquads(nquads, hash_algorithm=algorithm) == expected
    elif kind == "rdfc:RDFC10MapTest":
        expected_map = json.loads((base / entry["result"]).read_text(encoding="utf-8"))
        assert jsonld.issued_identifiers(nquads, hash_algorithm=algorithm) == expected_map
    elif kind == "rdfc:RDFC10NegativeEvalTest":
        start = time.perf_counter()
        with pytest.raises(jsonld.LimitExceeded):
            jsonld.canonicalize_nquads(nquads, hash_algorithm=algorithm)
        # The poison graph must fail fast, not after exploring permutations.
        assert time.perf_counter() - start < 2.0
    else:  # pragma: no cover - a new kind of test in the suite
        pytest.fail(f"unknown test type {kind}")


def test_invalid_nquads_is_typed() -> None:
    """Malformed N-Quads raise InvalidDocument, not a bare ValueError."""
    with pytest.raises(jsonld.InvalidDocument):
        jsonld.canonicalize_nquads("<urn:a> <urn:b> .\n")
