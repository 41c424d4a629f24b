"""Canonical N-Quads of realistic ActivityPub documents equal pyld's."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from tests.jsonld_corpus import CORPUS, create_note
from tests.jsonld_pyld import pyld_canonicalize
from tests.vectors import vectors_dir
from wildebeest_trio import jsonld


@pytest.mark.parametrize("build", CORPUS.values(), ids=list(CORPUS))
def test_canonical_equals_pyld(build: Callable[[], dict[str, Any]]) -> None:
    """Our canonical form of each corpus document is pyld's, byte for byte."""
    contexts = vectors_dir("contexts")
    doc = build()
    ours = jsonld.canonicalize(doc)
    assert ours == pyld_canonicalize(doc, contexts)
    assert ours.count("\n") >= 3


@pytest.mark.parametrize("build", CORPUS.values(), ids=list(CORPUS))
def test_json_text_equals_dict(build: Callable[[], dict[str, Any]]) -> None:
    """A document given as JSON text canonicalizes like the parsed dict."""
    doc = build()
    assert jsonld.canonicalize(json.dumps(doc)) == jsonld.canonicalize(doc)


def test_key_order_is_irrelevant() -> None:
    """Shuffling every object's keys changes nothing."""
    rng = random.Random(4)

    def shuffle(v: Any) -> Any:
        """The value with each object's keys in a random order."""
        if isinstance(v, dict):
            items = list(v.items())
            rng.shuffle(items)
            return {k: shuffle(x) for k, x in items}
        if isinstance(v, list):
            return [shuffle(x) for x in v]
        return v

    doc = create_note()
    assert jsonld.canonicalize(shuffle(doc)) == jsonld.canonicalize(doc)


def test_to_rdf_then_canonicalize_nquads() -> None:
    """to_rdf followed by canonicalize_nquads is canonicalize."""
    doc = create_note()
    assert jsonld.canonicalize_nquads(jsonld.to_rdf(doc)) == jsonld.canonicalize(doc)


def test_focal_point_is_an_rdf_list() -> None:
    """Mastodon's focalPoint (@list container) becomes rdf:first/rest with doubles."""
    nquads = jsonld.to_rdf(create_note())
    assert "<http://www.w3.org/1999/02/22-rdf-syntax-ns#first>" in nquads
    assert '"-3.5E-1"^^<http://www.w3.org/2001/XMLSchema#double>' in nquads


def test_content_map_is_language_tagged() -> None:
    """contentMap (a @language container) yields an @en literal."""
    nquads = jsonld.to_rdf(create_note())
    assert '"@en .' in nquads.replace('"@en <', '"@en .') or '"@en .\n' in nquads
