"""The QC fails the build: the shipped ontology and rules pass, and each kind of broken copy fails.

Each broken copy is the real ontology (or the real rules as data) with one thing
broken, so that a check that passes everything cannot pass these tests.
"""

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from reasoner.errors import RuleError
from reasoner.knowledge import rules_graph
from reasoner.namespaces import DCTERMS, HK, HKR
from reasoner.qc import check_ontology, check_profile, check_queries, check_rules, ontology_graph
from reasoner.rules import RuleSet, parse_rule

SKOS_DEFINITION = URIRef("http://www.w3.org/2004/02/skos/core#definition")
PROV = "http://www.w3.org/ns/prov#"

BROKEN_TERM = """
@prefix hk: <https://w3id.org/hipaa-kg/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
hk:BrokenTerm a owl:Class ; rdfs:subClassOf hk:NoSuchClass ; dcterms:source hk:NotAProvision .
"""


@pytest.fixture(scope="module")
def written() -> Graph:
    """The ontology as written; each test breaks a copy."""
    return ontology_graph()


def copy(graph: Graph) -> Graph:
    broken = Graph()
    broken += graph
    broken.namespace_manager = graph.namespace_manager
    return broken


def about(problems: list[str], term: URIRef, short: str) -> list[str]:
    return [p for p in problems if p.startswith((str(term), short))]


def test_the_ontology_passes_its_own_checks(written):
    assert check_ontology(written) == []


def test_the_qc_queries_find_nothing_in_the_ontology_and_the_rules(reasoner, written):
    graph = copy(written)
    graph += rules_graph(reasoner.ontology, reasoner.rules)
    assert check_queries(graph) == []


def test_rules_cite_described_provisions_and_declared_terms(reasoner):
    assert check_rules(reasoner.ontology, reasoner.rules) == []


def test_a_broken_term_fails_the_checks():
    """A term without label or definition, with an undeclared superclass and a bad source, is caught."""
    problems = check_ontology(ontology_graph(Graph().parse(data=BROKEN_TERM, format="turtle")))
    messages = " | ".join(about(problems, HK.BrokenTerm, "hk:BrokenTerm"))
    assert "rdfs:label" in messages
    assert "skos:definition" in messages
    assert "not declared" in messages
    assert "does not describe" in messages


def test_a_term_without_its_definition_fails_the_shapes_and_the_queries(written):
    broken = copy(written)
    assert (HK.Disclosure, SKOS_DEFINITION, None) in broken
    broken.remove((HK.Disclosure, SKOS_DEFINITION, None))
    problems = check_ontology(broken)
    assert problems and all(p.startswith(str(HK.Disclosure)) for p in problems), problems
    assert "skos:definition" in problems[0]
    found = check_queries(broken)
    assert found == [f"queries/qc/terms-without-definition-or-source-violation.rq: {HK.Disclosure} a definition"]


def test_a_term_without_its_source_fails(written):
    broken = copy(written)
    broken.remove((HK.Treatment, DCTERMS.source, None))
    assert about(check_ontology(broken), HK.Treatment, "hk:Treatment")
    assert any("a source" in p for p in check_queries(broken))


def test_a_paragraph_without_its_text_fails(written):
    paragraph = URIRef("https://w3id.org/hipaa-kg/provision/45-CFR-164.506-c-2")
    broken = copy(written)
    assert (paragraph, HK.text, None) in broken
    broken.remove((paragraph, HK.text, None))
    assert any("hk:text" in p for p in about(check_ontology(broken), paragraph, "hkp:"))
    assert check_queries(broken) == [f"queries/qc/paragraphs-without-text-violation.rq: {paragraph} its text"]


def test_a_dangling_superclass_in_hk_fails(written):
    broken = copy(written)
    broken.add((HK.Disclosure, RDFS.subClassOf, HK.Disclosur))
    problems = check_ontology(broken)
    assert any("not declared" in p for p in about(problems, HK.Disclosure, "hk:Disclosure")), problems
    assert any(str(HK.Disclosur) in p for p in check_queries(broken))


def test_a_misspelt_superclass_from_another_vocabulary_fails(written):
    """prov:Entity is a term of PROV-O; prov:Entiti is not, though it is in PROV-O's namespace."""
    finding = HK.Finding
    assert (finding, RDFS.subClassOf, URIRef(PROV + "Entity")) in written
    broken = copy(written)
    broken.remove((finding, RDFS.subClassOf, URIRef(PROV + "Entity")))
    broken.add((finding, RDFS.subClassOf, URIRef(PROV + "Entiti")))
    problems = check_ontology(broken)
    assert len(problems) == 1 and "prov:Entiti" in problems[0] and "known vocabulary" in problems[0], problems


def union(graph: Graph, *members) -> BNode:
    node, members_node = BNode(), BNode()
    Collection(graph, members_node, list(members))
    graph.add((node, OWL.unionOf, members_node))
    return node


def restriction(graph: Graph, prop, constructor, value) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, OWL.Restriction))
    graph.add((node, OWL.onProperty, prop))
    graph.add((node, constructor, value))
    return node


