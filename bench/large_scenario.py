"""A scenario file of many parties and one act: the parties of a large audit log (bench/make_log.py).

    python bench/large_scenario.py [--patients 3000] [--seed 2011] [--out large.yaml]

The parties are make_log.py's ``parties()`` for that many patients (about 1.7 nodes a patient);
the act appended is a disclosure from the hospital to the first patient's health plan for payment.
The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import random
import sys
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--out", default="large.yaml")
    args = parser.parse_args(argv)
    write(Path(args.out), args.patients, args.seed)


if __name__ == "__main__":
    main()
