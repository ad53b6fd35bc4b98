"""Run the rules over a scenario: one loop, two stores (pyoxigraph and rdflib).

Each rule's WHERE clause runs as ``SELECT DISTINCT *``; the engine fills the
rule's template with every solution, so that each firing keeps the bindings
it fired on (the provenance of what it derived). Ancestor types of derived
``rdf:type`` triples come from the ontology's closure. Rules run in the
order of ``RuleSet.groups``; a recursive group runs until nothing new is
derived.

Only the rules in force on the evaluation date run: the date is a fact
(``hk:Evaluation hk:asOf``, default today), and ``RuleSet.in_force`` says which
rules were in force on it. A rule not in force is still matched, once, against
what the others derived, so that the record can say which rules would have
applied had they been in force (``Derivation.not_in_force``); what it would
derive is never added.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef, Variable
from rdflib.plugins.sparql import prepareQuery

from .namespaces import HK, PREFIXES
from .ontology import Ontology
from .rules import Rule, RuleSet
from .threads import RDFLIB_PARSER

ENGINES = ("oxigraph", "rdflib")
SCENARIO_GRAPH = "urn:hipaa-kg:scenario"


@dataclass
class Firing:
    """One rule applied to one set of bindings, and what it derived."""

    rule: Rule
    bindings: dict[str, object]
    triples: list[tuple]


@dataclass
class Derivation:
    """The scenario's facts with everything the rules derived, and how."""

    graph: Graph
    firings: list[Firing] = field(default_factory=list)
    as_of: dt.date | None = None  # the evaluation date whose rules ran
    not_in_force: list[Firing] = field(default_factory=list)  # matches of rules not in force then (nothing derived)


class Engine:
    """Decides scenarios with one store kind; the ontology is loaded into it once."""

    def __init__(self, ontology: Ontology, rules: RuleSet, store: str = "oxigraph"):
        if store not in ENGINES:
            raise ValueError(f"unknown engine {store!r} (known: {', '.join(ENGINES)})")
        self.name = store
        self.ontology = ontology
        self.rules = rules
        self._local = threading.local()  # one store a thread: a store holds the facts being derived

    @property
    def store(self):
        """This thread's store, with the ontology loaded and the rules prepared."""
        store = getattr(self._local, "store", None)
        if store is None:
            closure = self.ontology.closure
            store = OxigraphStore(closure) if self.name == "oxigraph" else RdflibStore(closure)
            with RDFLIB_PARSER:
                store.prepare(self.rules.order)
            self._local.store = store
        return store

    def derive(self, data: Graph) -> Derivation:
        as_of = evaluation_date(data)
        active = self.rules.in_force(as_of)
        result = Graph()
        result += data
        firings: list[Firing] = []
        dormant: list[Firing] = []
        store = self.store
        store.begin(data)
        try:
            for group in self.rules.groups:
                recursive = group[0].name in self.rules.recursive
                first = True
                while True:
                    added = 0
                    for rule in group:
                        if rule.name not in active:
                            if first:
                                dormant += [Firing(rule, row, []) for row in store.select(rule)]
                            continue
                        for row in store.select(rule):
                            triples = self._instantiate(rule.template, row)
                            new = [t for t in self._with_ancestor_types(triples) if t not in result]
                            if recursive and not new:
                                continue
                            firings.append(Firing(rule, row, triples))
                            for t in new:
                                result.add(t)
                            store.add(new)
                            added += len(new)
                    first = False
                    if not recursive or added == 0:
                        break
        finally:
            store.end()
        return Derivation(result, firings, as_of, dormant)

    def _instantiate(self, template: list[tuple], row: dict[str, object]) -> list[tuple]:
        fresh: dict[BNode, BNode] = {}
        triples = []
        for pattern in template:
            triple = []
            for term in pattern:
                if isinstance(term, Variable):
                    term = row.get(str(term))
                elif isinstance(term, BNode):
                    term = fresh.setdefault(term, BNode())
                triple.append(term)
            s, p, o = triple
            if s is None or p is None or o is None or isinstance(s, Literal):
                continue
            triples.append((s, p, o))
        return triples

    def _with_ancestor_types(self, triples: list[tuple]) -> list[tuple]:
        found = list(triples)
        for s, p, o in triples:
            if p == RDF.type and isinstance(o, URIRef):
                found += [(s, RDF.type, a) for a in sorted(self.ontology.ancestors.get(o, ()))]
        return found


def evaluation_date(data: Graph) -> dt.date:
    """The date whose rules apply: the hk:asOf of the evaluation node in the facts, or today."""
    for evaluation in data.subjects(RDF.type, HK.Evaluation):
        value = data.value(evaluation, HK.asOf)
        if value is not None and isinstance(value.toPython(), dt.date):
            return value.toPython()
    return dt.date.today()


class RdflibStore:
    """rdflib: the ontology and the scenario copied into one graph per scenario."""

    def __init__(self, base: Graph):
        self.base = base
        self.queries: dict[str, object] = {}
        self.graph: Graph | None = None

    def prepare(self, rules: list[Rule]) -> None:
        self.queries = {r.name: prepareQuery(r.select, initNs=PREFIXES) for r in rules}

    def begin(self, data: Graph) -> None:
        self.graph = Graph()
        self.graph += self.base
        self.graph += data

    def select(self, rule: Rule):
        for row in self.graph.query(self.queries[rule.name]):
            yield {str(k): v for k, v in row.asdict().items()}

    def add(self, triples: list[tuple]) -> None:
        for t in triples:
            self.graph.add(t)

    def end(self) -> None:
        self.graph = None


class OxigraphStore:
    """pyoxigraph: the ontology in the default graph, the scenario in a named graph."""

    def __init__(self, base: Graph):
        self.db = ox.Store()
        self.db.extend(ox.Quad(*map(to_ox, t), ox.DefaultGraph()) for t in base)
        self.scenario = ox.NamedNode(SCENARIO_GRAPH)
        self.queries: dict[str, str] = {}

    def prepare(self, rules: list[Rule]) -> None:
        self.queries = {r.name: r.select for r in rules}

    def begin(self, data: Graph) -> None:
        self.add(list(data))

    def select(self, rule: Rule):
        solutions = self.db.query(self.queries[rule.name], use_default_graph_as_union=True)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = from_ox(value)
            yield row

    def add(self, triples: list[tuple]) -> None:
        self.db.extend(ox.Quad(*map(to_ox, t), self.scenario) for t in triples)

    def end(self) -> None:
        self.db.remove_graph(self.scenario)


def to_ox(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))


def from_ox(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return Literal(term.value, datatype=None if datatype == str(XSD.string) else URIRef(datatype))
