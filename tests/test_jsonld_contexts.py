"""The bundled contexts equal the published documents; others fail closed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.vectors import vectors_dir
from wildebeest_trio import _rust, jsonld


def _published() -> dict[str, Any]:
    """URL -> parsed published document, from the shared vectors."""
    root = vectors_dir("contexts")
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    return {
        url: json.loads((root / e["file"]).read_text(encoding="utf-8")) for url, e in index.items()
    }


def test_every_bundled_context_equals_the_published_one() -> None:
    """Each bundled document parses to exactly the published JSON."""
    published = _published()
    assert sorted(_rust.jsonld_bundled_urls()) == sorted(published)
    for url, doc in published.items():
        bundled = _rust.jsonld_bundled_context(url)
        assert bundled is not None, url
        assert json.loads(bundled) == doc, url


def test_identity_v1_is_exactly_as_published() -> None:
    """identity v1 (needed for RsaSignature2017 options) is defined as published."""
    published = _published()["https://w3id.org/identity/v1"]
    bundled = json.loads(_rust.jsonld_bundled_context("https://w3id.org/identity/v1"))
    assert bundled == published
    assert bundled["@context"]["creator"] == {"@id": "dc:creator", "@type": "@id"}


@pytest.mark.parametrize(
    "url",
    [
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams#",
        "https://www.w3.org/ns/activitystreams.jsonld",
    ],
)
def test_activitystreams_aliases(url: str) -> None:
    """Spellings of the ActivityStreams URL seen in the wild resolve too."""
    assert _rust.jsonld_bundled_context(url) is not None


def test_unknown_remote_context_is_an_error_naming_it() -> None:
    """A context that is neither bundled nor supplied is never fetched."""
    doc = {"@context": "https://unknown.example/ctx.jsonld", "name": "x"}
    with pytest.raises(
        jsonld.UnknownContext, match=re.escape("unknown.example/ctx.jsonld")
    ) as info:
        jsonld.to_rdf(doc)
    assert info.value.code == "loading remote context failed"
    assert isinstance(info.value, jsonld.JsonLdError)


def test_supplied_context_is_used() -> None:
    """`contexts` serves extra documents, as dicts or JSON text."""
    url = "https://custom.example/ns"
    doc = {"@context": url, "@id": "https://a.example/1", "name": "x"}
    ctx = {"@context": {"name": "https://custom.example/ns#name"}}
    expected = '<https://a.example/1> <https://custom.example/ns#name> "x" .\n'
    assert jsonld.to_rdf(doc, contexts={url: ctx}) == expected
    assert jsonld.to_rdf(doc, contexts={url: json.dumps(ctx)}) == expected
