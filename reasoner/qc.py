"""Quality checks of the ontology itself (ontology/shapes/ontology.ttl), and of the rules against it.

``check_ontology`` returns one line per problem; an empty list means the
ontology passes. tests/test_ontology_qc.py fails the build on any line.
"""

from __future__ import annotations

from pyshacl import validate as shacl_validate
from rdflib import Graph

from .namespaces import SH
from .ontology import PROVISION_FILES, Ontology, term_files
from .resources import ontology_file
from .rules import RuleSet


def ontology_graph(extra: Graph | None = None) -> Graph:
    """The ontology as written (terms, decision vocabulary, provisions), not its closure."""
    graph = Graph()
    for name in term_files() + list(PROVISION_FILES):
        graph.parse(data=ontology_file(name).read_text(encoding="utf-8"), format="turtle")
    if extra is not None:
        graph += extra
    return graph


def check_ontology(graph: Graph | None = None) -> list[str]:
    """The results of the ontology shapes over ``graph`` (default: the shipped ontology)."""
    data = graph if graph is not None else ontology_graph()
    shapes = Graph().parse(data=ontology_file("shapes", "ontology.ttl").read_text("utf-8"), format="turtle")
    _, report, _ = shacl_validate(data, shacl_graph=shapes, advanced=True, inference="none")
    problems = []
    for result in report.subjects(SH.resultSeverity, None):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = report.value(result, SH.resultMessage)
        where = f"{focus}" + (f" {path}" if path is not None else "")
        problems.append(f"{where}: {message}" + (f" ({value})" if value is not None else ""))
    return sorted(problems)


def check_rules(ontology: Ontology, rules: RuleSet) -> list[str]:
    """Every rule cites provisions the ontology describes, and names only declared terms."""
    problems = []
    known = ontology.classes | ontology.properties | set(ontology.closure.subjects())
    for rule in rules.order:
        for label in rule.provisions:
            try:
                ontology.provision_by_label(label)
            except KeyError:
                problems.append(f"queries/rules/{rule.name}.rq: '#+ provision: {label}' is no provision's label")
        for guidance in rule.guidance:
            if guidance not in ontology.provisions:
                problems.append(f"queries/rules/{rule.name}.rq: '#+ guidance: {guidance}' is no provision")
        for term in rule.terms():
            if term not in known and term not in ontology.provisions:
                problems.append(f"queries/rules/{rule.name}.rq: {term} is not declared in the ontology")
    return problems
