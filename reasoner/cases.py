"""Decide the events of an audit log, each distinct case once.

An event is decided as ``evaluate`` decides the scenario "the PARTIES file plus
this one act". Audit logs repeat themselves, so the decider decides each
distinct *case* once and reuses its record, renamed, for every event of it:

- The graph of an event is its act with the part of the parties the act reaches:
  its parties and what is connected to them, except other individuals (no rule
  relates an act to an individual it is not about), and what the parties say of
  the individual it is about. tests/test_batch.py checks the records against
  ``evaluate`` of PARTIES plus the act.
- Its *case* is that graph with every node renamed by its place in the graph
  (colour refinement, the act's roles as the first colours). Two events whose
  graphs are the same once renamed are decided alike, up to the names; the record
  of the first is kept, with placeholders for the names, and written for the
  others with their own names, in the order the names give (``record.in_order``).
- Every event is validated: its columns by ``events.Columns``, its graph by the
  SHACL shapes when its case is decided (the same graph renamed has the same
  results, renamed). PARTIES itself is validated once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cachetools import LRUCache
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef

from .decide import Reasoner, not_in_force_on
from .errors import HipaaKgError
from .namespaces import HK
from .reach import is_node, reach, touching
from .record import in_order
from .scenario import Scenario

CASES_AT_A_TIME = 250  # new cases decided together (one validation, one run of the rules, one for why-not)
CACHE_MB = 128  # what a decider's caches of cases, records and reached parties may hold, at the most
BATCH_BASE = "urn:hipaa-kg:batch:"  # the base of event ids when PARTIES is Turtle (whose ids are full IRIs)
ROLES = ("actor", "recipient", "subject", "createdBy", "forActivitiesOf")
ACT_PARTIES = ("actor", "recipient", "createdBy", "forActivitiesOf")


DAY = "hkbatchday5f3c"  # the event's date in a case's record, while it is decided under one day of the case


def placeholder(i: int) -> str:
    """The name of a case's i-th node while it is decided (no placeholder is part of another)."""
    return f"hkbatch{i:05d}x5f3c"  # zero-padded: placeholders sort as their numbers do


@dataclass
class Parties:
    """The PARTIES file, read and validated once, with each node's triples."""

    scenario: Scenario
    base: str
    touching: dict  # node -> the triples it is the subject or object of (reach.touching)
    individuals: frozenset

    @classmethod
    def load(cls, reasoner: Reasoner, scenario: Scenario) -> Parties:
        typed = reasoner.typed(scenario.graph)
        if any(True for _ in typed.subjects(RDF.type, HK.Act)):
            raise HipaaKgError(f"{scenario.source}: PARTIES describes acts; the audit log holds the acts")
        violations = [v for v in reasoner.validator.validate(scenario, typed) if v.severity == "Violation"]
        if violations:
            first = violations[0].one_line(scenario.source)
            raise HipaaKgError(f"{first} (PARTIES is invalid: {len(violations)} violation(s))")
        individuals = frozenset(typed.subjects(RDF.type, HK.Individual))
        return cls(scenario, scenario.base or BATCH_BASE, touching(scenario.graph), individuals)

    def iri(self, name: str) -> URIRef:
        return URIRef(name) if ":" in name else URIRef(self.base + name)

    def name(self, node) -> str:
        text = str(node)
        return text[len(self.base) :] if text.startswith(self.base) else text


