"""Hostile or broken input gets a typed error quickly; heavy calls release the GIL."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from tests.jsonld_corpus import create_note
from wildebeest_trio import jsonld


def _clique(n: int) -> str:
    """N-Quads of an n-node clique of blank nodes (a "poison" graph)."""
    return "".join(f"_:n{i} <urn:ex:p> _:n{j} .\n" for i in range(n) for j in range(n) if i != j)


def test_poison_clique_fails_fast() -> None:
    """A 10-clique exceeds the work budget in well under a second."""
    start = time.perf_counter()
    with pytest.raises(jsonld.LimitExceeded) as info:
        jsonld.canonicalize_nquads(_clique(10))
    assert time.perf_counter() - start < 1.0
    assert info.value.code == "canonicalization work limit exceeded"


@pytest.mark.parametrize("n", [1000, 20000])
def test_long_ring_of_blank_nodes_fails_fast(n: int) -> None:
    """A long ring of look-alike blank nodes hits a bound, not the stack."""
    ring = "".join(f"_:n{i} <urn:ex:p> _:n{(i + 1) % n} .\n" for i in range(n))
    start = time.perf_counter()
    with pytest.raises(jsonld.LimitExceeded):
        jsonld.canonicalize_nquads(ring)
    assert time.perf_counter() - start < 5.0


def test_list_of_identical_items_canonicalizes() -> None:
    """An rdf:List of 50 equal values (a chain of look-alike nodes) is fine."""
    doc = {"@id": "urn:ex:s", "urn:ex:p": {"@list": ["same"] * 50}}
    assert jsonld.canonicalize(doc).count("\n") == 101


def test_small_clique_still_canonicalizes() -> None:
    """Symmetric but small blank node graphs are fine."""
    out = jsonld.canonicalize_nquads(_clique(4))
    assert out.count("\n") == 12
    assert "_:c14n3" in out


def test_poison_graph_in_json_ld_fails_fast() -> None:
    """The same clique written as JSON-LD fails fast through canonicalize."""
    n = 10
    nodes = [
        {"@id": f"_:n{i}", "urn:ex:p": [{"@id": f"_:n{j}"} for j in range(n) if j != i]}
        for i in range(n)
    ]
    start = time.perf_counter()
    with pytest.raises(jsonld.LimitExceeded):
        jsonld.canonicalize({"@graph": nodes})
    assert time.perf_counter() - start < 1.0


def _nested(depth: int) -> dict[str, Any]:
    """A document nested `depth` objects deep."""
    doc: dict[str, Any] = {"urn:ex:v": "leaf"}
    for _ in range(depth):
        doc = {"urn:ex:p": doc}
    return doc


@pytest.mark.parametrize("as_text", [False, True])
def test_depth_is_bounded(as_text: bool) -> None:
    """Deeply nested documents are refused, as dicts and as JSON text."""
    doc: Any = _nested(200)
    if as_text:
        doc = json.dumps(doc)
    with pytest.raises(jsonld.LimitExceeded, match="deep"):
        jsonld.to_rdf(doc)
    assert jsonld.to_rdf(_nested(20))


def test_size_is_bounded() -> None:
    """Documents over the size bound are refused before any work."""
    doc = {"@id": "urn:ex:s", "urn:ex:p": "x" * (2 << 20)}
    with pytest.raises(jsonld.LimitExceeded, match="too large"):
        jsonld.to_rdf(json.dumps(doc))
    many = {"@id": "urn:ex:s", "urn:ex:p": list(range(2 << 20))}
    with pytest.raises(jsonld.LimitExceeded, match="too large"):
        jsonld.to_rdf(many)


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        ("{not json", "loading document failed"),
        ({"@context": 5}, "invalid local context"),
        ({"@context": {"@vocab": 5}}, "invalid vocab mapping"),
        ({"@id": 5}, "invalid @id value"),
        (
            {"@id": "urn:ex:s", "urn:ex:p": {"@value": "x", "@type": "bad iri"}},
            "invalid typed value",
        ),
        (
            {"@context": {"a": {"@id": "urn:a", "@container": "@bogus"}}},
            "invalid container mapping",
        ),
    ],
)
def test_invalid_documents_are_typed(doc: Any, code: str) -> None:
    """Invalid JSON or JSON-LD raises InvalidDocument with the spec's code."""
    with pytest.raises(jsonld.InvalidDocument) as info:
        jsonld.to_rdf(doc)
    assert info.value.code == code


def test_unrepresentable_values_are_refused() -> None:
    """Objects JSON cannot hold are an InvalidDocument, not a crash."""
    with pytest.raises(jsonld.InvalidDocument):
        jsonld.to_rdf({"urn:ex:p": object()})
    with pytest.raises(jsonld.InvalidDocument):
        jsonld.to_rdf({"urn:ex:p": float("nan")})


def test_unknown_hash_algorithm() -> None:
    """Only SHA-256 and SHA-384 are offered."""
    with pytest.raises(jsonld.InvalidDocument):
        jsonld.canonicalize_nquads("", hash_algorithm="md5")


def test_heavy_calls_release_the_gil() -> None:
    """Python code keeps running while a canonicalization works in a thread."""
    clique = _clique(9)
    done = threading.Event()

    def work() -> None:
        """Spends a fixed work budget on a poison graph, then signals."""
        try:
            jsonld.canonicalize_nquads(clique, max_work=100_000)
        except jsonld.LimitExceeded:
            pass
        finally:
            done.set()

    thread = threading.Thread(target=work, daemon=True)
    ticks = 0
    start = time.perf_counter()
    thread.start()
    while not done.is_set():
        ticks += 1
    elapsed = time.perf_counter() - start
    thread.join()
    # Were the GIL held, this loop would advance only at the interpreter's
    # switch interval (a few hundred times a second), not millions.
    assert ticks / elapsed > 100_000, (ticks, elapsed)


async def test_usable_from_trio_threads() -> None:
    """The functions run in trio worker threads (how the server calls them)."""
    import trio

    doc = create_note()
    out = await trio.to_thread.run_sync(jsonld.canonicalize, doc)
    assert out == jsonld.canonicalize(doc)
