"""The decision record of SCENARIOS.md section 3, read off a derivation.

Nothing here decides anything: the rules did. This module reads which
findings decide each act (``hk:decidedBy``), what they rest on, and how the
rules reached them, and writes it in the scenario's own ids.
"""

from __future__ import annotations

from rdflib import RDF, RDFS, BNode, Literal, URIRef

from .engine import Derivation, Firing
from .namespaces import DCTERMS, HK, HKP
from .ontology import Ontology
from .scenario import Scenario


class RecordWriter:
    """Writes the records of one scenario's acts."""

    def __init__(self, ontology: Ontology, scenario: Scenario, derivation: Derivation):
        self.ontology = ontology
        self.scenario = scenario
        self.graph = derivation.graph
        self.firings = derivation.firings
        self.made_by: dict[object, Firing] = {}  # each node a rule created -> its firing
        self.fact_by: dict[tuple, Firing] = {}  # each fact a rule derived -> its firing
        for firing in self.firings:
            for s, p, o in firing.triples:
                if isinstance(s, BNode) and p == RDF.type:
                    self.made_by.setdefault(s, firing)
                elif not isinstance(s, BNode):
                    self.fact_by.setdefault((s, p, o), firing)

    def acts(self) -> list[URIRef]:
        found = set(self.graph.subjects(RDF.type, HK.Act))
        return sorted(found, key=lambda a: (self.scenario.lines.get(self.name(a), 0), self.name(a)))

    def record(self, act) -> dict:
        winners = sorted(self.graph.objects(act, HK.decidedBy), key=self._finding_key)
        basis = self._basis(winners)
        decision = str(self.graph.value(act, HK.outcome))
        minimum = self._minimum_necessary(act, decision)
        return {
            "id": self.name(act),
            "decision": decision,
            "basis": [p.citation for p in basis],
            "minimumNecessary": any((m, RDF.type, HK.MinimumNecessaryApplies) in self.graph for m in minimum),
            "minimumNecessaryBasis": [p.citation for p in self._basis(minimum)],
            "conditions": self._conditions(winners),
            "sources": self._sources(basis, winners),
            "explanation": self._explanation(act, winners, minimum),
        }

    def outcome(self, act) -> tuple[str, list[str], set[str]]:
        """The act's decision, its basis, and the names of the rules whose findings decide it."""
        winners = list(self.graph.objects(act, HK.decidedBy))
        rules = {firing.rule.name for f in winners if (firing := self.made_by.get(f))}
        return str(self.graph.value(act, HK.outcome)), [p.citation for p in self._basis(winners)], rules

    def counterfactual(self, found) -> dict:
        """A counterfactual of whynot.py, in the scenario's own names."""
        citations = [self.ontology.provision_by_label(label).citation for label in found.rule.provisions]
        changes = [{("add" if c.add else "remove"): [self.name(x) for x in c.triple]} for c in found.changes]
        counterfactual = {
            "rule": found.rule.name,
            "provisions": citations,
            "changes": sorted(changes, key=_change_order),
            "decision": found.decision,
            "basis": found.basis,
        }
        return counterfactual | {"text": _counterfactual_text(counterfactual)}

    # --- parts of the record ------------------------------------------------

    def _minimum_necessary(self, act, decision: str) -> list:
        """The determinations that settle minimum necessary for a permitted or required act.

        The standard (164.502(b)(1)) when it applies; else the (b)(2) exceptions that
        lift it. An act that is not permitted or required has none.
        """
        if decision not in ("permitted", "required"):
            return []
        kinds = (HK.MinimumNecessaryApplies, HK.MinimumNecessaryException)
        for kind in kinds:
            found = [m for m in self.graph.subjects(HK.act, act) if (m, RDF.type, kind) in self.graph]
            if found:
                return sorted(found, key=self._finding_key)
        return []

    def _basis(self, findings) -> list:
        return basis_of({self.ontology.provision(p) for f in findings for p in self.graph.objects(f, HK.provision)})

    def _conditions(self, findings) -> list[dict]:
        found = {c for f in findings for c in self.graph.objects(f, HK.condition)}
        conditions = []
        for c in sorted(found):
            source = self.ontology.terms.value(c, DCTERMS.source)
            conditions.append(
                {
                    "id": self.name(c),
                    "label": self.ontology.label(c),
                    "basis": self.ontology.provision(source).citation if source is not None else None,
                }
            )
        return conditions

    def _sources(self, basis, findings) -> list[str]:
        urls = [p.url for p in basis if p.url]
        for f in findings:
            firing = self.made_by.get(f)
            for guidance in firing.rule.guidance if firing else []:
                urls.append(self.ontology.provision(guidance).url)
        return list(dict.fromkeys(u for u in urls if u))

    def _explanation(self, act, winners, minimum) -> dict:
        findings = sorted(
            (f for f in self.graph.subjects(HK.act, act) if (f, RDF.type, HK.Finding) in self.graph),
            key=self._finding_key,
        )
        decisive = [self._finding(f, decisive=True) for f in winners]
        explanation = {
            "decidedBy": decisive,
            "findings": [self._finding(f, decisive=f in winners) for f in findings],
            "derivedFacts": self._derived_facts(winners),
        }
        if minimum:
            explanation["minimumNecessary"] = [self._finding(m, decisive=True) for m in minimum]
        return explanation

    def _finding(self, node, decisive: bool) -> dict:
        firing = self.made_by.get(node)
        kind = self._kind(node)
        return {
            "rule": firing.rule.name if firing else None,
            "summary": firing.rule.summary if firing else None,
            "kind": self.name(kind) if kind is not None else None,
            "decision": self.ontology.finding_kinds.get(kind, (None, 0))[0],
            "basis": [p.citation for p in self._basis([node])],
            "provisions": sorted(self.name(p) for p in self.graph.objects(node, HK.provision)),
            "decisive": decisive,
            "facts": {k: self.name(v) for k, v in sorted(firing.bindings.items())} if firing else {},
        }

    def _derived_facts(self, findings) -> list[dict]:
        """The facts rules derived among the nodes the deciding rules matched, and which rules.

        A derived fact linking a matched node to one the rules did not match (the actor's
        relationship with every other patient, say) does not explain this act, and is left out.
        """
        nodes = {v for f in findings if (firing := self.made_by.get(f)) for v in firing.bindings.values()}
        found = []
        for (s, p, o), firing in self.fact_by.items():
            about_matched = o in nodes or isinstance(o, Literal) or str(o).startswith(HK)
            if s in nodes and about_matched and p != HK.outcome and p != HK.decidedBy:
                found.append(
                    {
                        "fact": [self.name(s), self.name(p), self.name(o)],
                        "rule": firing.rule.name,
                        "basis": firing.rule.provisions,
                    }
                )
        return sorted(found, key=lambda f: (f["fact"], f["rule"]))

    # --- helpers ---------------------------------------------------------------

    def _kind(self, node):
        kinds = [t for t in self.graph.objects(node, RDF.type) if t in self.ontology.finding_kinds]
        if kinds:
            return max(kinds, key=lambda k: self.ontology.finding_kinds[k][1])
        types = [t for t in self.graph.objects(node, RDF.type) if str(t).startswith(HK)]
        return min(types, key=lambda t: -len(self.ontology.ancestors.get(t, ()))) if types else None

    def _finding_key(self, node):
        """Order findings by rule, then by what the firing matched and concluded (never by blank-node id)."""
        firing = self.made_by.get(node)
        bindings = tuple(sorted((k, self.name(v)) for k, v in firing.bindings.items())) if firing else ()
        provisions = tuple(sorted(str(p) for p in self.graph.objects(node, HK.provision)))
        return (firing.rule.name if firing else "", provisions, bindings)

    def name(self, node) -> str:
        """A node as the scenario writes it: its local id, a term's name, a literal's value."""
        if isinstance(node, Literal):
            return str(node)
        if node == RDF.type:
            return "type"  # as scenario files write it
        text = str(node)
        for namespace in (HKP, HK):  # the longer first: provisions live inside the hk: namespace
            if text.startswith(namespace):
                return text[len(namespace) :]
        if isinstance(node, BNode):
            label = self.graph.value(node, RDFS.label)
            if label is not None:
                return str(label)
            # an unnamed node of the scenario, such as an act's inline information, is named by
            # the path that reaches it ("d1.information"), so that records are the same every run
            for s, p in sorted(self.scenario.graph.subject_predicates(node)):
                if not isinstance(s, BNode):
                    return f"{self.name(s)}.{self.name(p)}"
            return "(an unnamed node)"
        return self.scenario.local_id(node)


