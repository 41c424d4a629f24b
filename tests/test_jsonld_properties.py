"""Property tests: canonicalization of random small datasets.

The canonical form must not depend on quad order or blank node labels, and
must equal pyld's URDNA2015 (which agrees with RDFC-1.0 on SHA-256 outside
pyld's escaping bug, avoided here by plain literals).
"""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld_jsonld

from wildebeest_trio import jsonld

NODES = [f"_:n{i}" for i in range(6)] + ["<urn:ex:a>", "<urn:ex:b>"]
PREDICATES = ["<urn:ex:p>", "<urn:ex:q>"]
OBJECTS = [*NODES, '"x"', '"y"@en', '"1"^^<http://www.w3.org/2001/XMLSchema#integer>']
GRAPHS = ["", " <urn:ex:g>", " _:g"]

quad = st.tuples(
    st.sampled_from(NODES),
    st.sampled_from(PREDICATES),
    st.sampled_from(OBJECTS),
    st.sampled_from(GRAPHS),
)
datasets = st.lists(quad, min_size=1, max_size=12)


def _nquads(quads: list[tuple[str, str, str, str]]) -> str:
    """Quads as N-Quads text."""
    return "".join(f"{s} {p} {o}{g} .\n" for s, p, o, g in quads)


@settings(max_examples=150, deadline=None)
@given(datasets, st.randoms(use_true_random=False))
def test_order_and_labels_do_not_matter(
    quads: list[tuple[str, str, str, str]], rnd: random.Random
) -> None:
    """Shuffled quads with renamed blank nodes canonicalize identically."""
    original = jsonld.canonicalize_nquads(_nquads(quads))
    names = [f"_:n{i}" for i in range(6)] + ["_:g"]
    renamed = dict(zip(names, rnd.sample([f"_:r{i}" for i in range(7)], 7), strict=True))

    def rename(term: str) -> str:
        """The term with its blank node label replaced."""
        for old, new in renamed.items():
            if term.strip() == old:
                return term.replace(old, new)
        return term

    other = [tuple(rename(t) for t in q) for q in quads]
    rnd.shuffle(other)
    assert jsonld.canonicalize_nquads(_nquads(other)) == original  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(datasets)
def test_equals_pyld(quads: list[tuple[str, str, str, str]]) -> None:
    """Our canonical N-Quads are pyld's URDNA2015 output (self-loops aside)."""
    # pyld lists a quad twice for a blank node that occurs in it twice (see
    # test_self_loop_counts_once); datasets with such quads are left out.
    assume(not any(s.startswith("_:") and (s == o or s == g.strip()) for s, _, o, g in quads))
    assume(not any(o.startswith("_:") and o == g.strip() for _, _, o, g in quads))
    text = _nquads(quads)
    ours = jsonld.canonicalize_nquads(text)
    theirs = pyld_jsonld.normalize(
        text,
        {
            "algorithm": "URDNA2015",
            "inputFormat": "application/n-quads",
            "format": "application/n-quads",
        },
    )
    assert ours == theirs


def test_self_loop_counts_once() -> None:
    """A quad naming a blank node twice is one of its quads, not two.

    RDFC-1.0 maps each blank node to the quads it appears in (the reference
    implementation, rdf-canonize, keeps a set; Ruby's rdf-normalize, which
    Mastodon uses, skips repeats). pyld appends the quad once per occurrence,
    which changes the first-degree hash: here pyld swaps c14n0 and c14n1.
    By hand: hash(n0) = sha256("_:a <urn:ex:p> _:a .\\n_:a <urn:ex:p> _:z <urn:ex:g> .\\n")
    = 3bb08d4c... < hash(n1) = sha256("_:z <urn:ex:p> _:a <urn:ex:g> .\\n") = bf100295...
    """
    text = "_:n0 <urn:ex:p> _:n0 .\n_:n0 <urn:ex:p> _:n1 <urn:ex:g> .\n"
    assert jsonld.issued_identifiers(text) == {"n0": "c14n0", "n1": "c14n1"}
    assert jsonld.canonicalize_nquads(text) == (
        "_:c14n0 <urn:ex:p> _:c14n0 .\n_:c14n0 <urn:ex:p> _:c14n1 <urn:ex:g> .\n"
    )
