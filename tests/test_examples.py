"""Every scenario file meets its ``expect`` block, and both engines give the same records."""

import pytest
from conftest import scenario_files, scenario_id

from reasoner.expect import compare

FILES = scenario_files()


@pytest.mark.parametrize("path", FILES, ids=scenario_id)
def test_scenario_meets_its_expectations(decided, path):
    result = decided(path)
    assert result.conforms, [v.as_dict() for v in result.violations]
    assert result.scenario.expect, "a test scenario says what it expects"
    records = {a["id"]: a for a in result.acts}
    for act_id, expected in result.scenario.expect.items():
        assert compare(expected, records.get(act_id)) == [], act_id


@pytest.mark.parametrize("path", FILES, ids=scenario_id)
def test_engines_agree(decided, rdflib_reasoner, path):
    assert decided(path).as_dict() == rdflib_reasoner.decide(path).as_dict()


def test_shared_examples_are_all_copied():
    """examples/ holds every shared example, so that a clone works alone."""
    from conftest import ROOT, SHARED_EXAMPLES

    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared is not beside this checkout")
    shared = {p.name: p.read_text() for p in SHARED_EXAMPLES.glob("*.yaml")}
    ours = {p.name: p.read_text() for p in (ROOT / "examples").glob("*.yaml") if p.name in shared}
    assert ours == shared