# --- the order of a record's lists --------------------------------------------------


def in_order(record: dict) -> dict:
    """Sort the lists of an act's record whose order follows the names it writes.

    Findings go by rule, provisions and matched facts; derived facts by fact; the
    changes of a counterfactual by what they state; counterfactuals smallest first.
    Written once, here, so that a record renamed (``hipaa-kg batch`` reuses the record
    of one event for another of the same case) is ordered as if decided afresh.
    """
    explanation = record["explanation"]
    for key in ("decidedBy", "findings", "minimumNecessary"):
        if key in explanation:
            explanation[key].sort(key=_finding_order)
    explanation["derivedFacts"].sort(key=lambda f: (f["fact"], f["rule"]))
    for key in ("whyNot", "wouldChange"):
        for counterfactual in explanation.get(key, ()):
            counterfactual["changes"].sort(key=_change_order)
            counterfactual["text"] = _counterfactual_text(counterfactual)
        explanation.get(key, []).sort(
            key=lambda c: (len(c["changes"]), c["rule"], [_change_order(x) for x in c["changes"]])
        )
    return record


def _finding_order(finding: dict) -> tuple:
    return (finding["rule"] or "", tuple(finding["provisions"]), tuple(sorted(finding["facts"].items())))


def _change_order(change: dict) -> tuple:
    return ("add" not in change, tuple(next(iter(change.values()))))


