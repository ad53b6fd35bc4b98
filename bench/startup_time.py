"""Start-up time of the command line, each run a new process.

    python bench/startup_time.py [--repeat N] [--command LABEL=PATH ...]

Times ``hipaa-kg --help`` and ``hipaa-kg evaluate examples/payment-claim-to-plan.yaml``
with the cache folder filled (a temporary XDG_CACHE_HOME per command, filled by
one untimed run), and counts the files each cache folder holds afterwards.
``--command`` names an installation's ``hipaa-kg`` (default: this environment's);
given several times, e.g. an older commit's beside this one, the commands take
turns run by run, so that a shared machine's load falls on each alike.
Prints a Markdown table: medians (and fastest) of N runs, wall-clock and CPU
(user + system) seconds.
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
EXAMPLE = ROOT / "examples" / "payment-claim-to-plan.yaml"


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def figures(runs: list[tuple[float, float]]) -> str:
    wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
    return f"{statistics.median(wall):.2f} ({min(wall):.2f}) | {statistics.median(cpu):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--command", action="append", metavar="LABEL=PATH", help="a hipaa-kg to run (repeatable)")
    args = parser.parse_args()
    commands = dict(c.split("=", 1) for c in args.command or [f"this checkout={Path(sys.executable).parent}/hipaa-kg"])
    with tempfile.TemporaryDirectory() as caches:
        envs = {label: dict(os.environ, XDG_CACHE_HOME=str(Path(caches, str(n)))) for n, label in enumerate(commands)}
        for label, path in commands.items():
            timed([path, "evaluate", str(EXAMPLE)], envs[label])  # fills the cache
        helps: dict[str, list] = {label: [] for label in commands}
        evaluates: dict[str, list] = {label: [] for label in commands}
        for _ in range(args.repeat):
            for label, path in commands.items():
                helps[label].append(timed([path, "--help"], envs[label]))
                evaluates[label].append(timed([path, "evaluate", str(EXAMPLE)], envs[label]))
        files = {label: len(list(Path(envs[label]["XDG_CACHE_HOME"], "hipaa-kg").iterdir())) for label in commands}
    print(f"medians (fastest) of {args.repeat} runs, seconds; the cache filled by one run before\n")
    print("| hipaa-kg | `--help` wall | `--help` CPU | `evaluate` wall | `evaluate` CPU | cache files after |")
    print("|---|---|---|---|---|---|")
    for label in commands:
        runs = args.repeat + 1
        print(f"| {label} | {figures(helps[label])} | {figures(evaluates[label])} | {files[label]} after {runs} runs |")


if __name__ == "__main__":
    main()
