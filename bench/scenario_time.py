"""Per-scenario time, cold and warm, on both engines.

    python bench/scenario_time.py [--repeat N] [FILE...]

- cold, empty cache: a new process with an empty cache folder loads the
  ontology (computing its OWL RL closure), the rules and the shapes, and
  decides one scenario;
- cold, cached closure: the same with the closure already on disk;
- warm: in one process, the median time of ``Reasoner.decide`` per scenario
  file, everything loaded once.

Prints a Markdown table (medians of N runs); BENCHMARKS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("oxigraph", "rdflib")

COLD = """
import sys, time
start = time.perf_counter()
from reasoner import Reasoner
Reasoner(engine=sys.argv[1]).decide(sys.argv[2])
print(time.perf_counter() - start)
"""


def cold(engine: str, scenario: Path, cache: str) -> float:
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    out = subprocess.run(
        [sys.executable, "-c", COLD, engine, str(scenario)], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def warm(engine: str, files: list[Path], repeat: int) -> tuple[float, ...]:
    """Median and slowest whole decision per file (``Reasoner.decide``, one file at a time), the median without
    counterfactuals, the rules alone, and every file in one ``decide_many`` (per file)."""
    from reasoner import Reasoner, load

    reasoner = Reasoner(engine=engine)
    plain = Reasoner(engine=engine, ontology=reasoner.ontology, rules=reasoner.rules, why_not=False)
    for path in files:  # one untimed pass: imports, query preparation
        reasoner.decide(path)
        plain.decide(path)
    per_file, without, rules_only = [], [], []
    for path in files:
        times, bare, derive = [], [], []
        facts = reasoner._dated(reasoner.typed(load(path).graph), reasoner.decide(path).as_of)
        for _ in range(repeat):
            start = time.perf_counter()
            reasoner.decide(path)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain.decide(path)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            reasoner.engine.derive(facts)
            derive.append(time.perf_counter() - start)
        per_file.append(statistics.median(times))
        without.append(statistics.median(bare))
        rules_only.append(statistics.median(derive))
    together = []
    for _ in range(repeat):
        start = time.perf_counter()
        reasoner.decide_many(files)
        together.append((time.perf_counter() - start) / len(files))
    return (
        statistics.median(per_file),
        max(per_file),
        statistics.median(without),
        statistics.median(rules_only),
        statistics.median(together),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", action="append", choices=ENGINES, help="an engine to time (default: both)")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "examples").glob("*.yaml"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(files)} scenario files, medians of {args.repeat} runs\n")
    print(
        "| engine | cold, empty cache (s) | cold, cached (s) | warm, median per scenario (ms) | warm, slowest (ms) "
        "| warm, without counterfactuals (ms) | warm, rules alone (ms) | all files in one decide_many (ms per file) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for engine in args.engine or ENGINES:
        empty, cached = [], []
        for _ in range(max(1, args.repeat // 2)):
            with tempfile.TemporaryDirectory() as cache:
                empty.append(cold(engine, files[0], cache))
                cached.append(cold(engine, files[0], cache))
        median, slowest, without, rules, together = warm(engine, files, args.repeat)
        print(
            f"| {engine} | {statistics.median(empty):.2f} | {statistics.median(cached):.2f} "
            f"| {median * 1000:.1f} | {slowest * 1000:.1f} | {without * 1000:.1f} | {rules * 1000:.1f} "
            f"| {together * 1000:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