def _counterfactual_text(counterfactual: dict) -> str:
    said = "; ".join(
        ("" if "add" in c else "not ") + " ".join(next(iter(c.values()))) for c in counterfactual["changes"]
    )
    return f"{', '.join(counterfactual['provisions'])}: {counterfactual['decision']} if {said}"


def outcomes(ontology: Ontology, derivation: Derivation) -> dict:
    """Each act's outcome as ``RecordWriter.outcome`` gives it, read off what the rules derived alone.

    For the counterfactual candidates, which need no record: no graph is built.
    """
    index: dict[tuple, list] = {}
    for s, p, o in derivation.derived:
        if p in (HK.decidedBy, HK.outcome, HK.provision):
            index.setdefault((s, p), []).append(o)
    made_by = {}
    for firing in derivation.firings:
        for s, p, _ in firing.triples:
            if isinstance(s, BNode) and p == RDF.type:
                made_by.setdefault(s, firing.rule.name)
    found = {}
    for act in {s for s, p, o in derivation.facts if p == RDF.type and o == HK.Act}:
        winners = index.get((act, HK.decidedBy), [])
        decision = index.get((act, HK.outcome), [None])[0]
        provisions = {ontology.provision(p) for f in winners for p in index.get((f, HK.provision), [])}
        rules = {made_by[f] for f in winners if f in made_by}
        found[act] = (str(decision), [p.citation for p in basis_of(provisions)], rules)
    return found


def basis_of(provisions) -> list:
    """Provisions, the most specific first, one per citation."""
    by_citation = {}
    for p in sorted(provisions, key=lambda p: (-p.depth, p.citation or "")):
        by_citation.setdefault(p.citation, p)
    return list(by_citation.values())
