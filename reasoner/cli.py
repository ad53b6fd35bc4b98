"""The ``hipaa-kg`` command line.

Exit status: 0 when every file was read and decided; 1 when a scenario is
invalid (its record names what is wrong) or, for ``check``, an expectation
fails; 2 when a file cannot be read or parsed, or the command is misused.
Errors are one line on standard error; ``--debug`` shows a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from . import batch as batch_run  # its heavy imports are inside its functions
from .errors import HipaaKgError

if TYPE_CHECKING:
    from rdflib import Graph

    from . import decide
    from .decide import Result

FORMATS = ("text", "json", "turtle")
# The choices --help shows, written here so that --help and argument errors import nothing heavy; each is the
# value of the module named, which imports rdflib, pyoxigraph or networkx (tests/test_startup.py checks they agree).
ENGINES = ("oxigraph", "rdflib")  # engine.ENGINES
EXPLAIN_FORMATS = ("text", "json", "dot", "html")  # explain.RENDERERS
STATUSES = ("formalized", "derives", "within", "not formalized", "structure", "open")  # coverage.STATUSES
DEFAULT_PORT = 7878  # serve.DEFAULT_PORT
DEFAULT_TIMEOUT = 30  # serve.DEFAULT_TIMEOUT


Reasoner = None  # the reasoner class, imported by the first command that needs one (tests may replace it)


def _reasoner(**options) -> decide.Reasoner:
    """A new ``Reasoner``: decide.py is imported here, not when --help is asked for."""
    global Reasoner
    if Reasoner is None:
        from .decide import Reasoner
    return Reasoner(**options)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HipaaKgError as e:
        print(f"hipaa-kg: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (hipaa-kg ... | head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # an internal error: one line unless --debug
        if args.debug:
            raise
        # the exception's text may quote a value from the input: only its kind is said
        print(f"hipaa-kg: internal error: {type(e).__name__} (rerun with --debug for details)", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hipaa-kg", description="Decide uses and disclosures under the HIPAA Privacy Rule."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("evaluate", help="decide every act of scenario files and print the decision records")
    _scenario_options(evaluate)
    evaluate.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    evaluate.add_argument("-o", "--output", help="write to this file (replaced whole, never left half-written)")
    evaluate.set_defaults(run=_evaluate)

    check = commands.add_parser("check", help="decide scenario files and compare with their 'expect' blocks")
    _scenario_options(check)
    check.set_defaults(run=_check)

    rules = commands.add_parser("rules", help="list the rules in the order they run, with their strata")
    rules.set_defaults(run=_rules)

    explain_ = commands.add_parser("explain", help="the derivation of one act: rules, facts, provisions, why not")
    explain_.add_argument("file", metavar="FILE", help="a scenario file")
    explain_.add_argument("--act", help="the act's id (default: the first act)")
    explain_.add_argument("--format", choices=EXPLAIN_FORMATS, default="text")
    explain_.add_argument("-o", "--output", help="write to this file (replaced whole)")
    explain_.add_argument("--engine", choices=ENGINES, default="oxigraph", help="SPARQL engine (default: oxigraph)")
    explain_.add_argument("--as-of", type=_date, help="decide under the rules of this date (YYYY-MM-DD)")
    explain_.set_defaults(run=_explain)

    query = commands.add_parser(
        "query", help="run a SPARQL query over ontology, provisions, rules and the decisions of scenario files"
    )
    query.add_argument("query", metavar="QUERY.rq", help="a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query")
    query.add_argument("--data", nargs="*", default=[], metavar="FILE", help="scenario files to decide and add")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.set_defaults(run=_query)

    refs = commands.add_parser(
        "references", help="the cross-references between provisions ('as described in 164.512(a)') as a graph"
    )
    refs.add_argument("--format", choices=("json", "dot", "graphml"), default="json")
    refs.add_argument("-o", "--output", help="write to this file (replaced whole)")
    refs.set_defaults(run=_references)

    batch = commands.add_parser(
        "batch", help="decide an audit log (JSON Lines or CSV): one decision record per event, in input order"
    )
    batch.add_argument("events", metavar="EVENTS", help="the log: .jsonl/.ndjson or .csv, one use or disclosure a line")
    batch.add_argument("-o", "--output", required=True, metavar="DECISIONS.jsonl", help="the records (JSON Lines)")
    batch.add_argument("--parties", required=True, metavar="PARTIES", help="a scenario file of the parties")
    batch.add_argument("--workers", type=_positive, default=1, help="local processes (default: 1)")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask distributed scheduler")
    batch.add_argument("--strict", action="store_true", help="stop at the first malformed event (exit 2)")
    batch.add_argument("--as-of", type=_date, help="the date whose rules apply to events without a date")
    batch.add_argument("--engine", choices=ENGINES, default="oxigraph", help="SPARQL engine (default: oxigraph)")
    batch.add_argument("--chunk", type=_positive, default=batch_run.CHUNK, help="events read and written at a time")
    batch.add_argument(
        "--explain",
        choices=("none", "why-not", "all"),
        default="why-not",
        help="counterfactuals: why-not for every decision other than permitted (default), all (adds wouldChange"
        " for permitted ones, as evaluate does), or none",
    )
    progress = batch.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None, help="a progress bar (default: on a tty)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    batch.set_defaults(run=_batch)

    serve_ = commands.add_parser(
        "serve", help="a read-only SPARQL 1.1 endpoint (Oxigraph) over the knowledge graph and decisions, on loopback"
    )
    serve_.add_argument("--decisions", nargs="*", default=[], metavar="FILE", help="decision files of hipaa-kg batch")
    serve_.add_argument("--data", nargs="*", default=[], metavar="FILE", help="scenario files to decide and add")
    serve_.add_argument("--port", type=_positive, default=DEFAULT_PORT, help=f"on 127.0.0.1 (default: {DEFAULT_PORT})")
    serve_.add_argument("--location", metavar="DIR", help="keep the store in this folder (default: a temporary one)")
    serve_.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"stop a query that runs longer (default: {DEFAULT_TIMEOUT})",
    )
    serve_.set_defaults(run=_serve)

    docs = commands.add_parser("docs", help="write the ontology's HTML documentation, Turtle and JSON-LD to a folder")
    docs.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder (replaced whole)")
    docs.set_defaults(run=_docs)

    coverage = commands.add_parser(
        "coverage", help="the inventory of 164.502-164.514: each paragraph's rules, test scenarios and status"
    )
    coverage.add_argument(
        "scenarios",
        nargs="*",
        metavar="DIR",
        help="folders of scenario files (default: examples and tests/scenarios, where they exist)",
    )
    coverage.add_argument("--format", choices=("text", "json"), default="text")
    coverage.add_argument("--status", choices=STATUSES, help="only the paragraphs of this status")
    coverage.set_defaults(run=_coverage)
    return parser


def _scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario files (.yaml, .yml, .json, .jsonld, .ttl)")
    parser.add_argument("--engine", choices=ENGINES, default="oxigraph", help="SPARQL engine (default: oxigraph)")
    parser.add_argument("--as-of", type=_date, help="decide under the rules of this date (YYYY-MM-DD)")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return number


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date written YYYY-MM-DD: {text!r}") from None


def _decide_all(args) -> tuple[decide.Reasoner, list[Result], int]:
    """Every file read, then all decided in one run of the rules (decide_many); should that fail, each file
    alone, so that one file's error is its own line and the others are still decided."""
    from .scenario import load

    reasoner = _reasoner(engine=args.engine)
    status = 0
    loaded = []
    for path in args.files:
        found, status = _guarded(args, path, status, lambda p=path: load(p))
        if found is not None:
            loaded.append((path, found))
    try:
        results = reasoner.decide_many([scenario for _, scenario in loaded], as_of=args.as_of)
    except Exception:
        if args.debug:
            raise
        results = []
        for path, scenario in loaded:
            found, status = _guarded(args, path, status, lambda s=scenario: reasoner.decide(s, as_of=args.as_of))
            results.append(found)
    decided = []
    for (path, _), result in zip(loaded, results, strict=True):
        if result is None:
            continue
        for v in result.violations:
            print(f"hipaa-kg: {v.one_line(path)}", file=sys.stderr)
        if not result.conforms:
            status = max(status, 1)
        decided.append(result)
    return reasoner, decided, status