def test_a_union_as_superclass_is_outside_owl_rl(written):
    broken = copy(written)
    broken.add((HK.Disclosure, RDFS.subClassOf, union(broken, HK.Use, HK.Party)))
    assert check_profile(broken) == [
        "hk:Disclosure rdfs:subClassOf: owl:unionOf in a superclass expression is outside OWL 2 RL"
    ]
    assert check_ontology(broken) == check_profile(broken)


def test_a_union_as_subclass_is_within_owl_rl(written):
    """The same union on the other side of rdfs:subClassOf is OWL 2 RL: the check knows the positions."""
    broken = copy(written)
    broken.add((union(broken, HK.Use, HK.Disclosure), RDFS.subClassOf, HK.Act))
    assert check_profile(broken) == []


@pytest.mark.parametrize(
    ("constructor", "value", "message"),
    [
        (OWL.someValuesFrom, HK.Individual, "owl:someValuesFrom in a superclass expression"),
        (OWL.minCardinality, Literal(1), "a minimum cardinality"),
        (OWL.cardinality, Literal(1), "an exact cardinality"),
        (OWL.maxCardinality, Literal(2), "a maximum cardinality of 2 (only 0 or 1)"),
    ],
    ids=["someValuesFrom", "minCardinality", "cardinality", "maxCardinality-2"],
)
def test_a_restriction_outside_owl_rl_fails(written, constructor, value, message):
    broken = copy(written)
    broken.add((HK.Disclosure, RDFS.subClassOf, restriction(broken, HK.about, constructor, value)))
    assert check_profile(broken) == [f"hk:Disclosure rdfs:subClassOf: {message} is outside OWL 2 RL"]


def test_a_maximum_cardinality_of_one_is_within_owl_rl(written):
    broken = copy(written)
    broken.add((HK.Disclosure, RDFS.subClassOf, restriction(broken, HK.about, OWL.maxCardinality, Literal(1))))
    assert check_profile(broken) == []


def test_a_complement_as_subclass_and_owl_thing_as_superclass_fail(written):
    broken = copy(written)
    complement = BNode()
    broken.add((complement, OWL.complementOf, HK.Use))
    broken.add((complement, RDFS.subClassOf, HK.Party))
    broken.add((HK.Party, RDFS.subClassOf, OWL.Thing))
    problems = check_profile(broken)
    assert any("owl:complementOf in a subclass expression" in p for p in problems)
    assert "hk:Party rdfs:subClassOf: owl:Thing as a superclass is outside OWL 2 RL" in problems


def test_a_range_outside_the_owl_rl_datatypes_fails(written):
    """OWL 2 RL's datatypes are those of section 4.3: xsd:gYear is not one."""
    broken = copy(written)
    ranged = next(iter(written.subjects(RDF.type, OWL.DatatypeProperty)))
    broken.remove((ranged, RDFS.range, None))
    broken.add((ranged, RDFS.range, URIRef("http://www.w3.org/2001/XMLSchema#gYear")))
    problems = check_profile(broken)
    assert len(problems) == 1 and "xsd:gYear is outside OWL 2 RL" in problems[0], problems


def test_a_reflexive_property_fails(written):
    broken = copy(written)
    broken.add((HK.about, RDF.type, OWL.ReflexiveProperty))
    assert check_profile(broken) == ["hk:about rdf:type: a reflexive property is outside OWL 2 RL"]


def test_an_incomplete_header_fails(written):
    broken = copy(written)
    ontology = URIRef(str(HK))
    broken.remove((ontology, DCTERMS.license, None))
    broken.remove((ontology, OWL.versionIRI, None))
    problems = check_ontology(broken)
    assert len(problems) == 2, problems
    assert any("dcterms:license" in p for p in problems) and any("owl:versionIRI" in p for p in problems)


def test_a_rule_without_a_provision_is_refused(reasoner):
    text = "#+ summary: A rule that rests on nothing.\nPREFIX hk: <https://w3id.org/hipaa-kg/>\n"
    text += "CONSTRUCT { ?act a hk:Permission } WHERE { ?act a hk:Disclosure }"
    with pytest.raises(RuleError, match="no '#\\+ provision:' line"):
        parse_rule("nothing", text, reasoner.ontology)


def test_a_rule_citing_no_described_provision_fails(reasoner):
    text = "#+ summary: A rule that cites a paragraph that does not exist.\n#+ provision: 45 CFR 164.599(z)\n"
    text += "PREFIX hk: <https://w3id.org/hipaa-kg/>\nCONSTRUCT { ?act a hk:Permission } WHERE { ?act a hk:Disclosure }"
    rule = parse_rule("no-such-paragraph", text, reasoner.ontology)
    problems = check_rules(reasoner.ontology, RuleSet([[rule]], set(), None))
    assert problems == ["queries/rules/no-such-paragraph.rq: '#+ provision: 45 CFR 164.599(z)' is no provision's label"]


def test_a_rule_whose_sources_are_gone_fails_the_queries(reasoner, written):
    graph = copy(written)
    graph += rules_graph(reasoner.ontology, reasoner.rules)
    rule = HKR["164.506-c-2"]
    assert (rule, DCTERMS.source, None) in graph
    graph.remove((rule, DCTERMS.source, None))
    assert check_queries(graph) == [f"queries/qc/rules-without-provision-violation.rq: {rule}"]
