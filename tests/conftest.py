"""Shared fixtures: the scenario files, and one reasoner per engine for the whole run."""

from pathlib import Path

import pytest

from reasoner import Reasoner

ROOT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"


def scenario_files() -> list[Path]:
    """The project's examples and test scenarios, and the shared examples when ../shared is there."""
    found = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))
    if SHARED_EXAMPLES.is_dir():
        found += sorted(SHARED_EXAMPLES.glob("*.yaml"))
    return found


def scenario_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.parent.name}/{path.stem}"


@pytest.fixture(scope="session")
def reasoner() -> Reasoner:
    return Reasoner(engine="oxigraph")


@pytest.fixture(scope="session")
def rdflib_reasoner(reasoner) -> Reasoner:
    return Reasoner(engine="rdflib", ontology=reasoner.ontology, rules=reasoner.rules)


@pytest.fixture(scope="session")
def rdflib_plain(reasoner) -> Reasoner:
    """rdflib without counterfactuals: the decision records of every scenario, at a fraction of the cost."""
    return Reasoner(engine="rdflib", ontology=reasoner.ontology, rules=reasoner.rules, why_not=False)


@pytest.fixture(scope="session")
def decided(reasoner):
    """Each scenario file decided once per test run (oxigraph), shared by the tests that read its result."""
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = reasoner.decide(path)
        return cache[path]

    return get
