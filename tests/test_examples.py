"""Every scenario file meets its ``expect`` block, and both engines give the same records."""

import copy

import pytest
from conftest import ROOT, scenario_files, scenario_id

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


def without_counterfactuals(record: dict) -> dict:
    record = copy.deepcopy(record)  # the cached result is shared with other tests
    for scenario in record["acts"]:
        for key in ("whyNot", "wouldChange"):
            scenario["explanation"].pop(key, None)
    return record


@pytest.mark.parametrize("path", FILES, ids=scenario_id)
def test_engines_agree(decided, rdflib_plain, path):
    """Both engines give the same records (counterfactuals aside: the next test compares those too)."""
    assert without_counterfactuals(decided(path).as_dict()) == rdflib_plain.decide(path).as_dict()


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=scenario_id)
def test_engines_agree_on_counterfactuals(decided, rdflib_reasoner, path):
    assert decided(path).as_dict() == rdflib_reasoner.decide(path).as_dict()


def test_shared_examples_are_all_copied():
    """examples/ holds every shared example, so that a clone works alone."""
    from conftest import ROOT, SHARED_EXAMPLES

    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared is not beside this checkout")
    shared = {p.name: p.read_text() for p in SHARED_EXAMPLES.glob("*.yaml")}
    ours = {p.name: p.read_text() for p in (ROOT / "examples").glob("*.yaml") if p.name in shared}
    assert ours == shared
