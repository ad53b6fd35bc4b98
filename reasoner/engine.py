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
EVALUATION = URIRef("urn:hipaa-kg:evaluation")  # the node that carries the date whose rules apply (hk:asOf)


@dataclass
class Firing:
    """One rule applied to one set of bindings, and what it derived."""

    rule: Rule
    bindings: dict[str, object]
    triples: list[tuple]


@dataclass
class Derivation:
    """The scenario's facts with everything the rules derived, and how."""

    facts: Graph  # what was derived from (typed facts, with the evaluation date)
    derived: list[tuple] = field(default_factory=list)  # every triple the rules added, ancestor types included
    firings: list[Firing] = field(default_factory=list)
    as_of: dt.date | None = None  # the evaluation date whose rules ran
    not_in_force: list[Firing] = field(default_factory=list)  # matches of rules not in force then (nothing derived)
    _graph: Graph | None = field(default=None, repr=False)

    @property
    def graph(self) -> Graph:
        """The facts and what was derived, as one graph (built when first read)."""
        if self._graph is None:
            self._graph = Graph()
            self._graph += self.facts
            for t in self.derived:
                self._graph.add(t)
        return self._graph


class Engine:
    """Decides scenarios with one store kind; the ontology is loaded into it once.

    ``derive_many`` decides many fact graphs (*worlds*: scenario files, counterfactual
    candidates, the cases of an audit log) in one run of the rules: the worlds of one
    evaluation date are loaded into one store, each scenario node under a fresh name, and
    every rule runs once over all of them; each firing is then given back to the world its
    nodes belong to, under the world's own names. No rule joins two worlds (a firing that
    binds nodes of two worlds is an error), so each world's derivation is what deriving it
    alone gives (tests/test_many.py checks this on every scenario file).
    """

    def __init__(self, ontology: Ontology, rules: RuleSet, store: str = "oxigraph"):
        if store not in ENGINES:
            raise ValueError(f"unknown engine {store!r} (known: {', '.join(ENGINES)})")
        self.name = store
        self.ontology = ontology
        self.rules = rules
        self.shared = shared_nodes(ontology)
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
        return self.derive_many([data])[0]

    def derive_many(self, worlds: list) -> list[Derivation]:
        """Each world's derivation (a world: a Graph or a set of triples, typed and dated), from one run of
        the rules per evaluation date."""
        by_day: dict[dt.date, list[int]] = {}
        for i, world in enumerate(worlds):
            by_day.setdefault(evaluation_date(world), []).append(i)
        found: list[Derivation | None] = [None] * len(worlds)
        for day, indices in by_day.items():
            for i, derivation in zip(indices, self._pass([worlds[i] for i in indices], day), strict=True):
                found[i] = derivation
        return found

    def _pass(self, worlds: list, as_of: dt.date) -> list[Derivation]:
        """One run of the rules in force on ``as_of`` over the worlds, loaded together."""
        active = self.rules.in_force(as_of)
        names = Names(self.shared, len(worlds))
        facts = [names.rename(k, t) for k, world in enumerate(worlds) for t in world]
        seen = set(facts)
        results = [Derivation(world, as_of=as_of) for world in worlds]
        store = self.store
        store.begin(facts)
        try:
            for group in self.rules.groups:
                recursive = group[0].name in self.rules.recursive
                first = True
                while True:
                    added = 0
                    for rule in group:
                        if rule.name not in active:
                            if first:
                                for row in store.select(rule):
                                    for k, bindings in names.owners(row):
                                        results[k].not_in_force.append(Firing(rule, bindings, []))
                            continue
                        derived = []  # added to the store once the rule's solutions are read
                        for row in store.select(rule):
                            triples = self._instantiate(rule.template, row)
                            new = [t for t in self._with_ancestor_types(triples) if t not in seen]
                            if recursive and not new:
                                continue
                            seen.update(new)
                            derived += new
                            for k, bindings in names.owners(row, created=triples):
                                results[k].firings.append(Firing(rule, bindings, names.back_all(triples)))
                                results[k].derived += names.back_all(new)
                        store.add(derived)
                        added += len(derived)
                    first = False
                    if not recursive or added == 0:
                        break
        finally:
            store.end()
        return results

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