class Decider:
    """Decides events through their cases; one per process."""

    def __init__(
        self, reasoner: Reasoner, parties: Parties, as_of: dt.date, megabytes: int = CACHE_MB, explain: str = "why-not"
    ):
        self.reasoner = reasoner
        self.explain = explain
        self.parties = parties
        self.as_of = as_of
        # least recently used first out, each bounded by its estimated bytes (measured with tracemalloc on a
        # log of 6,000 events: the estimates come to about the memory the entries hold): memory stays flat
        budget = megabytes << 20
        # an act's parties -> (the nodes they reach, the triples among them)
        self.reaches = LRUCache(budget // 4, getsizeof=lambda v: 150 * len(v[0]) + 400 * len(v[1]) + 400)
        # the event's facts -> (case, names)
        self.cases = LRUCache(budget // 4, getsizeof=lambda v: 150 * len(v[1]) + 400)
        # case -> (record text, placeholders it writes, decision, stable)
        self.templates = LRUCache(budget // 2, getsizeof=lambda v: 3 * len(v[0]) + 400)
        self.decided = 0  # cases decided in full
        self.days: dict[frozenset, dt.date] = {}  # the rules in force -> the day its cases are decided on

    def records(self, chunk: list[tuple[int, dict]], check=None) -> list[tuple[str, str]]:
        """Each event's decision record as one line of JSON, and its decision (or 'invalid').

        The chunk's new cases are decided together: one validation, one run of the rules,
        one for their counterfactuals (``Reasoner.decide_many``). ``check`` is called before
        each event is keyed and before the new cases are decided; it raises to stop them.
        """
        found = []
        for _, event in chunk:
            if check is not None:
                check()
            found.append(self._case_of(event))
        new: dict[tuple, tuple] = {}
        templates: dict[tuple, tuple] = {}  # this chunk's, whatever the cache keeps
        for (_, event), (case, names) in zip(chunk, found, strict=True):
            if case in templates or case in new:
                continue
            template = self.templates.get(case)
            if template is None:
                new[case] = (event, names)
            else:
                templates[case] = template
        if new:
            if check is not None:
                check()
            templates |= self._decide_all(new)
        return [self._written(n, e, templates[c], names) for (n, e), (c, names) in zip(chunk, found, strict=True)]

    def record(self, number: int, event: dict) -> tuple[str, str]:
        """One event's record line and decision."""
        return self.records([(number, event)])[0]

    def _case_of(self, event: dict) -> tuple[tuple, list]:
        facts = tuple(sorted((k, v) for k, v in event.items() if k != "id"))
        found = self.cases.get(facts)
        if found is None:
            found = _keep(self.cases, facts, self._case(event))
        return found

    def _written(self, number: int, event: dict, template: tuple, names: list) -> tuple[str, str]:
        text, used, decision, stable = template
        for i in used:
            name = names[i] if names[i] is not None else event["id"]
            text = text.replace(placeholder(i), json.dumps(name, ensure_ascii=False)[1:-1])
        text = text.replace(DAY, self._day(event).isoformat())
        if not stable:  # the names may change the order of the record's lists: order it again
            text = json.dumps(in_order(json.loads(text)), ensure_ascii=False)
        return f'{{"line": {number}, {text[1:]}', decision

    def _day(self, event: dict) -> dt.date:
        return event.get("date") or self.as_of

    # --- the case of an event ------------------------------------------------------------

    def _graph(self, event: dict) -> tuple[set, URIRef]:
        """The event's act with the part of the parties it reaches (a set of triples)."""
        parties = self.parties
        act = parties.iri(event["id"])
        starts = tuple(parties.iri(event[c]) for c in ACT_PARTIES if c in event)
        part = self.reaches.get(starts)
        if part is None:  # the parties' part an act of these parties reaches, once for them
            reached = reach(parties.touching, starts, parties.individuals)
            inside = {
                (s, p, o)
                for node in reached
                for s, p, o in parties.touching.get(node, ())
                if s in reached and (o in reached or not is_node(p, o))
            }
            part = _keep(self.reaches, starts, (reached, frozenset(inside)))
        reached, inside = part
        graph = set(inside)
        subject = parties.iri(event["subject"]) if "subject" in event else None
        if subject is not None:
            for s, p, o in parties.touching.get(subject, ()):
                other = s if o == subject else o
                if other in reached or other == subject or not is_node(p, o):
                    graph.add((s, p, o))
        graph.update(self._act(act, event, subject))
        return graph, act

    def _act(self, act: URIRef, event: dict, subject) -> list[tuple]:
        """The act's triples, as the scenario language writes them (SCENARIOS.md)."""
        iri = self.parties.iri
        triples = [(act, RDF.type, HK[event["act"]])]
        info = {k: v for k, v in event.items() if k in ("information", "subject", "createdBy")}
        for column, value in event.items():
            if column in ("actor", "recipient", "forActivitiesOf"):
                triples.append((act, HK[column], iri(value)))
            elif column == "purpose":
                triples.append((act, HK.purpose, HK[value]))
            elif isinstance(value, bool):
                triples.append((act, HK[column], Literal(value)))
        if info:
            node = BNode()
            triples.append((act, HK.information, node))
            if "information" in info:
                triples.append((node, RDF.type, HK[info["information"]]))
            if subject is not None:
                triples.append((node, HK.about, subject))
            if "createdBy" in info:
                triples.append((node, HK.createdBy, iri(info["createdBy"])))
        return triples

    def _case(self, event: dict) -> tuple[tuple, list]:
        """The event's case, and the name each placeholder stands for (None: the event's id).

        The case is the graph with each node written as its place in the canonical order,
        and the order of the nodes' names: the placeholders keep that order, so whatever
        a rule or a counterfactual takes "first" is the same node under both names.
        """
        graph, act = self._graph(event)
        roles = {act: ["act"]}
        for role in ROLES:
            if role in event:
                roles.setdefault(self.parties.iri(event[role]), []).append(role)
        order = _canonical_order(graph, {n: "+".join(r) for n, r in roles.items()})
        named = [n for n in order if not isinstance(n, BNode)]
        by_name = sorted(range(len(named)), key=lambda i: str(named[i]))
        rank = {named[i]: r for r, i in enumerate(by_name)}
        index = {node: i for i, node in enumerate(order)}

        def term(x):
            return ("node", index[x], rank.get(x)) if x in index else ("value", repr(x))

        canonical = tuple(sorted((term(s), str(p), term(o)) for s, p, o in graph))
        case = hashlib.blake2b(repr(canonical).encode(), digest_size=16).digest()  # the canonical graph, kept small
        names = [None if named[i] == act else self.parties.name(named[i]) for i in by_name]
        return (case, self._date_key(self._day(event), graph)), names

    def _date_key(self, day: dt.date, graph: set):
        """What the event's date changes: the rules in force that day, and, where the facts hold a date
        (a date of death, which a rule compares with the day), or the day is before the first one held,
        the day itself."""
        earliest = self.reasoner.rules.calendar.earliest if self.reasoner.rules.calendar else None
        dated = any(isinstance(o, Literal) and o.datatype == XSD.date for _, _, o in graph)
        if dated or (earliest is not None and day < earliest):
            return day
        return self.reasoner.rules.in_force(day)

    def _decide_all(self, new: dict[tuple, tuple]) -> dict[tuple, tuple]:
        """Decide new cases (each an event and its names) in full under placeholder names, together; each
        one's record template (kept in the cache too)."""
        scenarios, days = [], []
        for (_, when), (event, names) in new.items():
            graph, act = self._graph(event)
            rename = {}
            for i, name in enumerate(names):
                real = act if name is None else self.parties.iri(name)
                rename[real] = URIRef(self.parties.base + placeholder(i))
            renamed = Graph()
            for s, p, o in graph:
                renamed.add((rename.get(s, s), p, rename.get(o, o)))
            scenarios.append(Scenario(self.parties.scenario.source, renamed, base=self.parties.base))
            # a case that holds no date is decided on one day of its span (the rules in force): cases of a span
            # share one run of the rules, whatever their events' days
            day = self._day(event)
            days.append(day if isinstance(when, dt.date) else self.days.setdefault(when, day))
        records = []  # a slice of cases at a time: a decided case holds its whole derivation until written
        items = list(new.items())
        for start in range(0, len(scenarios), CASES_AT_A_TIME):
            part = slice(start, start + CASES_AT_A_TIME)
            results = self.reasoner.decide_many(scenarios[part], dates=days[part], explain=self.explain)
            for (_, (_, names)), result in zip(items[part], results, strict=True):
                if result.acts:
                    records.append(dict(result.acts[0]))
                else:
                    violations = [v.as_dict() for v in result.violations]
                    records.append(
                        {"id": placeholder(names.index(None)), "conforms": result.conforms, "violations": violations}
                    )
        self.decided += len(records)
        found = {}
        for (case, (_, names)), record, day in zip(items, records, days, strict=True):
            record["asOf"] = DAY
            for rule in record.get("explanation", {}).get("notInForce", []):
                rule["text"] = rule["text"].replace(not_in_force_on(day), not_in_force_on(DAY))
            text = json.dumps(record, ensure_ascii=False)
            used = [i for i in range(len(names)) if placeholder(i) in text]
            found[case] = (text, used, record.get("decision", "invalid"), _order_stable(text, used))
            _keep(self.templates, case, found[case])
        return found


def _keep(cache: LRUCache, key, value):
    """Put a value in a bounded cache, unless it alone is larger than the cache; the value."""
    if cache.getsizeof(value) <= cache.maxsize:
        cache[key] = value
    return value


def _order_stable(text: str, used: list[int]) -> bool:
    """Whether any names in the placeholders' order leave the record's lists in the order they are.

    Names are compared with one another (their order is part of the case) and with other
    strings; if names sorting below every other string and names sorting above them both
    leave the order as it is, no name in between changes it.
    """
    if '"explanation"' not in text:
        return True
    for mark in ("\u0001", "\uffff"):
        extreme = text
        for i in used:
            extreme = extreme.replace(placeholder(i), json.dumps(f"{mark}{i:05d}", ensure_ascii=False)[1:-1])
        if json.dumps(in_order(json.loads(extreme)), ensure_ascii=False) != extreme:
            return False
    return True


def _canonical_order(graph: Graph, roles: dict) -> list:
    """The graph's nodes ordered by colour refinement from their roles, ties broken by name.

    Nodes with the same final colour have the same neighbourhood to any depth; the
    order only has to be the same for graphs that are the same up to names, which
    holds for the colours, and for the tie-break whenever the tied nodes are alike.
    """
    nodes = {x for s, p, o in graph for x in (s, o) if x == s or is_node(p, o)}
    nodes = {n for n in nodes if not isinstance(n, Literal)}
    colour = {n: roles.get(n, "") for n in nodes}
    edges = {n: [] for n in nodes}
    for s, p, o in graph:
        if o in nodes:
            edges[s].append((str(p), 1, o))
            edges[o].append((str(p), 0, s))
        else:
            edges[s].append((str(p), 2, repr(o)))
    classes = len(set(colour.values()))
    for _ in range(len(nodes)):
        colour = {
            n: hash((colour[n], tuple(sorted((p, d, colour[x] if d < 2 else x) for p, d, x in edges[n]))))
            for n in nodes
        }
        now = len(set(colour.values()))
        if now == classes:
            break
        classes = now
    return sorted(nodes, key=lambda n: (colour[n], isinstance(n, BNode), str(n)))
