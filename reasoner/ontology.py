"""The ontology: its terms, its OWL RL closure, and the provisions.

The closure of the terms (owlrl) is computed once and cached on disk (cache.py),
keyed by the bytes of the term files and the rdflib and owlrl versions, beside
the parsed provisions; it is never computed over scenario data. Scenario nodes get their ancestor types from it (see
``Ontology.ancestors``), and defined classes such as covered entity are
derived by rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef

from .cache import cached_graphs
from .namespaces import DCTERMS, HK, HKP, SCHEMA
from .resources import ontology_file

PROVISION_FILES = ("provisions.ttl", "coverage.ttl")


def term_files() -> list[str]:
    """The Turtle files of terms: every ontology/*.ttl but the provision files (shapes have a folder of their own)."""
    found = [f.name for f in ontology_file().iterdir() if f.name.endswith(".ttl") and f.name not in PROVISION_FILES]
    return sorted(found)


@dataclass(frozen=True)
class Provision:
    """A CFR paragraph, definition or section, or an OCR FAQ."""

    iri: URIRef
    label: str
    citation: str | None
    text: str
    url: str | None
    parent: URIRef | None

    @property
    def depth(self) -> int:
        """How deep the paragraph sits: 164.506(c)(2) is 2, 164.502(a)(1)(iv) is 3."""
        return self.citation.count("(") if self.citation else 0


class Ontology:
    """The terms, their closure, and the provisions, loaded once per process."""

    def __init__(self) -> None:
        terms = [(name, ontology_file(name).read_bytes()) for name in term_files()]
        self.terms, self.closure = cached_graphs("closure", terms, lambda: _closure(_parsed(terms)))
        provisions = [(name, ontology_file(name).read_bytes()) for name in PROVISION_FILES]
        self.sources = terms + provisions  # the files read (name, bytes): what is computed from them is keyed by them
        (self.provision_graph,) = cached_graphs("provisions", provisions, lambda: (_parsed(provisions),))
        self.ancestors = _ancestors(self.closure)
        self.classes = {c for c in self.closure.subjects(RDF.type, OWL.Class) if str(c).startswith(HK)}
        self.properties = {
            p
            for kind in (OWL.ObjectProperty, OWL.DatatypeProperty)
            for p in self.closure.subjects(RDF.type, kind)
            if str(p).startswith(HK)
        }
        self.nodes = frozenset(x for t in self.closure for x in (t[0], t[2]) if isinstance(x, URIRef))  # its terms
        self.provisions = _provisions(self.provision_graph)
        self.finding_kinds = {
            kind: (str(self.closure.value(kind, HK.decision)), int(rank))
            for kind, rank in self.closure.subject_objects(HK.precedence)
        }

    def types_with_ancestors(self, classes) -> set[URIRef]:
        """The given classes and every class above them."""
        found = set()
        for c in classes:
            found.add(c)
            found |= self.ancestors.get(c, frozenset())
        return found

    def is_a(self, cls: URIRef, ancestor: URIRef) -> bool:
        return cls == ancestor or ancestor in self.ancestors.get(cls, frozenset())

    def provision(self, iri: URIRef) -> Provision:
        found = self.provisions.get(iri)
        if found is None:
            raise KeyError(f"no provision {iri} in ontology/provisions.ttl")
        return found

    def provision_by_label(self, label: str) -> Provision:
        """The provision whose label is ``label``: a citation, or a definition's label."""
        if not hasattr(self, "_by_label"):
            self._by_label = {p.label: p for p in self.provisions.values()}
        found = self._by_label.get(label)
        if found is None:
            raise KeyError(f"no provision labelled {label!r} in ontology/provisions.ttl")
        return found

    def term_index(self) -> Graph:
        """The declarations and class tree alone: what validation needs to know the terms."""
        index = Graph()
        for s, p, o in self.closure:
            if (
                p in (RDF.type, RDFS.subClassOf, RDFS.subPropertyOf, RDFS.range)
                and isinstance(s, URIRef)
                and isinstance(o, URIRef)
            ):
                index.add((s, p, o))
        return index

    def label(self, term: URIRef) -> str:
        value = self.terms.value(term, RDFS.label)
        return str(value) if value is not None else term.split("/")[-1]


def _parsed(files: list[tuple[str, bytes]]) -> Graph:
    """One graph of the Turtle files (name, bytes)."""
    graph = Graph()
    for _, data in files:
        graph.parse(data=data.decode("utf-8"), format="turtle")
    return graph


def _closure(terms: Graph) -> tuple[Graph, Graph]:
    """The terms and their OWL RL closure."""
    import owlrl  # only when the closure is not cached

    closure = Graph()
    closure += terms
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closure)
    for triple in [t for t in closure if isinstance(t[0], Literal)]:
        closure.remove(triple)  # owlrl types literals ("10" a xsd:integer): not RDF, and not ours
    return terms, closure


def _ancestors(closure: Graph) -> dict[URIRef, frozenset[URIRef]]:
    """Every named class above each named class of the closure (owl:Thing aside)."""
    above: dict[URIRef, set[URIRef]] = {}
    for sub, sup in closure.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and sub != sup and sup != OWL.Thing:
            above.setdefault(sub, set()).add(sup)
    return {c: frozenset(s) for c, s in above.items()}


def _provisions(graph: Graph) -> dict[URIRef, Provision]:
    found = {}
    for iri in set(graph.subjects(RDFS.label, None)):
        if not str(iri).startswith(HKP):
            continue
        citation = graph.value(iri, HK.citation)
        found[iri] = Provision(
            iri=iri,
            label=str(graph.value(iri, RDFS.label)),
            citation=str(citation) if citation is not None else None,
            text=str(graph.value(iri, HK.text) or ""),
            url=_str(graph.value(iri, SCHEMA.url)),
            parent=graph.value(iri, DCTERMS.isPartOf),
        )
    return found


def _str(value) -> str | None:
    return None if value is None else str(value) if not isinstance(value, Literal) else value.toPython()


@cache
def load_ontology() -> Ontology:
    """The ontology, loaded once per process."""
    return Ontology()
