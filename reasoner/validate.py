"""Validate a scenario against the shapes of ontology/shapes/scenario.ttl (pyshacl)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pyoxigraph as ox
from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Literal, URIRef

from .engine import Names, from_ox, shared_nodes, to_ox
from .errors import shown
from .namespaces import HK, HKS, SH
from .ontology import Ontology
from .resources import ontology_file
from .scenario import Scenario
from .threads import RDFLIB_PARSER

IN_SCENARIO = URIRef("urn:hipaa-kg:in-scenario")
TRUE = Literal(True)


@dataclass
class Violation:
    """One SHACL result, in the scenario's own ids."""

    focus: str
    path: str | None
    value: str | None
    message: str
    severity: str
    line: int | None = None

    def as_dict(self) -> dict:
        found = {"focusNode": self.focus, "path": self.path, "message": self.message, "severity": self.severity}
        if self.value is not None:
            found["value"] = self.value
        if self.line is not None:
            found["line"] = self.line
        return found

    def one_line(self, source: str) -> str:
        """The violation on one line: the file, line, node, property and message (never a literal value)."""
        where = f"{source}:{self.line}" if self.line else source
        path = f" {shown(self.path)}:" if self.path else ""
        return f"{where}: {self.severity.lower()}: node '{shown(self.focus)}':{path} {shown(self.message, 400)}"


class Validator:
    """The scenario shapes and the term index, loaded once."""

    def __init__(self, ontology: Ontology):
        self.ontology = ontology
        self.shapes = Graph().parse(data=ontology_file("shapes", "scenario.ttl").read_text("utf-8"), format="turtle")
        self.targets = _sparql_targets(self.shapes)
        self.terms = ontology.term_index()
        self.described = set(self.terms.subjects())
        self.shared = shared_nodes(ontology)
        self.names = {str(t)[len(HK) :]: t for t in ontology.classes | ontology.properties}

    def validate(self, scenario: Scenario, typed: Graph) -> list[Violation]:
        """Validate the typed facts; return the results, Violations first."""
        return self.validate_many([(scenario, typed)])[0]

    def validate_many(self, scenarios: list[tuple[Scenario, Graph]]) -> list[list[Violation]]:
        """Validate many scenarios' typed facts in one run of pySHACL; each one's results, Violations first.

        Each scenario's nodes take fresh names (as the engine's worlds do), so that two files
        never share a node; the results are given back under the scenario's own names. Only the
        term declarations the facts name are added to them: all that the shapes read of the terms.
        """
        data = Graph()
        shapes = Graph()
        shapes += self.shapes
        names = Names(self.shared, len(scenarios))
        used = set()
        for k, (scenario, typed) in enumerate(scenarios):
            for t in typed:
                data.add(names.rename(k, t))
                used.update((t[1], t[2]))
            for node in set(scenario.graph.subjects()):
                node = names.fresh(k, node)
                shapes.add((HKS.ScenarioNode, SH.targetNode, node))
                data.add((node, IN_SCENARIO, TRUE))  # where the SPARQL targets start (shapes/scenario.ttl)
        for term in used & self.described:
            data += self.terms.triples((term, None, None))
        store = ox.Store()
        store.extend(ox.Quad(*map(to_ox, t), ox.DefaultGraph()) for t in data)
        for shape, query in self.targets:
            for row in store.query(query):
                shapes.add((shape, SH.targetNode, from_ox(row[0])))
        with RDFLIB_PARSER:  # pySHACL parses the shapes' SPARQL at every run
            _, report, _ = shacl_validate(
                data, shacl_graph=shapes, advanced=True, allow_warnings=True, inference="none", inplace=True
            )
        found: list[list[Violation]] = [[] for _ in scenarios]
        for result in report.subjects(SH.resultSeverity, None):
            k, focus = names.back.get(report.value(result, SH.focusNode), (0, report.value(result, SH.focusNode)))
            scenario = scenarios[k][0]
            path = report.value(result, SH.resultPath)
            value = names.original(report.value(result, SH.value))
            message = str(report.value(result, SH.resultMessage) or "does not conform")
            if isinstance(value, URIRef) and message.startswith("unknown"):
                message = f"{message} '{shown(self._name(scenario, value))}'{self._suggest(value)}"
            found[k].append(
                Violation(
                    focus=self._name(scenario, focus),
                    path=self._name(scenario, path) if path is not None else None,
                    value=self._name(scenario, value) if isinstance(value, URIRef) else None,
                    message=message,
                    severity=str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
                    line=scenario.lines.get(scenario.local_id(focus)),
                )
            )
        for violations in found:
            violations.sort(key=lambda v: (v.severity != "Violation", v.line or 0, v.focus, v.path or "", v.message))
        return found

    def _name(self, scenario: Scenario, node) -> str:
        text = str(node)
        if text.startswith(HK):
            return text[len(HK) :]
        if scenario.base and text.startswith(scenario.base):
            return text[len(scenario.base) :]
        return text if isinstance(node, URIRef) else "(an unnamed node)"

    def _suggest(self, term: URIRef) -> str:
        name = str(term).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        close = difflib.get_close_matches(name, self.names, n=1, cutoff=0.6)
        if not close:
            lowered = {n.lower(): n for n in self.names}
            close = [lowered[name.lower()]] if name.lower() in lowered else []
        return f"; did you mean '{close[0]}'?" if close else ""


def _sparql_targets(shapes: Graph) -> list[tuple]:
    """The shapes' SPARQL targets (query texts), taken out of the shapes: ``validate`` runs them on Oxigraph.

    pyshacl parses a target's query anew at every validation, and rdflib evaluates it slowly,
    which took most of the time of validating; the queries and what they select are unchanged.
    """
    found = []
    for shape, target in list(shapes.subject_objects(SH.target)):
        if (target, RDF.type, SH.SPARQLTarget) not in shapes:
            continue
        namespaces = {
            str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
            for prefixes in shapes.objects(target, SH.prefixes)
            for d in shapes.objects(prefixes, SH.declare)
        }
        prefixes = "".join(f"PREFIX {p}: <{n}>\n" for p, n in sorted(namespaces.items()))
        found.append((shape, prefixes + str(shapes.value(target, SH.select))))
        shapes.remove((shape, SH.target, target))
        shapes.remove((target, None, None))
    return found
