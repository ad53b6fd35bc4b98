"""Start-up: ``hipaa-kg --help`` and argument errors import nothing heavy; ``from reasoner import Reasoner`` works."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("rdflib", "pyshacl", "owlrl", "pyoxigraph", "networkx", "dask", "distributed", "yaml", "tqdm")

RUN_CLI = """
import json, runpy, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["hipaa-kg", *json.loads(sys.argv[1])]
try:
    runpy.run_module("reasoner.cli", run_name="__main__")
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "heavy": sorted(m for m in heavy if m in sys.modules)}), file=sys.stderr)
"""


def cli_in_new_process(*argv: str) -> tuple[int, list[str], list[str]]:
    """(exit status, heavy modules imported, other lines of standard error) of the command line in a new process."""
    out = subprocess.run(
        [sys.executable, "-c", RUN_CLI, json.dumps(argv), json.dumps(HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    *lines, last = out.stderr.splitlines()
    found = json.loads(last)
    return found["code"], found["heavy"], lines


@pytest.mark.parametrize("argv", [["--help"], ["evaluate", "--help"], ["batch", "--help"], ["serve", "--help"]])
def test_help_imports_nothing_heavy(argv):
    code, heavy, _ = cli_in_new_process(*argv)
    assert (code, heavy) == (0, [])


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["evaluate"],
        ["evaluate", "--engine", "nope", "examples/payment-claim-to-plan.yaml"],
        ["evaluate", "--as-of", "yesterday", "examples/payment-claim-to-plan.yaml"],
        ["explain", "--format", "pdf", "examples/payment-claim-to-plan.yaml"],
        ["batch", "events.jsonl", "-o", "out.jsonl", "--parties", "p.yaml", "--workers", "0"],
        ["coverage", "--status", "nope"],
        ["no-such-command"],
    ],
)
def test_argument_errors_import_nothing_heavy(argv):
    code, heavy, lines = cli_in_new_process(*argv)
    assert (code, heavy) == (2, [])
    assert lines and lines[-1].startswith("hipaa-kg") and "error:" in lines[-1]
    assert not any("Traceback" in line for line in lines)


def test_the_choices_the_command_line_shows_are_those_of_the_modules():
    from reasoner import cli, coverage, engine, explain, serve

    assert cli.ENGINES == engine.ENGINES
    assert tuple(explain.RENDERERS) == cli.EXPLAIN_FORMATS
    assert cli.STATUSES == coverage.STATUSES
    assert cli.DEFAULT_PORT == serve.DEFAULT_PORT
    assert cli.DEFAULT_TIMEOUT == serve.DEFAULT_TIMEOUT


def test_the_package_imports_its_reasoner_when_asked():
    code = (
        "import sys, reasoner; light = 'rdflib' not in sys.modules; "
        "from reasoner import Reasoner, Result, Scenario, load, HipaaKgError; "
        "from reasoner.decide import Reasoner as R; "
        "print(light, Reasoner is R and reasoner.Reasoner is R, callable(load))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True", "True"], out.stderr
    with pytest.raises(AttributeError):
        import reasoner

        _ = reasoner.NoSuchName


def test_the_commands_find_their_reasoner_when_the_module_runs_under_another_name():
    """As under ``python -m cProfile -m reasoner.cli``, where sys.modules does not hold the module by its name."""
    import importlib.util

    from reasoner import cli

    spec = importlib.util.spec_from_file_location("reasoner._cli_run_elsewhere", cli.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Built(Exception):
        pass

    def reasoner(**options):
        raise Built(options)

    module.Reasoner = reasoner
    with pytest.raises(Built):
        module.main(["--debug", "rules"])
