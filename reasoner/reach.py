"""What an act reaches: its parties and what is connected to them, not through another individual.

A decision about an act rests on its parties, what they are and how they stand to
one another and to the individual the information is about; never on another
individual. ``hipaa-kg batch`` decides an event in this part of the parties
(cases.py), and the counterfactuals of whynot.py name only nodes in it, so that
both give what ``evaluate`` gives for the whole file.
"""

from __future__ import annotations

from collections import deque

from rdflib import RDF, Graph, Literal

from .namespaces import HK

ACT_PARTIES = (HK.actor, HK.recipient, HK.forActivitiesOf)


_TYPE, _PURPOSE, _HK = RDF.type, HK.purpose, str(HK)  # read once: rdflib's namespace attributes are slow


def is_node(p, o) -> bool:
    """Whether the object of a triple is a node of the scenario, not a value or a term (a type, a purpose)."""
    return not isinstance(o, Literal) and p != _TYPE and p != _PURPOSE and not o.startswith(_HK)


def touching(graph: Graph) -> dict:
    """Each node's triples: those it is the subject of, and those it is the object of."""
    found: dict = {}
    for s, p, o in graph:
        found.setdefault(s, []).append((s, p, o))
        if is_node(p, o) and o != s:
            found.setdefault(o, []).append((s, p, o))
    return found


def reach(index: dict, starts, individuals) -> set:
    """The nodes connected to ``starts``, not through an individual (the starts themselves are kept)."""
    seen = set(starts)
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        for s, p, o in index.get(node, ()):
            if not is_node(p, o):
                continue
            for other in (s, o):
                if other not in seen and other not in individuals:
                    seen.add(other)
                    queue.append(other)
    return seen


def act_reach(facts: Graph, typed: Graph, act) -> set:
    """The nodes of the stated facts that an act reaches: it, its information, its parties and their
    connections, and the individual its information is about."""
    starts = [o for p in ACT_PARTIES for o in facts.objects(act, p)]
    information = list(facts.objects(act, HK.information))
    starts += [o for i in information for o in facts.objects(i, HK.createdBy)]
    individuals = set(typed.subjects(RDF.type, HK.Individual))
    found = reach(touching(facts), starts, individuals)
    found.update([act, *information])
    found.update(o for i in information for o in facts.objects(i, HK.about))
    return found


def act_facts(facts: Graph, typed: Graph, act, reached: set | None = None) -> set[tuple]:
    """The stated facts among the nodes an act reaches (``reached``, if known; and their values): all that
    decides the act."""
    reached = reached if reached is not None else act_reach(facts, typed, act)
    return {(s, p, o) for s, p, o in facts if s in reached and (o in reached or not is_node(p, o))}
