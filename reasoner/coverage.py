"""The inventory of the use-and-disclosure rule, and how far it is formalized and tested.

The inventory is every paragraph of 45 CFR 164.502, 164.506, 164.508(a), 164.510,
164.512 and 164.514(a), (b), (d), (e), (f), (h). Each paragraph's status is
computed, not kept by hand:

- ``formalized``: a rule that concludes a finding names it in its header;
- ``derives``: a rule names it that derives a fact other rules read (a covered
  entity, a personal representative treated as the individual); it is tested
  through the findings that read the fact;
- ``within``: it is part of a formalized paragraph (a case its rule reads), or
  it defines a condition that a rule's finding carries (``hk:condition``, whose
  ``dcterms:source`` is the paragraph or one above it), so that rule covers it;
- ``not formalized``: ontology/coverage.ttl gives the reason (``hk:notFormalized``);
- ``structure``: a heading whose sub-paragraphs carry the content;
- ``open``: none of these: work still to do.

A scenario tests a paragraph *positively* when its ``expect`` cites the paragraph
(in ``basis`` or ``minimumNecessaryBasis``), and as a *near miss* when it is a
``nearMissOf`` such a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Literal, URIRef

from .namespaces import DCTERMS, HK
from .ontology import Ontology, Provision
from .rules import RuleSet
from .scenario import load

INVENTORY = (
    "45 CFR 164.502",
    "45 CFR 164.506",
    "45 CFR 164.508(a)",
    "45 CFR 164.510",
    "45 CFR 164.512",
    "45 CFR 164.514(a)",
    "45 CFR 164.514(b)",
    "45 CFR 164.514(d)",
    "45 CFR 164.514(e)",
    "45 CFR 164.514(f)",
    "45 CFR 164.514(h)",
)
STATUSES = ("formalized", "derives", "within", "not formalized", "structure", "open")


@dataclass
class Row:
    """One paragraph of the inventory."""

    citation: str
    status: str
    rules: list[str] = field(default_factory=list)
    within: str | None = None
    reason: str | None = None
    positive: list[str] = field(default_factory=list)
    near_miss: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}


def in_inventory(provision: Provision) -> bool:
    """A paragraph (not a section or a definition) of the inventory."""
    citation = provision.citation or ""
    return "(" in citation and any(citation == root or citation.startswith(root + "(") for root in INVENTORY)


def formalized_by(ontology: Ontology, rules: RuleSet, findings: bool = True) -> dict[str, list[str]]:
    """For each citation, the rules that name it: those concluding findings, or (``findings=False``) facts."""
    found: dict[str, list[str]] = {}
    for rule in rules.order:
        if any(p == HK.provision for _, p, _ in rule.template) != findings:
            continue
        for label in rule.provisions:
            citation = ontology.provision_by_label(label).citation
            found.setdefault(citation, []).append(rule.name)
    return found


def conditions_by(ontology: Ontology, rules: RuleSet) -> dict[str, str]:
    """For each citation that defines a condition some finding carries, the first such rule."""
    found: dict[str, str] = {}
    for rule in rules.order:
        for _, p, condition in rule.template:
            if p == HK.condition and isinstance(condition, URIRef):
                for source in ontology.terms.objects(condition, DCTERMS.source):
                    if source in ontology.provisions and ontology.provisions[source].citation:
                        found.setdefault(ontology.provisions[source].citation, rule.name)
    return found


def scenario_tests(paths: list[Path]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Which scenario files test each citation positively, and which as near misses."""
    scenarios = {path.stem: load(path) for path in paths}
    positive: dict[str, list[str]] = {}
    for stem, scenario in scenarios.items():
        for expected in scenario.expect.values():
            for citation in list(expected.get("basis", [])) + list(expected.get("minimumNecessaryBasis", [])):
                positive.setdefault(citation, []).append(stem)
    near_miss: dict[str, list[str]] = {}
    for stem, scenario in scenarios.items():
        if scenario.near_miss_of is None:
            continue
        for citation, stems in positive.items():
            if scenario.near_miss_of in stems:
                near_miss.setdefault(citation, []).append(stem)
    return positive, near_miss


def inventory(ontology: Ontology, rules: RuleSet, scenario_paths: list[Path]) -> list[Row]:
    """The inventory, one row per paragraph, in the order of the CFR text."""
    paragraphs = [p for p in ontology.provisions.values() if p.citation and in_inventory(p)]
    by_iri = {p.iri: p for p in ontology.provisions.values()}
    has_children = {p.parent for p in paragraphs}
    rules_for = formalized_by(ontology, rules)
    deriving = formalized_by(ontology, rules, findings=False)
    conditions = conditions_by(ontology, rules)
    positive, near_miss = scenario_tests(scenario_paths)
    rows = []
    for p in paragraphs:
        row = Row(p.citation, "open", rules=sorted(rules_for.get(p.citation, [])))
        reason = ontology.provision_graph.value(p.iri, HK.notFormalized)
        ancestor = _formalized_ancestor(p, by_iri, rules_for) or _condition_ancestor(p, by_iri, conditions)
        if row.rules:
            row.status = "formalized"
        elif p.citation in deriving:
            row.status, row.rules = "derives", sorted(deriving[p.citation])
        elif ancestor is not None:
            row.status, row.within = "within", ancestor
        elif isinstance(reason, Literal):
            row.status, row.reason = "not formalized", str(reason)
        elif p.iri in has_children:
            row.status = "structure"
        row.positive = sorted(set(positive.get(p.citation, [])))
        row.near_miss = sorted(set(near_miss.get(p.citation, [])))
        rows.append(row)
    return sorted(rows, key=lambda r: _order(r.citation))


def _condition_ancestor(p: Provision, by_iri: dict, conditions: dict) -> str | None:
    """'a condition of RULE' when this paragraph, or one above it, defines a condition a rule carries."""
    node = p
    while node is not None:
        if node.citation in conditions:
            return f"a condition of {conditions[node.citation]}"
        node = by_iri.get(node.parent)
    return None


def _formalized_ancestor(p: Provision, by_iri: dict, rules_for: dict) -> str | None:
    parent = by_iri.get(p.parent)
    while parent is not None:
        if parent.citation in rules_for:
            return parent.citation
        parent = by_iri.get(parent.parent)
    return None


ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}


def _order(citation: str) -> tuple:
    """Sort key in the order of the CFR: section, then each level, (a) (1) (i) (A) (1) (i)."""
    section, _, rest = citation.partition("(")
    key: list = [section]
    for depth, part in enumerate(p.rstrip(")") for p in rest.split("(") if rest):
        if depth % 3 == 2:  # roman numerals at the third and sixth levels
            values = [ROMAN.get(c, 0) for c in part]
            key.append(sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values)))
        else:
            key.append(int(part) if part.isdigit() else ord(part[0]))
    return tuple(key)


def summary(rows: list[Row]) -> dict[str, int]:
    counts = {status: sum(r.status == status for r in rows) for status in STATUSES}
    counts["formalized and tested"] = sum(r.status == "formalized" and bool(r.positive and r.near_miss) for r in rows)
    counts["paragraphs"] = len(rows)
    return counts
