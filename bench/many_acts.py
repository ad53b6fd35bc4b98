"""Acts in one store: milliseconds per act as the acts that share one run of the rules grow.

    python bench/many_acts.py [--sizes 100,1000,10000] [--seed 2011]

A synthetic audit log (bench/make_log.py) gives N events; each event becomes the world
``hipaa-kg batch`` decides it in (the act and the part of the parties it reaches, cases.py),
and the N worlds are derived in one run of the rules (``Engine.derive_many``). It is timed
with today's rules and with the earlier form of queries/rules/decision.rq (a FILTER NOT
EXISTS comparing every finding with every other, kept below for the comparison), and beside
the hand-written function (bench/handwritten.py) deciding the same events. Validation and
counterfactuals are not part of this figure: the rules alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

QUADRATIC_DECISION = """\
#+ summary: The findings of the highest precedence about an act decide it (the earlier, quadratic form).
#+ provision: 45 CFR 164.502(a)
PREFIX hk: <https://w3id.org/hipaa-kg/>
CONSTRUCT { ?act hk:decidedBy ?finding ; hk:outcome ?decision . }
WHERE {
  ?finding a hk:Finding ; hk:act ?act ; a ?kind .
  ?kind hk:precedence ?rank ; hk:decision ?decision .
  FILTER NOT EXISTS {
    ?other a hk:Finding ; hk:act ?act ; a ?otherKind .
    ?otherKind hk:precedence ?otherRank .
    FILTER(?otherRank > ?rank)
  }
}
"""


def worlds(size: int, seed: int, day: dt.date):
    """The events of a log of ``size`` events, each as the typed, dated facts batch decides it in."""
    import tempfile

    import make_log
    import yaml

    from reasoner.cases import Decider, Parties
    from reasoner.decide import Reasoner
    from reasoner.scenario import load

    rng = random.Random(seed)
    facts, who = make_log.parties(rng)
    events = [{k: v for k, v in e.items() if k != "date"} for e in make_log.events(rng, who, facts, size)]
    reasoner = Reasoner(why_not=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "parties.yaml"
        path.write_text(yaml.safe_dump({"facts": facts}, sort_keys=False))
        parties = Parties.load(reasoner, load(str(path)))
    decider = Decider(reasoner, parties, day)
    found = []
    for event in events:
        graph, _ = decider._graph(event)
        found.append(reasoner._dated(reasoner.typed_triples(set(graph)), day))
    return reasoner, facts, events, found


def rules_with(reasoner, decision_text: str):
    """Today's rules with another text of decision.rq."""
    from reasoner.rules import Calendar, order_rules, parse_rule

    rules = [
        r if r.name != "decision" else parse_rule("decision", decision_text, reasoner.ontology)
        for r in reasoner.rules.order
    ]
    ruleset = order_rules(rules)
    ruleset.calendar = Calendar(reasoner.ontology, rules)
    return ruleset


def timed(engine, batch) -> float:
    start = time.perf_counter()
    engine.derive_many(batch)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--skip-quadratic-above", type=int, default=1000, help="the earlier decision.rq is slow")
    args = parser.parse_args(argv)
    import handwritten

    from reasoner.engine import Engine

    day = dt.date(2026, 11, 24)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{platform.machine()}, {platform.python_version()}, seed {args.seed}, {day}")
    print("| acts in one store | today's rules, ms/act | earlier decision.rq, ms/act | hand-written, ms/act |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        reasoner, facts, events, batch = worlds(size, args.seed, day)
        engine = Engine(reasoner.ontology, reasoner.rules)
        engine.derive_many(batch[:10])  # warm: the store and the prepared queries
        ours = timed(engine, batch) / size * 1000
        if size <= args.skip_quadratic_above:
            earlier = Engine(reasoner.ontology, rules_with(reasoner, QUADRATIC_DECISION))
            earlier.derive_many(batch[:10])
            theirs = f"{timed(earlier, batch) / size * 1000:.2f}"
        else:
            theirs = "not run"
        parties = handwritten.Parties(facts, day)
        start = time.perf_counter()
        for event in events:
            handwritten.decide(event, parties)
        hand = (time.perf_counter() - start) / size * 1000
        print(f"| {size:,} | {ours:.2f} | {theirs} | {hand:.4f} |", flush=True)


if __name__ == "__main__":
    main()
