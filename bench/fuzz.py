"""Fuzzing: thousands of generated and broken scenario files through ``hipaa-kg evaluate``.

    python bench/fuzz.py [--cases N] [--seed S] [--workers W] [--subprocess K] [--json OUT]
    python bench/fuzz.py --seed S --show INDEX      # write case INDEX to a file, to reproduce it

The corpus (``bench/fuzz_cases.py``) is a pure function of the seed: case i has
the kind, format, base (an example or a generated scenario) and random seed that
its index gives, so a failure is reproduced from its index alone. Each case runs
through the public path, ``reasoner.cli.main(["evaluate", "--format", "json",
FILE])`` in a worker process with standard output and error captured (one
reasoner per worker, loaded once), and a sample of ``--subprocess`` cases through
the installed ``hipaa-kg`` command in a process of its own. Each is classified:

- record: exit 0 and a decision record;
- violation: exit 1 and a record naming at least one violation;
- error: exit 2 and exactly one line on standard error, ``hipaa-kg: FILE...``;
- failure: anything else: a traceback, exit 3 (internal error), an exception out
  of ``main``, more than one error line, a line on standard error that does not
  name the file, a literal value of the file echoed on standard error, or no
  answer within ``--timeout`` seconds.

Prints a table of outcomes by kind and by format; ``--json`` writes the figures.
Exit status 1 when any case fails. BENCHMARKS.md keeps the figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_cases import KINDS, SUFFIXES, Case, make_case  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("record", "violation", "error", "failure")
SCHEDULE = ("generated", "generated", *KINDS)  # generated scenarios are decided whole: three in every 16 cases


def plan(index: int, seed: int) -> tuple[str, str, int, bool]:
    """Case ``index`` of the corpus of ``seed``: its kind, suffix, random seed and whether it mutates an example."""
    kind = SCHEDULE[index % len(SCHEDULE)]
    suffix = SUFFIXES[(index // len(SCHEDULE)) % len(SUFFIXES)]
    from_example = (index // (len(SCHEDULE) * len(SUFFIXES))) % 2 == 0 and kind != "generated"
    return kind, suffix, seed * 1_000_003 + index, from_example


def corpus_case(index: int, seed: int) -> Case:
    return make_case(*plan(index, seed))


# --- classification -----------------------------------------------------------------------


def classify(path: str, status, stdout: str, stderr: str, secrets=()) -> tuple[str, str]:
    """(outcome, detail) of one run of ``hipaa-kg evaluate --format json PATH``."""
    lines = stderr.splitlines()
    prefix = f"hipaa-kg: {path}"
    if "Traceback (most recent call last)" in stderr:
        return "failure", "traceback"
    if any(secret in stderr for secret in secrets):
        return "failure", "a literal value of the file is echoed on standard error"
    if status == 2:
        if len(lines) != 1:
            return "failure", f"exit 2 with {len(lines)} lines on standard error"
        if not lines[0].startswith(prefix):
            return "failure", "the error line does not name the file"
        return "error", lines[0][len(prefix) :]
    if status in (0, 1):
        stray = [line for line in lines if not line.startswith(prefix)]
        if stray:
            return "failure", f"a line on standard error does not name the file: {stray[0][:120]!r}"
        try:
            (record,) = json.loads(stdout)["scenarios"]
        except (ValueError, KeyError, TypeError):
            return "failure", f"exit {status} without one decision record"
        violations = [v for v in record.get("violations", []) if v.get("severity") == "Violation"]
        if status == 0 and record.get("conforms") and not violations:
            return "record", ", ".join(sorted({a["decision"] for a in record.get("acts", [])})) or "no act"
        if status == 1 and not record.get("conforms") and violations:
            return "violation", violations[0]["message"]
        return "failure", f"exit {status} with conforms={record.get('conforms')}, {len(violations)} violations"
    return "failure", f"exit {status}: {lines[0][:200] if lines else '(nothing on standard error)'}"


def message_kind(detail: str) -> str:
    """A message with its file, lines, numbers and quoted names taken out, to count messages of one kind."""
    detail = re.sub(r"^:\d+", "", detail)
    detail = re.sub(r"'[^']*'", "'…'", detail)
    return re.sub(r"\d+", "N", detail).strip(": ")[:100]


# --- running a case -------------------------------------------------------------------------


class Hang(BaseException):
    """No answer within the time limit (a BaseException, so that ``main`` cannot swallow it)."""


def _on_alarm(signum, frame):
    raise Hang()


_REASONERS: dict = {}


def _shared_reasoner(**options):
    """``Reasoner(**options)`` loaded once per worker: cli.main builds one per call, which takes seconds."""
    from reasoner.decide import Reasoner

    key = tuple(sorted(options.items()))
    if key not in _REASONERS:
        _REASONERS[key] = Reasoner(**options)
    return _REASONERS[key]


def _init_worker(folder: str, timeout: float, memory: int) -> None:
    import resource

    import reasoner.cli

    if memory:  # a case that would exhaust memory fails with MemoryError instead of swapping the machine
        resource.setrlimit(resource.RLIMIT_AS, (memory * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
    reasoner.cli.Reasoner = _shared_reasoner
    _WORKER.update(folder=Path(folder), timeout=timeout)


_WORKER: dict = {}


def run_in_process(case: Case, path: Path, timeout: float) -> tuple[object, str, str]:
    """(status, stdout, stderr) of ``cli.main(["evaluate", "--format", "json", path])`` in this process."""
    from reasoner import cli

    path.write_bytes(case.data)
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["evaluate", "--format", "json", str(path)])
    except Hang:
        status = f"no answer within {timeout:g} s"
    except BaseException as e:  # anything out of main is a failure: keep its traceback
        status = f"{type(e).__name__} out of main"
        err.write("".join(traceback.format_exception(e)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        path.unlink(missing_ok=True)
    return status, out.getvalue(), err.getvalue()


def run_indexed(job: tuple[int, int]) -> dict:
    index, seed = job
    case = corpus_case(index, seed)
    path = _WORKER["folder"] / f"case-{index:05d}{case.suffix}"
    start = time.perf_counter()
    status, stdout, stderr = run_in_process(case, path, _WORKER["timeout"])
    seconds = time.perf_counter() - start
    outcome, detail = classify(str(path), status, stdout, stderr, case.secrets)
    return {
        "index": index,
        "kind": case.kind,
        "suffix": case.suffix,
        "base": case.base,
        "bytes": len(case.data),
        "outcome": outcome,
        "detail": detail,
        "seconds": seconds,
        "stderr": stderr[-2000:] if outcome == "failure" else "",
    }


def run_subprocess(index: int, seed: int, folder: Path, timeout: float) -> dict:
    """Case ``index`` through the installed command, in a process of its own."""
    case = corpus_case(index, seed)
    path = folder / f"process-{index:05d}{case.suffix}"
    path.write_bytes(case.data)
    command = shutil.which("hipaa-kg")
    argv = [command] if command else [sys.executable, "-m", "reasoner.cli"]
    try:
        done = subprocess.run(
            [*argv, "evaluate", "--format", "json", str(path)], capture_output=True, text=True, timeout=timeout
        )
        status, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        status, stdout, stderr = f"no answer within {timeout:g} s", "", ""
    finally:
        path.unlink(missing_ok=True)
    outcome, detail = classify(str(path), status, stdout, stderr, case.secrets)
    return {"index": index, "kind": case.kind, "outcome": outcome, "detail": detail, "stderr": stderr[-2000:]}


# --- the report ---------------------------------------------------------------------------------


def table(results: list[dict], key: str, order) -> str:
    counts = collections.Counter((r[key], r["outcome"]) for r in results)
    rows = [f"| {key} | cases | " + " | ".join(OUTCOMES) + " | median ms |", "|---" * (len(OUTCOMES) + 3) + "|"]
    for name in order:
        mine = [r for r in results if r[key] == name]
        if not mine:
            continue
        median = sorted(r["seconds"] for r in mine)[len(mine) // 2] * 1000
        cells = " | ".join(str(counts[name, o]) for o in OUTCOMES)
        rows.append(f"| {name} | {len(mine)} | {cells} | {median:.0f} |")
    total = collections.Counter(r["outcome"] for r in results)
    median = sorted(r["seconds"] for r in results)[len(results) // 2] * 1000 if results else 0
    rows.append(f"| all | {len(results)} | " + " | ".join(str(total[o]) for o in OUTCOMES) + f" | {median:.0f} |")
    return "\n".join(rows)


def machine() -> str:
    import pyoxigraph
    import pyshacl
    import rdflib

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"rdflib {rdflib.__version__}, pyoxigraph {pyoxigraph.__version__}, pyshacl {pyshacl.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the corpus (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="the corpus's seed (default 0)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--subprocess", type=int, default=30, help="cases also run by the hipaa-kg command")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a case may take (default 120)")
    parser.add_argument("--memory", type=int, default=4096, help="address space of a worker, MiB (0: no limit)")
    parser.add_argument("--json", help="write the figures and the failures to this file")
    parser.add_argument("--show", type=int, metavar="INDEX", help="write case INDEX to a file and say which")
    args = parser.parse_args(argv)

    if args.show is not None:
        case = corpus_case(args.show, args.seed)
        path = Path(f"fuzz-case-{args.show:05d}{case.suffix}")
        path.write_bytes(case.data)
        print(f"{path}: {case.kind} of {case.base}, {len(case.data)} bytes, markers {list(case.secrets)}")
        return 0

    start = time.perf_counter()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hipaa-kg-fuzz-") as folder:
        context = multiprocessing.get_context("fork")
        with context.Pool(
            args.workers, _init_worker, (folder, args.timeout, args.memory), maxtasksperchild=2000
        ) as pool:
            jobs = [(i, args.seed) for i in range(args.cases)]
            log = Path(args.json).with_suffix(".jsonl").open("w", encoding="utf-8") if args.json else None
            for n, result in enumerate(pool.imap_unordered(run_indexed, jobs, chunksize=4), 1):
                results.append(result)
                if log:  # each result as it comes, so that an interrupted run keeps what it found
                    log.write(json.dumps(result) + "\n")
                    log.flush()
                if result["outcome"] == "failure":
                    print(f"FAIL case {result['index']} ({result['kind']}{result['suffix']}): {result['detail']}")
                if n % 500 == 0:
                    print(f"{n} cases, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        in_process = time.perf_counter() - start
        step = max(1, args.cases // args.subprocess) if args.subprocess else 0
        sample = list(range(0, args.cases, step))[: args.subprocess] if step else []
        processes = [run_subprocess(i, args.seed, Path(folder), args.timeout) for i in sample]
    elapsed = time.perf_counter() - start

    results.sort(key=lambda r: r["index"])
    failures = [r for r in results if r["outcome"] == "failure"]
    process_failures = [r for r in processes if r["outcome"] == "failure"]
    for r in process_failures:
        print(f"FAIL (hipaa-kg process) case {r['index']} ({r['kind']}): {r['detail']}")
    messages = collections.Counter(message_kind(r["detail"]) for r in results if r["outcome"] in ("error", "violation"))
    tracebacks = sum("traceback" in r["detail"] for r in failures + process_failures)
    print(f"\nseed {args.seed}, {len(results)} cases in {elapsed:.0f} s", end=" ")
    print(f"({in_process:.0f} s in process, {args.workers} workers)")
    print(f"machine: {machine()}\n")
    print(table(results, "kind", KINDS) + "\n")
    print(table(results, "suffix", SUFFIXES) + "\n")
    print(
        f"through the hipaa-kg command: {len(processes)} cases, "
        + ", ".join(f"{n} {o}" for o, n in sorted(collections.Counter(r["outcome"] for r in processes).items()))
    )
    print(f"failures: {len(failures)} in process, {len(process_failures)} in processes; tracebacks: {tracebacks}\n")
    print("most frequent messages (errors and first violations):")
    for message, count in messages.most_common(25):
        print(f"  {count:6}  {message}")
    if args.json:
        figures = {
            "seed": args.seed,
            "cases": len(results),
            "seconds": round(elapsed, 1),
            "workers": args.workers,
            "machine": machine(),
            "outcomes": dict(collections.Counter(r["outcome"] for r in results)),
            "byKind": {k: dict(collections.Counter(r["outcome"] for r in results if r["kind"] == k)) for k in KINDS},
            "subprocess": dict(collections.Counter(r["outcome"] for r in processes)),
            "tracebacks": tracebacks,
            "failures": failures + process_failures,
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if failures or process_failures else 0


if __name__ == "__main__":
    sys.exit(main())
