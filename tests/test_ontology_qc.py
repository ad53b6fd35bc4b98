"""The ontology checks itself (ontology/shapes/ontology.ttl) and the rules cite what it describes."""

from rdflib import Graph

from reasoner.qc import check_ontology, check_rules, ontology_graph

BROKEN_TERM = """
@prefix hk: <https://w3id.org/hipaa-kg/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
hk:BrokenTerm a owl:Class ; rdfs:subClassOf hk:NoSuchClass ; dcterms:source hk:NotAProvision .
"""


def test_the_ontology_passes_its_own_checks():
    assert check_ontology() == []


def test_a_broken_term_fails_the_checks():
    """A term without label or definition, with an undeclared superclass and a bad source, is caught."""
    problems = check_ontology(ontology_graph(Graph().parse(data=BROKEN_TERM, format="turtle")))
    broken = [p for p in problems if p.startswith("https://w3id.org/hipaa-kg/BrokenTerm")]
    messages = " | ".join(broken)
    assert "rdfs:label" in messages
    assert "skos:definition" in messages
    assert "not declared" in messages
    assert "does not describe" in messages


def test_rules_cite_described_provisions_and_declared_terms(reasoner):
    assert check_rules(reasoner.ontology, reasoner.rules) == []
