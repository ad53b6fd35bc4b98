"""Warm ``Reasoner.decide``, one example file at a time: the median, with and without counterfactuals.

    python bench/decide_warm.py LABEL

Uses only ``Reasoner.decide``, so that it runs under any installation of hipaa-kg: run it with an
earlier commit's Python and this one's, in turns, to compare them on the same machine and load
(BENCHMARKS.md, "Deciding one scenario").
"""

import statistics
import sys
import time
from pathlib import Path

from reasoner import Reasoner

FILES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def median_ms(reasoner) -> float:
    times = []
    for path in FILES:
        start = time.perf_counter()
        reasoner.decide(str(path))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    full = Reasoner()
    plain = Reasoner(ontology=full.ontology, rules=full.rules, why_not=False)
    for path in FILES:  # warm: queries prepared, caches filled
        full.decide(str(path))
        plain.decide(str(path))
    label = sys.argv[1] if len(sys.argv) > 1 else "this installation"
    print(f"{label}: with counterfactuals {median_ms(full):.1f} ms, without {median_ms(plain):.1f} ms", flush=True)


if __name__ == "__main__":
    main()
