"""The knowledge graph a researcher queries: ontology, provisions, rules, references, decisions.

- the ontology's terms (with their closure) and the provisions;
- the rules as data (``rules_graph``): each rule is an ``hk:Rule`` and a
  ``prov:Plan``, with its summary, its provisions (``dcterms:source``), the kinds
  of finding it concludes (``hk:concludes``), its conditions, the terms it reads
  (``hk:mentions``) and its stratum;
- the cross-references between provisions (``references``): "as described in
  § 164.512(a)", "paragraph (c)(4) of this section", as ``dcterms:references``;
- the decision graph of each scenario decided (provenance.py).
"""

from __future__ import annotations

import re

import networkx as nx
from rdflib import RDF, Graph, Literal, URIRef

from .namespaces import DCTERMS, HK, HKP, PREFIXES
from .ontology import Ontology
from .provenance import describe_rule
from .rules import RuleSet

LEVEL = r"\([0-9a-zA-Z]{1,4}\)"
SECTION_REF = re.compile(rf"(?<![\w.])(\d{{3}}\.\d{{2,3}})((?:{LEVEL})*)")  # 164.512(a), also in "§§ a, b, and c"
LOCAL_REF = re.compile(  # "paragraph (c)(4) of this section", "paragraphs (b)(2), (b)(3), or (b)(5) of this section"
    rf"paragraphs?\s+((?:{LEVEL})+(?:(?:,\s*|,?\s*(?:and|or|through)\s+)(?:{LEVEL})+)*)\s+of this section"
)
PARTS = re.compile(r"\(([0-9a-zA-Z]{1,4})\)")


def references(ontology: Ontology) -> nx.DiGraph:
    """Which provision's text refers to which (edges point from the referring provision)."""
    graph = nx.DiGraph()
    by_citation = {p.citation: p.iri for p in ontology.provisions.values() if p.citation and "(" in p.citation}
    sections = {p.citation: p.iri for p in ontology.provisions.values() if p.citation and "(" not in p.citation}
    for p in ontology.provisions.values():
        if not p.citation or not p.text:
            continue
        title, section = p.citation.split(" CFR ")[0], p.citation.split(" CFR ")[1].split("(")[0]
        found: set[URIRef] = set()
        for match in SECTION_REF.finditer(p.text):
            found.add(_deepest(f"{title} CFR {match.group(1)}", PARTS.findall(match.group(2)), by_citation, sections))
        for match in LOCAL_REF.finditer(p.text):
            first = PARTS.findall(match.group(1).split(",")[0].split(" and ")[0].split(" or ")[0])
            found.add(_deepest(f"{title} CFR {section}", first, by_citation, sections))
            for later in re.split(r",\s*|\s+(?:and|or|through)\s+", match.group(1))[1:]:
                parts = PARTS.findall(later)
                if parts and len(parts) < len(first):  # "(b)(2), (b)(3)" or "(c), (e)": same depth; "(4)": a sibling
                    parts = first[: len(first) - len(parts)] + parts
                found.add(_deepest(f"{title} CFR {section}", parts, by_citation, sections))
        for target in found - {None, p.iri}:
            graph.add_edge(p.iri, target)
    return graph


def _deepest(section: str, parts: list[str], by_citation: dict, sections: dict) -> URIRef | None:
    """The most specific provision that exists for a citation, trimming paragraph levels until one does."""
    for depth in range(len(parts), 0, -1):
        iri = by_citation.get(section + "".join(f"({x})" for x in parts[:depth]))
        if iri is not None:
            return iri
    return sections.get(section)


def rules_graph(ontology: Ontology, rules: RuleSet) -> Graph:
    """Every rule as data: what it rests on, concludes, requires and reads."""
    graph = Graph()
    for rule in rules.order:
        iri = rule.iri
        describe_rule(ontology, rule, graph)
        graph.add((iri, HK.stratum, Literal(rule.stratum)))
        for _, p, o in rule.template:
            if (
                p == RDF.type
                and o in ontology.finding_kinds
                or o in (HK.MinimumNecessaryApplies, HK.MinimumNecessaryException)
            ):
                graph.add((iri, HK.concludes, o))
            elif p == HK.condition and isinstance(o, URIRef):
                graph.add((iri, HK.condition, o))
            elif p == RDF.type and isinstance(o, URIRef) and str(o).startswith(HK):
                graph.add((iri, HK.derives, o))
            elif isinstance(p, URIRef) and p not in (RDF.type, HK.act, HK.provision) and str(p).startswith(HK):
                graph.add((iri, HK.derives, p))
        for term in rule.terms():
            if not str(term).startswith(HKP):
                graph.add((iri, HK.mentions, term))
    return graph


def knowledge_graph(ontology: Ontology, rules: RuleSet) -> Graph:
    """Ontology (closed) + provisions + rules + references: the graph every query sees."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    graph += ontology.closure
    graph += ontology.provision_graph
    graph += rules_graph(ontology, rules)
    for source, target in references(ontology).edges:
        graph.add((source, DCTERMS.references, target))
    return graph
