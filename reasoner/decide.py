"""Decide scenarios: load, type, validate, derive, record.

``Reasoner`` loads the ontology, the rules and the shapes once; ``decide``
then handles one scenario file at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rdflib import RDF, Graph, Literal

from .engine import EVALUATION, Derivation, Engine
from .namespaces import HK
from .ontology import Ontology, load_ontology
from .reach import act_facts, act_reach
from .record import RecordWriter, in_order, outcomes
from .rules import RuleSet, load_rules
from .scenario import Scenario, load
from .validate import Validator, Violation
from .whynot import NO_OUTCOME, Index, WhyNot, apply


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


SLICE = 500  # counterfactual candidates derived at a time (each a copy of the facts an act reaches)


class Reasoner:
    """The ontology, rules, shapes and engine, loaded once; ``decide`` per scenario, ``decide_many`` for many."""

    def __init__(
        self,
        *,
        engine: str = "oxigraph",
        ontology: Ontology | None = None,
        rules: RuleSet | None = None,
        why_not: bool = True,
        one_at_a_time: bool = False,
    ):
        """``why_not``: add to each record the changed facts that would decide it otherwise (whynot.py).

        ``one_at_a_time``: the reference the fast path is tested against: each scenario derived
        alone, and each counterfactual checked by deriving the whole scenario again.
        """
        self.ontology = ontology or load_ontology()
        self.rules = rules or load_rules(self.ontology)
        self.engine = Engine(self.ontology, self.rules, engine)
        self.validator = Validator(self.ontology)
        self.why_not = WhyNot(self.ontology, self.rules) if why_not else None
        self.one_at_a_time = one_at_a_time

    def decide(self, source: str | Path | Scenario, *, as_of: dt.date | None = None) -> Result:
        """Decide every act of one scenario (a file path, or a loaded Scenario)."""
        return self.decide_many([source], as_of=as_of)[0]

    def decide_many(
        self, sources, *, as_of: dt.date | None = None, dates: list | None = None, explain: str = "all"
    ) -> list[Result]:
        """Decide every act of many scenarios, in one run of the rules for the scenarios and one for
        every counterfactual of every act.

        ``dates``: each source's evaluation date, where they differ (else ``as_of``, the file's
        ``asOf``, or today). ``explain``: ``all`` (counterfactuals for every act: ``whyNot``, or ``wouldChange`` for a
        permitted one), ``why-not`` (for acts not permitted only) or ``none``.
        """
        results: list[Result] = []
        typed: list[Graph] = []
        for i, source in enumerate(sources):
            scenario = source if isinstance(source, Scenario) else load(source)
            day = dates[i] if dates is not None else as_of
            results.append(Result(scenario, day or scenario.as_of or dt.date.today()))
            typed.append(self.typed(scenario.graph))
        pairs = [(r.scenario, facts) for r, facts in zip(results, typed, strict=True)]
        valid: list[tuple[Result, Graph]] = []
        for result, facts, violations in zip(results, typed, self.validator.validate_many(pairs), strict=True):
            result.violations = violations + self._checks(result.scenario, facts, result.as_of)
            if result.conforms:  # an invalid scenario names what is wrong instead of guessing
                valid.append((result, self._dated(facts, result.as_of)))
        derivations = self._derive_many([facts for _, facts in valid])
        acts: list[tuple[Result, object, dict, RecordWriter]] = []
        for (result, _), derivation in zip(valid, derivations, strict=True):
            result.derivation = derivation
            writer = RecordWriter(self.ontology, result.scenario, derivation)
            for act in writer.acts():
                record = writer.record(act)
                not_in_force = self._not_in_force(act, derivation, writer)
                if not_in_force:
                    record["explanation"]["notInForce"] = not_in_force
                acts.append((result, act, record, writer))
        if self.why_not is not None and explain != "none":
            wanted = [a for a in acts if explain == "all" or a[2]["decision"] != "permitted"]
            self._counterfactuals(wanted)
        for result, _, record, _ in acts:
            result.acts.append(in_order(record))
        return results

    def _checks(self, scenario: Scenario, facts: Graph, as_of: dt.date) -> list[Violation]:
        """What the shapes do not check: a date the rules hold, and an act to decide."""
        violations = []
        earliest = self.rules.calendar.earliest if self.rules.calendar else None
        if earliest is not None and as_of < earliest:
            day = as_of.isoformat()
            message = f"asOf {day} is before {earliest.isoformat()}, the first day of the rules hipaa-kg holds"
            violations.append(Violation(scenario.source, None, day, message, "Violation"))
        if not any(True for _ in facts.subjects(RDF.type, HK.Act)):
            violations.append(
                Violation(scenario.source, None, None, "the scenario describes no Use or Disclosure", "Warning")
            )
        return violations

    def _counterfactuals(self, acts: list) -> None:
        """Each act's counterfactuals; every proposal of every act checked in one run of the rules.

        A proposal is checked on a copy of the facts the act reaches (reach.py), changed.
        """
        checks, candidates, indexes = [], [], {}
        for result, act, record, writer in acts:
            derivation = result.derivation
            outcome = writer.outcome(act)
            if self.one_at_a_time:
                decide = partial(self._outcomes, scenario=result.scenario, as_of=result.as_of)
                found = self.why_not.counterfactuals(
                    act, result.scenario.graph, derivation.graph, outcome, decide, as_of=result.as_of
                )
                self._write(record, writer, found)
                continue
            index = indexes.get(id(derivation)) or indexes.setdefault(id(derivation), Index(derivation.graph))
            reached = act_reach(result.scenario.graph, derivation.graph, act)  # once for both
            proposals = self.why_not.proposals(
                act, result.scenario.graph, derivation.graph, outcome, result.as_of, index, reached
            )
            stated = act_facts(result.scenario.graph, derivation.graph, act, reached)
            for changes, _ in proposals:
                candidates.append(self._dated(self.typed_triples(apply(set(stated), changes)), result.as_of))
            checks.append((act, record, writer, outcome, proposals))
        acts_checked = [act for act, *_, proposals in checks for _ in proposals]
        found = iter(self._outcomes_of(candidates, acts_checked))
        for _, record, writer, outcome, proposals in checks:
            checked = [next(found) for _ in proposals]
            self._write(record, writer, self.why_not.verified(outcome, proposals, checked))

    def _outcomes_of(self, candidates: list, acts: list) -> list[tuple]:
        """Each candidate's outcome for its act, derived a slice of candidates at a time: memory stays bounded
        however many acts a call explains."""
        found = []
        for start in range(0, len(candidates), SLICE):
            derivations = self._derive_many(candidates[start : start + SLICE])
            for act, derivation in zip(acts[start : start + SLICE], derivations, strict=True):
                found.append(outcomes(self.ontology, derivation).get(act, NO_OUTCOME))
        return found

    @staticmethod
    def _write(record: dict, writer: RecordWriter, found) -> None:
        key = "wouldChange" if record["decision"] == "permitted" else "whyNot"
        record["explanation"][key] = [writer.counterfactual(c) for c in found]

    def _derive_many(self, worlds: list) -> list[Derivation]:
        if self.one_at_a_time:
            return [self.engine.derive(world) for world in worlds]
        return self.engine.derive_many(worlds)

    @staticmethod
    def _dated(facts, as_of: dt.date):
        """The facts with the evaluation date whose rules apply, as a fact (hk:asOf)."""
        facts.add((EVALUATION, RDF.type, HK.Evaluation))
        facts.add((EVALUATION, HK.asOf, Literal(as_of)))
        return facts

    def _derive(self, facts: Graph, as_of: dt.date) -> Derivation:
        """Run the rules over typed facts, with the evaluation date as a fact."""
        return self.engine.derive(self._dated(facts, as_of))

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
                "text": f"{', '.join(citations)} (rule {rule.name}) {not_in_force_on(derivation.as_of)}: "
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
        for t in self.typed_triples(set(facts)):
            typed.add(t)
        return typed

    def typed_triples(self, facts: set) -> set:
        """``typed`` for a set of triples (changed in place)."""
        typed = {s for s, p, _ in facts if p == RDF.type}
        facts |= {(o, RDF.type, HK.HealthInformation) for _, p, o in facts if p == HK.information and o not in typed}
        ancestors = self.ontology.ancestors
        facts |= {(node, RDF.type, a) for node, p, cls in list(facts) if p == RDF.type for a in ancestors.get(cls, ())}
        return facts


def not_in_force_on(day) -> str:
    """How a record says that a rule was not in force on the evaluation date."""
    return f"was not in force on {day}"