def shared_nodes(ontology: Ontology) -> frozenset:
    """The nodes every world of a pass shares, never renamed: the ontology's terms, and the one evaluation node."""
    return ontology.nodes | {EVALUATION}


class Names:
    """Fresh names for the scenario nodes of each world of a pass, and the way back.

    One world keeps its own names. With several, each node of world k that is not a
    shared term gets a name of its own (``urn:hipaa-kg:world:k:i``, or a fresh blank
    node), so that worlds never share a node; blank nodes the rules create belong to
    the world of the firing that created them.
    """

    def __init__(self, shared: set, count: int):
        self.shared = shared
        self.single = count == 1
        self.to: list[dict] = [{} for _ in range(count)]
        self.back: dict = {}  # fresh name -> (world, its own name)
        self.owner: dict = {}  # a blank node a rule created -> its world

    def rename(self, k: int, triple: tuple) -> tuple:
        if self.single:
            return triple
        s, p, o = triple
        return (self.fresh(k, s), p, self.fresh(k, o))

    def fresh(self, k: int, node):
        """The name of world k's node in the pass."""
        if self.single or isinstance(node, Literal) or node in self.shared:
            return node
        names = self.to[k]
        fresh = names.get(node)
        if fresh is None:
            fresh = URIRef(f"urn:hipaa-kg:world:{k}:{len(names)}") if isinstance(node, URIRef) else BNode()
            names[node] = fresh
            self.back[fresh] = (k, node)
        return fresh

    def owners(self, row: dict, created: list[tuple] = ()) -> list[tuple[int, dict]]:
        """The world(s) a firing belongs to, each with the bindings in its own names.

        A firing that binds no node of any world (only terms) belongs to every world.
        """
        if self.single:
            return [(0, row)]
        worlds = {self._world(v) for v in row.values()} - {None}
        if len(worlds) > 1:
            raise RuntimeError(f"a rule joined {len(worlds)} worlds: {sorted(map(str, row))}")
        k = worlds.pop() if worlds else None
        for s, _, o in created:  # the blank nodes this firing creates are its world's
            for x in (s, o):
                if isinstance(x, BNode) and x not in self.back and x not in self.owner:
                    self.owner[x] = k
        if k is None:
            return [(i, row) for i in range(len(self.to))]
        return [(k, {name: self._back(v) for name, v in row.items()})]

    def _world(self, node):
        found = self.back.get(node)
        return found[0] if found is not None else self.owner.get(node)

    def _back(self, node):
        found = self.back.get(node)
        return found[1] if found is not None else node

    def original(self, node):
        """A node under its own name (a term, or a node of no world, as it is)."""
        return self._back(node)

    def back_all(self, triples: list[tuple]) -> list[tuple]:
        if self.single:
            return triples
        return [(self._back(s), p, self._back(o)) for s, p, o in triples]


def evaluation_date(data) -> dt.date:
    """The date whose rules apply: the hk:asOf of the evaluation node in the facts, or today."""
    triples = data.triples((EVALUATION, HK.asOf, None)) if isinstance(data, Graph) else data
    for s, p, o in triples:
        if s == EVALUATION and p == HK.asOf and isinstance(o.toPython(), dt.date):
            return o.toPython()
    return dt.date.today()


class RdflibStore:
    """rdflib: the ontology and the scenario copied into one graph per scenario."""

    def __init__(self, base: Graph):
        self.base = base
        self.queries: dict[str, object] = {}
        self.graph: Graph | None = None

    def prepare(self, rules: list[Rule]) -> None:
        self.queries = {r.name: prepareQuery(r.select, initNs=PREFIXES) for r in rules}

    def begin(self, triples: list[tuple]) -> None:
        self.graph = Graph()
        self.graph += self.base
        for t in triples:
            self.graph.add(t)

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

    def begin(self, triples: list[tuple]) -> None:
        self.add(triples)

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
