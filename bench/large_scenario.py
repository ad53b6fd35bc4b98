"""A scenario file of many parties and one act: the parties of a large audit log (bench/make_log.py).

    python bench/large_scenario.py [--patients 3000] [--seed 2011] [--out large.yaml] [--stages]

The parties are make_log.py's ``parties()`` for that many patients (about 1.4 nodes a patient);
the act appended is a disclosure from the hospital to the first patient's health plan for payment.
The same seed gives the same file. ``--stages`` also decides it in this process, as ``hipaa-kg
evaluate`` does, and prints the seconds each stage took (stages nest: see the labels).
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_log import parties  # noqa: E402


def scenario(patients: int = 3000, seed: int = 2011) -> dict:
    """The scenario: every party of the log, and one act about its first patient."""
    facts, _ = parties(random.Random(seed), patients)
    plan = next(f["enrolledIn"] for f in facts if f["id"] == "patient0")
    act = {
        "id": "act",
        "type": "Disclosure",
        "actor": "hospital",
        "recipient": plan,
        "information": {"type": "ProtectedHealthInformation", "about": "patient0"},
        "purpose": "Payment",
    }
    title = f"One disclosure beside the parties of a {patients:,}-patient audit log (bench/large_scenario.py)"
    return {"title": title, "facts": [*facts, act]}


def write(path: Path, patients: int = 3000, seed: int = 2011) -> Path:
    path.write_text(yaml.safe_dump(scenario(patients, seed), sort_keys=False), encoding="utf-8")
    return path


def stages(path: Path) -> dict[str, float]:
    """Seconds of each stage of deciding the file in this process (the caches as they are)."""
    found: dict[str, float] = {"imports, ontology, rules, reasoner": 0.0}

    def timed(owner, name: str, label: str) -> None:
        function = getattr(owner, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                found[label] = found.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, wrapper)

    start = time.perf_counter()
    from reasoner import decide, engine, record, scenario, validate, whynot

    for owner, name, label in (
        (scenario, "_read_yaml", "load: YAML"),
        (scenario, "_parse_jsonld", "load: JSON-LD to RDF (rdflib)"),
        (scenario, "_check_iris", "load: IRIs checked"),
        (decide.Reasoner, "typed", "ancestor types added (decide.py)"),
        (validate.Validator, "validate_many", "validation (validate.py and pySHACL)"),
        (validate, "shacl_validate", "of which pySHACL"),
        (engine.Engine, "derive_many", "runs of the rules (engine.py), the act's and its counterfactuals'"),
        (record.RecordWriter, "__init__", "record writers (record.py)"),
        (decide.Reasoner, "_counterfactuals", "counterfactuals (decide.py), with their run of the rules"),
        (whynot.WhyNot, "proposals", "of which proposals (whynot.py)"),
        (decide, "act_facts", "of which the facts each act reaches (reach.py)"),
    ):
        found[label] = 0.0  # the order they are printed in
        timed(owner, name, label)
    reasoner = decide.Reasoner()
    found["imports, ontology, rules, reasoner"] = time.perf_counter() - start
    start = time.perf_counter()
    reasoner.decide(path)
    found["decide, all of it (the stages above but the first)"] = time.perf_counter() - start
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--out", default="large.yaml")
    parser.add_argument("--stages", action="store_true", help="decide it here and print where the time goes")
    args = parser.parse_args(argv)
    path = write(Path(args.out), args.patients, args.seed)
    if args.stages:
        print("| stage | seconds |\n|---|---:|")
        for label, seconds in stages(path).items():
            print(f"| {label} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
