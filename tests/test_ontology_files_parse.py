"""Every Turtle file of the ontology parses."""

from pathlib import Path

import pytest
from rdflib import Graph

FILES = sorted((Path(__file__).resolve().parents[1] / "ontology").rglob("*.ttl"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_turtle_parses(path):
    assert len(Graph().parse(path, format="turtle")) > 0
