"""Why not, and what would change it: counterfactuals computed from the rules themselves.

For an act, each rule's WHERE clause is read as a set of alternatives (its UNION
branches), each a list of triple patterns and the NOT EXISTS groups that block
it. An alternative is matched greedily against the derivation, starting from
the act; what it still lacks are *missing facts*, and the stated facts that a
NOT EXISTS group finds are *blocking facts*. A missing fact that another rule
derives (a covered entity, say) is traced to the facts that rule needs.

Only facts a user could state are proposed: circumstances of the act (booleans),
relations between the scenario's nodes, and types of its parties. Each proposal
is then checked: the facts are changed, the act is decided again, and the
proposal is kept only if the rule's finding then decides the act. So every
answer is a real counterfactual of the rules, never a guess.

Only the rules in force on the evaluation date are proposed, or traced for the
facts they derive: a counterfactual changes the facts, never the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import product

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef, Variable
from rdflib.paths import SequencePath
from rdflib.plugins.sparql.algebra import triples as algebra_triples
from rdflib.plugins.sparql.parserutils import CompValue

from .events import circumstances
from .namespaces import HK
from .ontology import Ontology
from .reach import act_reach, is_node
from .rules import Rule, RuleSet

MAX_CHANGES = 3  # a proposal that needs more changes than this is not a near miss
STRUCTURE = (HK.actor, HK.recipient, HK.information, HK.purpose, HK.forActivitiesOf, HK.about)  # what the act is
DERIVED_DEPTH = 2  # how far a missing derived fact is traced back to the facts it needs
NO_OUTCOME = (None, [], set())  # an act's outcome where it was not decided


@dataclass
class Alternative:
    """One way a rule's WHERE clause can match: triple patterns, and the groups that block it."""

    patterns: list[tuple]
    blockers: list[list[tuple]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One fact to add to, or remove from, the scenario."""

    add: bool
    triple: tuple


@dataclass
class Counterfactual:
    """A rule that would decide the act if the facts changed so."""

    rule: Rule
    changes: tuple[Change, ...]
    decision: str
    basis: list[str]


def alternatives(rule: Rule) -> list[Alternative]:
    """The UNION branches of a rule's WHERE clause, with their NOT EXISTS groups."""
    return list(_branches(rule.where))


def _branches(node) -> Iterator[Alternative]:
    if not isinstance(node, CompValue):
        yield Alternative([])
        return
    name = node.name
    if name == "BGP":
        yield Alternative(_expand(node.triples))
    elif name == "Union":
        yield from _branches(node.p1)
        yield from _branches(node.p2)
    elif name == "Join":
        for left, right in product(list(_branches(node.p1)), list(_branches(node.p2))):
            yield Alternative(left.patterns + right.patterns, left.blockers + right.blockers)
    elif name == "Filter":
        groups = list(_not_exists(node.expr))
        for branch in _branches(node.p):
            yield Alternative(branch.patterns, branch.blockers + groups)
    elif name == "Minus":
        groups = [b.patterns for b in _branches(node.p2)]
        for branch in _branches(node.p1):
            yield Alternative(branch.patterns, branch.blockers + groups)
    elif name == "LeftJoin":  # an OPTIONAL part neither enables nor blocks
        yield from _branches(node.p1)
    elif "p" in node:  # Project, Distinct, Extend, ToMultiSet, SelectQuery, ...
        yield from _branches(node.p)
    else:
        yield Alternative([])


def _not_exists(expr) -> Iterator[list[tuple]]:
    """The triple patterns of each FILTER NOT EXISTS group in a filter expression (kept in parser form)."""
    if isinstance(expr, CompValue):
        if expr.name == "Builtin_NOTEXISTS":
            found: list[tuple] = []
            _triples_blocks(expr.graph, found)
            yield found
            return
        for value in expr.values():
            yield from _not_exists(value)
    elif isinstance(expr, list):
        for item in expr:
            yield from _not_exists(item)


def _triples_blocks(node, found: list) -> None:
    """The triple patterns of a NOT EXISTS group, in parser form (TriplesBlock) or algebra form (BGP)."""
    if isinstance(node, CompValue):
        if node.name in ("TriplesBlock", "BGP"):
            found += _expand(algebra_triples(node.triples) if node.name == "TriplesBlock" else node.triples)
            return
        if node.name == "GroupOrUnionGraphPattern":  # inside a group, take the first alternative
            _triples_blocks(node.graph[0], found)
            return
        if node.name == "Union":
            _triples_blocks(node.p1, found)
            return
        for value in node.values():
            _triples_blocks(value, found)
    elif isinstance(node, list):
        for item in node:
            _triples_blocks(item, found)


def _expand(patterns) -> list[tuple]:
    """Triple patterns, with each sequence path (``hk:information/hk:about``) spelt out."""
    found = []
    for s, p, o in patterns:
        if isinstance(p, SequencePath):
            previous = s
            for i, step in enumerate(p.args):
                nxt = o if i == len(p.args) - 1 else Variable(f"_path{id(p)}_{i}")
                found.append((previous, step, nxt))
                previous = nxt
        elif isinstance(p, URIRef | Variable):
            found.append((s, p, o))
    return found


class WhyNot:
    """Counterfactuals for the acts of one derivation."""

    def __init__(self, ontology: Ontology, rules: RuleSet):
        self.ontology = ontology
        self.rules = rules
        self.alternatives = {r.name: alternatives(r) for r in rules.order}
        self.closure = Index(ontology.closure)
        # the circumstances of an act a user states (events.circumstances), even where a rule derives one too
        self.circumstances = {HK[name] for name in circumstances(ontology)}
        deciding_kinds = set(ontology.finding_kinds)  # the kinds of finding that can decide an act
        self.finding_rules = [  # the rules whose findings can decide an act (minimum necessary cannot)
            r
            for r in rules.order
            if any(p == HK.provision for _, p, _ in r.template)
            and any(p == RDF.type and ontology.types_with_ancestors([o]) & deciding_kinds for _, p, o in r.template)
        ]
        self.writers: dict[object, list[Rule]] = {}
        self.fixed: dict[str, list] = {}  # each rule's alternatives' facts about what the act is (_fixed)
        for rule in rules.order:
            for _, p, o in rule.template:
                key = o if p == RDF.type else p
                if isinstance(key, URIRef):
                    self.writers.setdefault(key, []).append(rule)
        for rule in self.finding_rules:
            self.fixed[rule.name] = [self._fixed(a) for a in self.alternatives[rule.name]]

    def counterfactuals(
        self,
        act,
        facts: Graph,
        derived: Graph,
        outcome: tuple,
        decide: Callable[[set], dict],
        as_of: dt.date | None = None,
    ) -> list[Counterfactual]:
        """Changes of the stated facts under which the act would be decided otherwise, each checked alone.

        ``decide`` takes changed facts and returns each act's outcome under them. The reasoner
        checks the proposals of many acts in one run of the rules instead (``proposals``, then
        ``verified``); this is the one-at-a-time reference it is tested against.
        """
        found = self.proposals(act, facts, derived, outcome, as_of)
        outcomes = [decide(apply(set(facts), changes)).get(act, NO_OUTCOME) for changes, _ in found]
        return self.verified(outcome, found, outcomes)

    def proposals(
        self, act, facts: Graph, derived: Graph, outcome: tuple, as_of: dt.date | None = None, index=None, reached=None
    ) -> list:
        """The changes worth checking, each with the rule it would bring in or defeat: ``[(changes, rule)]``.

        ``outcome`` is the act's (decision, basis, deciding rule names) now; ``as_of``: the
        evaluation date (default today), whose rules alone are used; ``index``: the derivation's
        ``Index``, when the caller explains several acts of it; ``reached``: the nodes the act
        reaches (``reach.act_reach``), when the caller has them.

        Two kinds: a rule that does not decide the act now would decide it (a provision
        that nearly applied), or a stated fact would defeat a rule that decides it now
        (what the decision rests on).
        """
        reached = reached if reached is not None else act_reach(facts, derived, act)
        hidden = {x for s, p, o in facts for x in (s, o) if x == s or is_node(p, o)} - reached
        world = _World([self.closure, index or Index(derived)], hidden)
        _, _, deciding = outcome
        active = self.rules.in_force(as_of)  # the rules in force on the date being explained
        proposals: dict[tuple, Rule] = {}
        for rule in self.finding_rules:
            if rule.name not in active:
                continue
            for alternative, fixed in zip(self.alternatives[rule.name], self.fixed[rule.name], strict=True):
                if any((act, p, o) not in world for p, o in fixed):
                    continue  # what the act is rules it out: no change could be proposed (see _fixed)
                if rule.name in deciding:
                    options = self._defeaters(alternative, act, world, facts, active)
                else:
                    options = [self._changes(alternative, act, world, facts, DERIVED_DEPTH, active)]
                for changes in options:
                    if changes and len(changes) <= MAX_CHANGES:
                        proposals.setdefault(tuple(sorted(changes, key=_change_key)), rule)
        return list(proposals.items())

    @staticmethod
    def verified(outcome: tuple, proposals: list, outcomes: list[tuple]) -> list[Counterfactual]:
        """The proposals that are real: under the changes, the act is decided otherwise, by the rule."""
        decision, _, deciding = outcome
        found = []
        for (changes, rule), (new_decision, new_basis, new_deciding) in zip(proposals, outcomes, strict=True):
            if new_decision is None or new_decision == decision:
                continue
            if rule.name in new_deciding or rule.name in deciding:
                found.append(Counterfactual(rule, changes, new_decision, new_basis))
        return _minimal(found)

    def _fixed(self, alternative: Alternative) -> list[tuple]:
        """The alternative's patterns that fix what the act is: ``?act p C`` with p its type or one of STRUCTURE,
        C given, and no rule deriving it. Such a fact is never proposed (``_stateable``), so an alternative
        whose fixed facts the act lacks can neither be made to match nor, matching, be defeated."""
        act = Variable("act")
        return [
            (p, o)
            for s, p, o in alternative.patterns
            if s == act
            and (p == RDF.type or p in STRUCTURE)
            and isinstance(o, URIRef)
            and (o if p == RDF.type else p) not in self.writers
        ]

    def _defeaters(self, alternative, act, world, facts, active) -> list[set[Change]]:
        """For an alternative that matches now: each NOT EXISTS group, stated, would defeat it."""
        bindings = {Variable("act"): act}
        if _match(alternative.patterns, bindings, world) != []:
            return []
        found = []
        for group in alternative.blockers:
            triples = [tuple(bindings.get(x, x) if isinstance(x, Variable) else x for x in t) for t in group]
            if any(isinstance(x, Variable) for t in triples for x in t):
                continue
            supplied = [self._supply(t, act, world, facts, DERIVED_DEPTH, active) for t in triples if t not in world]
            if supplied and all(s is not None for s in supplied):
                found.append(set().union(*supplied))
        return found

    def _changes(self, alternative, act, world, facts, depth, active) -> set[Change] | None:
        """The stated-fact changes that would let one alternative of a rule match, or None if none can."""
        bindings = {Variable("act"): act}
        missing = _match(alternative.patterns, bindings, world)
        if missing is None:
            return None
        changes: set[Change] = set()
        for triple in missing:
            found = self._supply(triple, act, world, facts, depth, active)
            if found is None:
                return None
            changes |= found
        for group in alternative.blockers:
            blocking = _blocking(group, bindings, world)
            if blocking:
                removable = _removable(blocking, act, facts)
                if removable is None:
                    return None  # blocked by what the act is, or by a derived fact
                changes.add(Change(False, removable))
        return changes

    def _supply(self, triple, act, world, facts, depth, active) -> set[Change] | None:
        """How to make one missing fact true: state it, or state what the rule deriving it needs."""
        s, p, o = triple
        key = o if p == RDF.type else p
        writers = [w for w in self.writers.get(key, []) if w.name in active]
        if writers and depth > 0:
            options = []
            for writer in writers:
                for alternative in self.alternatives[writer.name]:
                    bound = _bind_template(writer, triple)
                    if bound is None:
                        continue
                    missing = _match(alternative.patterns, bound, world)
                    if missing is None:
                        continue
                    supplied = [self._supply(t, act, world, facts, depth - 1, active) for t in missing]
                    if all(x is not None for x in supplied):
                        options.append(set().union(*supplied) if supplied else set())
            if p in self.circumstances and self._stateable(triple, act, world):
                options.insert(0, {Change(True, triple)})  # a circumstance a rule also derives may be stated
            return min(options, key=_cost) if options else None
        return {Change(True, triple)} if self._stateable(triple, act, world) else None

    def _stateable(self, triple, act, world) -> bool:
        """A fact a user could state: a circumstance of the act, a relation, or a party's type."""
        s, p, o = triple
        if not isinstance(p, URIRef) or isinstance(s, Literal | Variable) or isinstance(o, Variable):
            return False
        if p == RDF.type:  # a party of a more specific kind than it is said to be
            stated = {t for t in world.objects(s, RDF.type) if str(t).startswith(HK)}
            return (
                s != act
                and (o, RDFS.subClassOf, HK.Party) in world
                and o not in self.writers
                and any((o, RDFS.subClassOf, t) in world for t in stated)
            )
        derived = p in self.writers and p not in self.circumstances
        if not str(p).startswith(HK) or derived or p in STRUCTURE or s == o:
            return False  # what the act is (its actor, recipient, information, purpose) is never proposed
        if isinstance(o, Literal):
            return o.datatype is not None and str(o.datatype).endswith("#boolean")
        return p in self.ontology.properties and p != HK.purpose


class Index:
    """Triples indexed by subject and predicate, and by predicate and object: what ``_match`` asks of them."""

    def __init__(self, triples) -> None:
        self.sp: dict[tuple, list] = {}
        self.po: dict[tuple, list] = {}
        self.all: set[tuple] = set()
        for s, p, o in triples:
            if (s, p, o) not in self.all:
                self.all.add((s, p, o))
                self.sp.setdefault((s, p), []).append(o)
                self.po.setdefault((p, o), []).append(s)


class _World:
    """What the counterfactuals read: the ontology's closure and the derivation (each indexed once, never
    copied), and the scenario's nodes the act does not reach (``hidden``), which they never bind."""

    def __init__(self, indexes: list[Index], hidden: set):
        self.indexes = indexes
        self.hidden = hidden

    def __contains__(self, triple) -> bool:
        return any(triple in index.all for index in self.indexes)

    def objects(self, s, p):
        for index in self.indexes:
            yield from index.sp.get((s, p), ())

    def triples(self, pattern):
        """The triples matching a pattern whose predicate is given (None: any subject, or any object)."""
        s, p, o = pattern
        for index in self.indexes:
            if s is not None and o is not None:
                if (s, p, o) in index.all:
                    yield (s, p, o)
            elif s is not None:
                yield from ((s, p, x) for x in index.sp.get((s, p), ()))
            elif o is not None:
                yield from ((x, p, o) for x in index.po.get((p, o), ()))
            else:
                yield from (t for t in index.all if t[1] == p)


def _match(patterns, bindings: dict, world: _World) -> list[tuple] | None:
    """Bind the patterns greedily in ``world``; return the instantiated patterns it lacks (None: cannot bind)."""
    pending = list(patterns)
    missing = []
    while pending:
        pending.sort(key=lambda t: -sum(1 for x in t if not isinstance(x, Variable) or x in bindings))
        progress = False
        for pattern in list(pending):
            s, p, o = (bindings.get(x, x) if isinstance(x, Variable) else x for x in pattern)
            if isinstance(p, Variable) or (isinstance(s, Variable) and isinstance(o, Variable)):
                continue
            query = tuple(None if isinstance(x, Variable) else x for x in (s, p, o))
            hidden = world.hidden  # nodes the act does not reach are never proposed (reach.py)
            match = min((t for t in world.triples(query) if t[0] not in hidden and t[2] not in hidden), default=None)
            if match is not None:
                for variable, value in zip((s, p, o), match, strict=True):
                    if isinstance(variable, Variable):
                        bindings[variable] = value
            elif not isinstance(s, Variable) and not isinstance(o, Variable):
                missing.append((s, p, o))
            else:
                continue
            pending.remove(pattern)
            progress = True
        if not progress:
            return None
    return missing


def _blocking(group, bindings: dict, world: _World) -> list[tuple]:
    """The facts a NOT EXISTS group finds with these bindings (empty when it does not block)."""
    local = dict(bindings)
    missing = _match(group, local, world)
    if missing is None or missing:
        return []
    return [tuple(local.get(x, x) if isinstance(x, Variable) else x for x in pattern) for pattern in group]


def _removable(blocking: list[tuple], act, facts: Graph) -> tuple | None:
    """The one stated fact whose removal lifts a block: a circumstance first, then a relation or a type.

    What the act is (its type, actor, recipient, information, purpose) is never proposed.
    """
    candidates = [
        t for t in blocking if t in facts and t[1] not in STRUCTURE and not (t[0] == act and t[1] == RDF.type)
    ]
    candidates.sort(key=lambda t: (not isinstance(t[2], Literal), t[1] == RDF.type, tuple(map(str, t))))
    return candidates[0] if candidates else None


def _bind_template(rule: Rule, triple) -> dict | None:
    """Bindings under which one of a rule's template triples is ``triple``."""
    for pattern in rule.template:
        bindings = {}
        for term, value in zip(pattern, triple, strict=True):
            if isinstance(term, Variable):
                if bindings.setdefault(term, value) != value:
                    break
            elif isinstance(term, BNode) or term != value:
                break
        else:
            return bindings
    return None


def apply(facts: set, changes) -> set:
    """The facts (a set of triples, changed in place) with the changes made; stating a boolean replaces its other
    value."""
    for change in changes:
        s, p, o = change.triple
        if change.add:
            if isinstance(o, Literal) and o.datatype is not None and str(o.datatype).endswith("#boolean"):
                facts.discard((s, p, Literal(not o.toPython())))
            facts.add(change.triple)
        else:
            facts.discard(change.triple)
    return facts


def _cost(changes: set[Change]) -> int:
    """How far a set of changes strays: a contrary type (a party of another kind) costs more than a fact."""
    return sum(3 if c.triple[1] == RDF.type else 1 for c in changes)


def _change_key(change: Change) -> tuple:
    return (not change.add, tuple(str(x) for x in change.triple))


def _minimal(found: list[Counterfactual]) -> list[Counterfactual]:
    """Drop a counterfactual whose changes include another's for the same rule; smallest first."""
    found.sort(key=lambda c: (len(c.changes), c.rule.name))
    kept: list[Counterfactual] = []
    for c in found:
        if not any(k.rule.name == c.rule.name and set(k.changes) <= set(c.changes) for k in kept):
            kept.append(c)
    return kept
