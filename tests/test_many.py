"""One run of the rules decides many acts: the fast path gives the records of the one-at-a-time reference.

The fast path derives many scenarios in one store (each scenario node under a fresh name), and checks every
counterfactual of every act in one more run, each on a copy of the facts its act reaches. The reference derives
each scenario alone and checks each counterfactual by deriving the whole scenario again (decide.py,
``one_at_a_time``). Their records must be the same, byte for byte, on every scenario file.
"""

from __future__ import annotations

import json

import pytest
from conftest import scenario_files

from reasoner import Reasoner

FILES = scenario_files()


@pytest.fixture(scope="module")
def reference(reasoner) -> Reasoner:
    return Reasoner(ontology=reasoner.ontology, rules=reasoner.rules, one_at_a_time=True)


def _text(result) -> str:
    return json.dumps(result.as_dict(), sort_keys=True)


@pytest.fixture(scope="module")
def together(reasoner) -> dict:
    """Every scenario file decided in one call: one run of the rules per date for the files, one for the
    counterfactuals."""
    return {path: _text(r) for path, r in zip(FILES, reasoner.decide_many(FILES), strict=True)}


@pytest.mark.parametrize("index", range(0, len(FILES), 1))
def test_many_at_once_equals_one_at_a_time(together, reference, index):
    path = FILES[index]
    assert together[path] == _text(reference.decide(path)), path.name


def test_a_rule_that_joins_two_worlds_is_an_error(reasoner):
    """A firing that binds nodes of two worlds would mix scenarios: the engine refuses it."""
    from rdflib import Graph, URIRef

    from reasoner.engine import Names

    names = Names(reasoner.engine.shared, 2)
    a = names.rename(0, (URIRef("urn:x:a"), URIRef("urn:p"), URIRef("urn:x:b")))
    b = names.rename(1, (URIRef("urn:x:a"), URIRef("urn:p"), URIRef("urn:x:b")))
    assert a[0] != b[0]
    with pytest.raises(RuntimeError, match="joined 2 worlds"):
        names.owners({"x": a[0], "y": b[0]})
    assert isinstance(Graph(), Graph)