def _guarded(args, path, status: int, work):
    """``work()``, or None with its error on one line naming the file (never an exception's text); the status."""
    try:
        return work(), status
    except HipaaKgError as e:
        print(f"hipaa-kg: {e}", file=sys.stderr)
        return None, max(status, 2)
    except Exception as e:  # an internal error: one line naming the file, never the exception's text
        if args.debug:
            raise
        print(f"hipaa-kg: {path}: internal error: {type(e).__name__} (rerun with --debug)", file=sys.stderr)
        return None, max(status, 3)


def _evaluate(args) -> int:
    reasoner, results, status = _decide_all(args)
    if args.format == "json":
        text = json.dumps({"scenarios": [r.as_dict() for r in results]}, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "turtle":
        from rdflib import Graph

        from .provenance import decision_graph

        graph = Graph()
        for r in results:
            if r.derivation is not None:
                decision_graph(reasoner.ontology, r.derivation, into=graph)
        text = graph.serialize(format="turtle")
    else:
        text = "".join(_text(r) for r in results)
    if status >= 2 and args.output:
        print(f"hipaa-kg: {args.output} not written: a file above could not be read", file=sys.stderr)
        return status
    _write(text, args.output)
    return status


def _text(result: Result) -> str:
    lines = [f"{result.scenario.source}" + (f"  ({result.scenario.title})" if result.scenario.title else "")]
    if not result.conforms:
        lines.append(
            "  invalid scenario: " + "; ".join(v.message for v in result.violations if v.severity == "Violation")
        )
    for act in result.acts:
        basis = ", ".join(act["basis"]) or "no provision"
        lines.append(f"  {act['id']}: {act['decision']}  ({basis})")
        lines.append(f"      minimum necessary: {'applies' if act['minimumNecessary'] else 'does not apply'}")
        for condition in act["conditions"]:
            lines.append(f"      condition: {condition['label']} ({condition['basis']})")
        for finding in act["explanation"]["decidedBy"]:
            lines.append(f"      rule {finding['rule']}: {finding['summary']}")
        for url in act["sources"]:
            lines.append(f"      {url}")
    return "\n".join(lines) + "\n\n"


def _check(args) -> int:
    from .expect import compare

    _, results, status = _decide_all(args)
    failures = 0
    for result in results:
        acts = {a["id"]: a for a in result.acts}
        for act_id, expected in result.scenario.expect.items():
            got = acts.get(act_id)
            problems = compare(expected, got)
            mark = "ok  " if not problems else "FAIL"
            failures += bool(problems)
            print(f"{mark} {result.scenario.source} {act_id}" + (": " + "; ".join(problems) if problems else ""))
    print(f"{sum(len(r.scenario.expect) for r in results) - failures} passed, {failures} failed")
    return max(status, 1 if failures else 0)


def _rules(args) -> int:
    reasoner = _reasoner()
    for rule in reasoner.rules.order:
        print(f"{rule.stratum}  {rule.name:32}  {', '.join(rule.provisions)}")
    return 0


def _explain(args) -> int:
    from .explain import RENDERERS, explain

    reasoner = _reasoner(engine=args.engine)
    result = reasoner.decide(args.file, as_of=args.as_of)
    for v in result.violations:
        print(f"hipaa-kg: {v.one_line(args.file)}", file=sys.stderr)
    if not result.conforms:
        return 1
    _write(RENDERERS[args.format](explain(reasoner, result, args.act)), args.output)
    return 0


def _query(args) -> int:
    from .query import format_answer, run_query

    reasoner = _reasoner(why_not=False)
    path = Path(args.query)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise HipaaKgError(f"{args.query}: cannot read the query: {getattr(e, 'strerror', None) or e}") from None
    graph = _knowledge_with(reasoner, args.data)
    answer = run_query(graph, text, args.query)
    _write(format_answer(answer, args.format, graph.namespace_manager), None)
    return 0


def _knowledge_with(reasoner: decide.Reasoner, scenarios: list[str]) -> Graph:
    """The knowledge graph (ontology, provisions, rules, references) and the decision graphs of scenario files."""
    from .knowledge import knowledge_graph
    from .provenance import decision_graph

    graph = knowledge_graph(reasoner.ontology, reasoner.rules)
    for data in scenarios:
        result = reasoner.decide(data)
        if result.derivation is None:
            raise HipaaKgError(f"{data}: not a valid scenario; run 'hipaa-kg evaluate {data}' to see why")
        decision_graph(reasoner.ontology, result.derivation, into=graph)
    return graph


def _references(args) -> int:
    import networkx as nx

    from .knowledge import references

    reasoner = _reasoner(why_not=False)
    graph = nx.relabel_nodes(references(reasoner.ontology), lambda iri: reasoner.ontology.provisions[iri].label)
    if args.format == "json":
        text = json.dumps(nx.node_link_data(graph, edges="references"), indent=2) + "\n"
    elif args.format == "graphml":
        text = "\n".join(nx.generate_graphml(graph)) + "\n"
    else:
        edges = "".join(f'  "{a}" -> "{b}";\n' for a, b in sorted(graph.edges))
        text = "digraph references {\n  rankdir=LR;\n" + edges + "}\n"
    _write(text, args.output)
    return 0


def _batch(args) -> int:
    settings = batch_run.Settings(
        parties=args.parties, as_of=args.as_of or dt.date.today(), engine=args.engine, explain=args.explain
    )
    with _terminate_as_exit():
        found = batch_run.run(
            args.events,
            args.output,
            settings,
            workers=args.workers,
            scheduler=args.scheduler,
            strict=args.strict,
            progress=args.progress,
            chunk=args.chunk,
            report=lambda line: print(f"hipaa-kg: {line}", file=sys.stderr),
        )
    print(f"hipaa-kg: {found.line(args.output)}", file=sys.stderr)
    return 1 if found.failed else 0


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the command as an exit (status 143), so its cleanup runs: workers stopped, the lock let go."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args) -> int:
    from .serve import listen, oxigraph, records_graph, serve

    oxigraph()  # installed? say so before loading anything
    endpoint = listen(args.port)  # a port in use too
    try:
        graph = _knowledge_with(_reasoner(why_not=False), args.data)
        triples = chain(graph, *(records_graph(path) for path in args.decisions))
        return serve(endpoint, triples, args.location, _say, args.timeout)
    finally:
        endpoint.server_close()


def _say(text: str) -> None:
    print(f"hipaa-kg: {text}", file=sys.stderr)


def _docs(args) -> int:
    from .docs import write_docs  # pyLODE is loaded only for this command

    for path in write_docs(Path(args.output)):
        print(path)
    return 0


def _coverage(args) -> int:
    from .coverage import inventory, summary

    reasoner = _reasoner()
    folders = [Path(d) for d in args.scenarios] or [
        p for p in (Path("examples"), Path("tests/scenarios")) if p.is_dir()
    ]
    paths = sorted(p for folder in folders for p in folder.glob("*.yaml"))
    rows = inventory(reasoner.ontology, reasoner.rules, paths)
    counts = summary(rows)
    shown = [r for r in rows if args.status is None or r.status == args.status]
    if args.format == "json":
        print(json.dumps({"summary": counts, "paragraphs": [r.as_dict() for r in shown]}, indent=2))
        return 0
    for r in shown:
        detail = ", ".join(r.rules) or (f"within {r.within}" if r.within else r.reason or "")
        tests = f"+{len(r.positive)} ~{len(r.near_miss)}" if r.status == "formalized" else ""
        print(f"{r.citation:34} {r.status:15} {tests:8} {detail}")
    print(", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def _write(text: str, output: str | None) -> None:
    """Print, or replace ``output`` whole: a hidden temporary beside it (``.NAME.tmp-PID``), renamed over it.

    A temporary left by a killed run (its process gone) is removed by the next write
    to the same output.
    """
    if output is None:
        sys.stdout.write(text)
        return
    target = Path(output)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        _remove_stale(target)
        temporary.unlink(missing_ok=True)  # a process of this id before, now gone
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except OSError as e:
        temporary.unlink(missing_ok=True)
        raise HipaaKgError(f"{output}: cannot write the output: {e.strerror or e}") from None


def _remove_stale(target: Path) -> None:
    """Remove the temporaries of earlier writes to ``target`` whose process has ended."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.tmp-*"):
        pid = stale.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


if __name__ == "__main__":
    sys.exit(main())
