"""Start-up time of the command line, each run a new process.

    python bench/startup_time.py [--repeat N] [--command LABEL=PATH ...]

Times ``hipaa-kg --help``, ``hipaa-kg evaluate examples/payment-claim-to-plan.yaml``
and ``hipaa-kg evaluate`` of a 3,000-patient parties file plus one act (bench/large_scenario.py)
with the cache folder filled (a temporary XDG_CACHE_HOME per command, filled by
one untimed run), and counts the files each cache folder holds afterwards.
``--command`` names an installation's ``hipaa-kg`` (default: this environment's);
given several times, e.g. an older commit's beside this one, the commands take
turns run by run, so that a shared machine's load falls on each alike.
Prints a Markdown table: medians (and fastest) of N runs, wall-clock and CPU
(user + system) seconds. ``--stages`` prints instead where the start-up of
``evaluate`` goes in this environment: imports, ontology, rules, the rest of the
Reasoner, the first decision (medians of N new processes).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import large_scenario  # noqa: E402

EXAMPLE = ROOT / "examples" / "payment-claim-to-plan.yaml"


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


STAGES = """
import sys, time
marks, last = [], time.perf_counter()
def mark(label):
    global last
    now = time.perf_counter()
    marks.append((label, now - last))
    last = now
import rdflib, pyoxigraph, pyshacl, yaml
mark("import rdflib, pyoxigraph, pyshacl, yaml")
from reasoner.decide import Reasoner
from reasoner.ontology import load_ontology
from reasoner.rules import load_rules
mark("import the reasoner's modules (and networkx, where they do)")
ontology = load_ontology()
mark("ontology: terms, closure, provisions (cache filled)")
rules = load_rules(ontology)
mark("rules: parsed and ordered in strata, or read from the cache")
reasoner = Reasoner(ontology=ontology, rules=rules)
mark("engine, shapes (validator), counterfactual planner")
reasoner.decide(sys.argv[1])
mark("the first decision, with counterfactuals")
for label, seconds in marks:
    print(f"{seconds}\t{label}")
"""


def stages(repeat: int) -> None:
    """Where the start-up of ``evaluate`` goes: medians of ``repeat`` new processes, the cache filled."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        found: dict[str, list[float]] = {}
        for _ in range(repeat + 1):  # the first fills the cache; run outside the checkout, so as to import the
            # installation of sys.executable (another commit's, say), not this folder's reasoner/
            out = subprocess.run(
                [sys.executable, "-c", STAGES, str(EXAMPLE)], env=env, cwd=cache, check=True, capture_output=True
            )
            for line in out.stdout.decode().splitlines():
                seconds, label = line.split("\t")
                found.setdefault(label, []).append(float(seconds))
    print(f"medians of {repeat} new processes, seconds, the cache filled\n")
    print("| stage | seconds |\n|---|---|")
    for label, times in found.items():
        print(f"| {label} | {statistics.median(times[1:]):.2f} |")
    print(f"| total, interpreter start aside | {sum(statistics.median(t[1:]) for t in found.values()):.2f} |")


def figures(runs: list[tuple[float, float]]) -> str:
    wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
    return f"{statistics.median(wall):.2f} ({min(wall):.2f}) | {statistics.median(cpu):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--patients", type=int, default=3000, help="patients of the large parties file")
    parser.add_argument("--command", action="append", metavar="LABEL=PATH", help="a hipaa-kg to run (repeatable)")
    parser.add_argument("--stages", action="store_true", help="where evaluate's start-up goes, in this environment")
    args = parser.parse_args()
    if args.stages:
        stages(args.repeat)
        return
    commands = dict(c.split("=", 1) for c in args.command or [f"this checkout={Path(sys.executable).parent}/hipaa-kg"])
    with tempfile.TemporaryDirectory() as caches:
        large = large_scenario.write(Path(caches, "large.yaml"), patients=args.patients)
        runs = {"--help": ["--help"], "example": ["evaluate", str(EXAMPLE)], "large": ["evaluate", str(large)]}
        envs = {label: dict(os.environ, XDG_CACHE_HOME=str(Path(caches, str(n)))) for n, label in enumerate(commands)}
        for label, path in commands.items():
            timed([path, "evaluate", str(EXAMPLE)], envs[label])  # fills the cache
        found: dict[tuple[str, str], list] = {(label, run): [] for label in commands for run in runs}
        for _ in range(args.repeat):
            for label, path in commands.items():
                for run, argv in runs.items():
                    found[label, run].append(timed([path, *argv], envs[label]))
        files = {label: len(list(Path(envs[label]["XDG_CACHE_HOME"], "hipaa-kg").iterdir())) for label in commands}
    print(f"medians (fastest) of {args.repeat} runs, seconds; the cache filled by one run before\n")
    print(
        "| hipaa-kg | `--help` wall | `--help` CPU | `evaluate` example wall | `evaluate` example CPU "
        f"| {args.patients:,} patients + 1 act wall | {args.patients:,} patients + 1 act CPU | cache files after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label in commands:
        times = " | ".join(figures(found[label, run]) for run in runs)
        print(f"| {label} | {times} | {files[label]} after {args.repeat * len(runs) + 1} runs |")


if __name__ == "__main__":
    main()
