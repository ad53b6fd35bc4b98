"""Audit logs at scale: hipaa-kg batch against the naive pipeline and a hand-written function.

    python bench/batch_bench.py --sizes 1000,10000 --out /tmp/bench

For each size, a synthetic log (bench/make_log.py, the same seed) is decided by:

1. ``hipaa-kg batch`` (default engine), one process and ``--workers 2``;
2. the naive pipeline a user would write from the design card, on the first
   ``--naive`` events only (it is that slow): for each event, an rdflib graph of
   the ontology, the parties and the act, the owlrl closure, pyshacl with the
   scenario shapes, and the same SPARQL rules as CONSTRUCT queries in rdflib,
   stratum by stratum;
3. bench/handwritten.py, a function over dicts, JSON in and out, checked to agree
   with hipaa-kg (decision and basis) on every event.

It prints one Markdown table: events/s end to end, peak memory of the process
tree (sampled every 0.1 s), and hipaa-kg's distinct cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-24"


def measured(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB of the process and its children, and standard error."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    err = process.stderr.read()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {err.strip()[-500:]}")
    return seconds, peak / 2**20, err


def batch(folder: Path, workers: int, explain: str | None = "why-not", events: str = "events.jsonl", command=None):
    """Wall seconds, peak MB and the output of one ``hipaa-kg batch`` run (``command``: another installation's,
    which may not know ``--explain``: None leaves it out)."""
    out = folder / f"decisions-{workers}-{explain}-{Path(events).stem}.jsonl"
    for stale in (out, Path(f"{out}.partial"), Path(f"{out}.partial.json"), Path(f"{out}.lock")):
        stale.unlink(missing_ok=True)
    command = list(command or [sys.executable, "-m", "reasoner.cli"]) + ["batch", str(folder / events), "--parties"]
    command += [str(folder / "parties.yaml"), "-o", str(out), "--as-of", AS_OF, "--workers", str(workers)]
    if explain is not None:
        command += ["--explain", explain]
    seconds, peak, _ = measured(command + ["--no-progress"])
    return seconds, peak, out


def handwritten(folder: Path) -> tuple[float, float, Path]:
    out = folder / "handwritten.jsonl"
    command = [sys.executable, str(HERE / "handwritten.py"), str(folder / "events.jsonl"), str(folder / "parties.yaml")]
    seconds, peak, _ = measured(command + [str(out), AS_OF])
    return seconds, peak, out


def agree(ours: Path, theirs: Path) -> int:
    """How many events the hand-written function decides otherwise than hipaa-kg (decision or basis)."""
    differ = 0
    with open(ours) as a, open(theirs) as b:
        for x, y in zip(a, b, strict=True):
            x, y = json.loads(x), json.loads(y)
            differ += (x.get("decision"), x.get("basis")) != (y["decision"], y["basis"])
    return differ


def naive(folder: Path, count: int) -> float:
    """Events per second of the naive pipeline over the first ``count`` events."""
    import owlrl
    import yaml
    from pyshacl import validate
    from rdflib import Graph

    from reasoner.ontology import load_ontology, term_files
    from reasoner.resources import ontology_file
    from reasoner.rules import load_rules

    ontology = load_ontology()
    rules = load_rules(ontology)
    shapes = Graph().parse(ontology_file("shapes", "scenario.ttl"))
    terms = Graph()
    for name in term_files():
        terms.parse(ontology_file(name))
    parties = yaml.safe_load((folder / "parties.yaml").read_text())["facts"]
    context = json.loads(ontology_file("context.jsonld").read_text())["@context"]
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()[:count]]
    started = time.perf_counter()
    for event in events:
        act = {"id": event["id"], "type": event["act"]}
        act |= {k: v for k, v in event.items() if k not in ("id", "act", "subject", "information")}
        act["information"] = {"type": event.get("information", "HealthInformation"), "about": event.get("subject")}
        graph = Graph()
        graph += terms
        graph.parse(data=json.dumps({"@context": context, "@graph": parties + [act]}), format="json-ld")
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
        validate(graph, shacl_graph=shapes, advanced=True, inference="none")
        for rule in rules.order:
            for triple in graph.query(rule.text):
                graph.add(triple)
    return len(events) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated numbers of events")
    parser.add_argument("--naive", type=int, default=5, help="events the naive pipeline decides (0: skip it)")
    parser.add_argument("--out", default="bench-out", help="a folder for the logs and the decisions")
    parser.add_argument("--before", help="an earlier installation's hipaa-kg command, timed on the first events")
    parser.add_argument("--before-events", type=int, default=200, help="how many events the earlier one decides")
    parser.add_argument("--single-above", type=int, default=100_000, help="no one-process run above this size")
    parser.add_argument("--explain-up-to", type=int, default=1_000_000, help="--explain all and none up to this size")
    args = parser.parse_args(argv)
    rows = []
    naive_rate = None
    for size in (int(s) for s in args.sizes.split(",")):
        folder = Path(args.out) / str(size)
        subprocess.run(
            [sys.executable, str(HERE / "make_log.py"), "--events", str(size), "--out", str(folder)], check=True
        )
        if args.before:
            head = folder / "head.jsonl"
            with open(folder / "events.jsonl") as f, open(head, "w") as out:
                out.writelines(line for _, line in zip(range(args.before_events), f, strict=False))
            now, _, ours = batch(folder, 1, "all", events="head.jsonl")  # as the earlier one explains
            then, _, theirs = batch(folder, 1, None, events="head.jsonl", command=[args.before])
            same = ours.read_bytes() == theirs.read_bytes()
            print(
                f"{size}: first {args.before_events} events, one process: before {args.before_events / then:.2f}"
                f" events/s, after {args.before_events / now:.1f} events/s, records identical: {same}",
                file=sys.stderr,
                flush=True,
            )
        two, two_peak, decided_two = batch(folder, 2)
        if size <= args.single_above:
            one, one_peak, decided = batch(folder, 1)
            assert decided.read_bytes() == decided_two.read_bytes(), "one process and two workers differ"
        else:
            one, one_peak, decided = None, None, decided_two
        for explain in ("all", "none") if size <= args.explain_up_to else ():
            seconds, peak, _ = batch(folder, 2, explain)
            print(
                f"{size}: --workers 2 --explain {explain}: {size / seconds:,.0f} events/s, {peak:,.0f} MB",
                file=sys.stderr,
                flush=True,
            )
        hand, hand_peak, hand_out = handwritten(folder)
        differ = agree(hand_out, decided)
        if naive_rate is None and args.naive:
            naive_rate = naive(folder, args.naive)
        row = (size, size / one if one else None, one_peak, size / two, two_peak, size / hand, hand_peak, differ)
        rows.append(row)
        print(f"{size}: {row}", file=sys.stderr, flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today()}"
    print(f"Machine: {machine}\n")
    print(
        "| events | batch, 1 process (events/s) | peak MB | batch, 2 workers (events/s) | peak MB "
        "| hand-written (events/s) | peak MB | disagreements |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, a, am, b, bm, h, hm, d in rows:
        single = f"{a:,.1f} | {am:,.0f}" if a else "not run | "
        print(f"| {size:,} | {single} | {b:,.1f} | {bm:,.0f} | {h:,.0f} | {hm:,.0f} | {d} |")
    if naive_rate is not None:
        print(
            f"\nNaive pipeline (rdflib + owlrl + pyshacl + the same rules in rdflib, per event): "
            f"{naive_rate:.3f} events/s over the first {args.naive} events."
        )


if __name__ == "__main__":
    main()
