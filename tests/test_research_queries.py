"""The research queries answer what they say (queries/research), and the QC queries find nothing (queries/qc)."""

from pathlib import Path

import pytest
from conftest import ROOT
from rdflib import Graph

from reasoner.knowledge import knowledge_graph
from reasoner.provenance import decision_graph
from reasoner.query import run_query
from reasoner.rules import read_header

RESEARCH = sorted((ROOT / "queries" / "research").glob("*.rq"))
QC = sorted((ROOT / "queries" / "qc").glob("*.rq"))


@pytest.fixture(scope="module")
def graph(reasoner) -> Graph:
    return knowledge_graph(reasoner.ontology, reasoner.rules)


def answer(reasoner, graph: Graph, path: Path, data: list[str]):
    combined = Graph()
    combined += graph
    for name in data:
        decision_graph(reasoner.ontology, reasoner.decide(ROOT / name).derivation, into=combined)
    return run_query(combined, path.read_text(encoding="utf-8"), path.name)


def test_there_are_at_least_twenty_research_queries():
    assert len(RESEARCH) >= 20


@pytest.mark.parametrize("path", RESEARCH, ids=lambda p: p.stem)
def test_research_query_gives_its_expected_answer(reasoner, graph, path):
    header = read_header(path.read_text(encoding="utf-8"))
    assert header.get("summary"), "a research query says what it asks"
    expected = header.get("expect", [])
    result = answer(reasoner, graph, path, header.get("data", []))
    found = [str(row[0]) for row in result.rows]
    assert found == ([] if expected == ["nothing"] else expected)


@pytest.mark.parametrize("path", QC, ids=lambda p: p.stem)
def test_qc_query_finds_nothing(reasoner, graph, path):
    assert path.stem.endswith("-violation"), "a QC query's name says it must find nothing"
    assert answer(reasoner, graph, path, []).rows == []
