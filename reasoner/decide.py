"""Decide scenarios: load, type, validate, derive, record.

``Reasoner`` loads the ontology, the rules and the shapes once; ``decide``
then handles one scenario file at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef

from .engine import Derivation, Engine
from .namespaces import HK
from .ontology import Ontology, load_ontology
from .record import RecordWriter, in_order
from .rules import RuleSet, load_rules
from .scenario import Scenario, load
from .validate import Validator, Violation
from .whynot import WhyNot

EVALUATION = URIRef("urn:hipaa-kg:evaluation")  # the node that carries the date whose rules apply (hk:asOf)


@dataclass
class Result:
    """What the reasoner answers for one scenario file."""

    scenario: Scenario
    as_of: dt.date
    violations: list[Violation] = field(default_factory=list)
    acts: list[dict] = field(default_factory=list)
    derivation: Derivation | None = None

    @property
    def conforms(self) -> bool:
        return not any(v.severity == "Violation" for v in self.violations)

    def as_dict(self) -> dict:
        record = {"source": self.scenario.source}
        if self.scenario.title:
            record["title"] = self.scenario.title
        record |= {
            "asOf": self.as_of.isoformat(),
            "conforms": self.conforms,
            "violations": [v.as_dict() for v in self.violations],
            "acts": self.acts,
        }
        return record


class Reasoner:
    """The ontology, rules, shapes and engine, loaded once; ``decide`` per scenario."""

    def __init__(
        self,
        *,
        engine: str = "oxigraph",
        ontology: Ontology | None = None,
        rules: RuleSet | None = None,
        why_not: bool = True,
    ):
        """``why_not``: add to each record the changed facts that would decide it otherwise (whynot.py)."""
        self.ontology = ontology or load_ontology()
        self.rules = rules or load_rules(self.ontology)
        self.engine = Engine(self.ontology, self.rules, engine)
        self.validator = Validator(self.ontology)
        self.why_not = WhyNot(self.ontology, self.rules) if why_not else None

    def decide(self, source: str | Path | Scenario, *, as_of: dt.date | None = None) -> Result:
        """Decide every act of one scenario (a file path, or a loaded Scenario)."""
        scenario = source if isinstance(source, Scenario) else load(source)
        result = Result(scenario, as_of or scenario.as_of or dt.date.today())
        facts = self.typed(scenario.graph)
        result.violations = self.validator.validate(scenario, facts)
        earliest = self.rules.calendar.earliest if self.rules.calendar else None
        if earliest is not None and result.as_of < earliest:
            day = result.as_of.isoformat()
            message = f"asOf {day} is before {earliest.isoformat()}, the first day of the rules hipaa-kg holds"
            result.violations.append(Violation(scenario.source, None, day, message, "Violation"))
        if not any(True for _ in facts.subjects(RDF.type, HK.Act)):
            result.violations.append(
                Violation(scenario.source, None, None, "the scenario describes no Use or Disclosure", "Warning")
            )
        if not result.conforms:
            return result  # an invalid scenario names what is wrong instead of guessing
        result.derivation = self._derive(facts, result.as_of)
        writer = RecordWriter(self.ontology, scenario, result.derivation)
        for act in writer.acts():
            record = writer.record(act)
            if self.why_not is not None:
                decide = partial(self._outcomes, scenario=scenario, as_of=result.as_of)
                found = self.why_not.counterfactuals(
                    act, scenario.graph, result.derivation.graph, writer.outcome(act), decide, as_of=result.as_of
                )
                key = "wouldChange" if record["decision"] == "permitted" else "whyNot"
                record["explanation"][key] = [writer.counterfactual(c) for c in found]
            not_in_force = self._not_in_force(act, result.derivation, writer)
            if not_in_force:
                record["explanation"]["notInForce"] = not_in_force
            result.acts.append(in_order(record))
        return result

    def _derive(self, facts: Graph, as_of: dt.date) -> Derivation:
        """Run the rules over typed facts, with the evaluation date as a fact."""
        facts.add((EVALUATION, RDF.type, HK.Evaluation))
        facts.add((EVALUATION, HK.asOf, Literal(as_of)))
        return self.engine.derive(facts)

    def _not_in_force(self, act, derivation: Derivation, writer: RecordWriter) -> list[dict]:
        """The rules that would have concluded a finding about the act, were they in force on the date."""
        found: dict[str, dict] = {}
        for firing in derivation.not_in_force:
            rule = firing.rule
            if firing.bindings.get("act") != act or rule.name in found:
                continue
            if not any(p == HK.provision for _, p, _ in rule.template):
                continue
            periods = self.rules.calendar.rule_periods(rule.name) if self.rules.calendar else []
            citations = [self.ontology.provision_by_label(label).citation for label in rule.provisions]
            found[rule.name] = {
                "rule": rule.name,
                "provisions": citations,
                "inForce": periods,
                "text": f"{', '.join(citations)} (rule {rule.name}) was not in force on {derivation.as_of}: "
                + "; ".join(periods),
            }
        return sorted(found.values(), key=lambda f: f["rule"])

    def _outcomes(self, facts: Graph, *, scenario: Scenario, as_of: dt.date) -> dict:
        """Each act's (decision, basis, deciding rules) under changed scenario facts (no validation)."""
        derivation = self._derive(self.typed(facts), as_of)
        writer = RecordWriter(self.ontology, scenario, derivation)
        return {act: writer.outcome(act) for act in writer.acts()}

    def typed(self, facts: Graph) -> Graph:
        """The facts with each node's ancestor types (an untyped information node is HealthInformation)."""
        typed = Graph()
        typed += facts
        for info in set(facts.objects(None, HK.information)):
            if facts.value(info, RDF.type) is None:
                typed.add((info, RDF.type, HK.HealthInformation))
        for node, cls in list(typed.subject_objects(RDF.type)):
            if isinstance(cls, URIRef):
                for ancestor in self.ontology.ancestors.get(cls, ()):
                    typed.add((node, RDF.type, ancestor))
        return typed
