"""The inventory of 164.502-164.514: every formalized paragraph is tested both ways."""

import json

from conftest import ROOT

from reasoner.cli import main
from reasoner.coverage import _order, inventory, summary

SCENARIOS = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))


def rows(reasoner):
    return inventory(reasoner.ontology, reasoner.rules, SCENARIOS)


def test_every_formalized_paragraph_has_a_positive_and_a_near_miss_scenario(reasoner):
    untested = [
        f"{r.citation} (positive: {len(r.positive)}, near miss: {len(r.near_miss)})"
        for r in rows(reasoner)
        if r.status == "formalized" and not (r.positive and r.near_miss)
    ]
    assert untested == []


def test_statuses_are_computed_from_rules_and_reasons(reasoner):
    by_citation = {r.citation: r for r in rows(reasoner)}
    assert by_citation["45 CFR 164.506(c)(2)"].status == "formalized"
    assert by_citation["45 CFR 164.506(c)(2)"].rules == ["164.506-c-2"]
    assert by_citation["45 CFR 164.506(c)(4)(i)"].status == "within"
    assert by_citation["45 CFR 164.506(c)(4)(i)"].within == "45 CFR 164.506(c)(4)"
    assert "45 CFR 164.512" not in by_citation, "a section is not a paragraph of the inventory"
    assert by_citation["45 CFR 164.512(i)"].status in ("structure", "formalized", "not formalized")


def test_inventory_is_in_the_order_of_the_cfr():
    citations = ["45 CFR 164.512(b)(1)(ix)", "45 CFR 164.512(b)(1)(iv)", "45 CFR 164.512(a)", "45 CFR 164.512(k)"]
    assert sorted(citations, key=_order) == [
        "45 CFR 164.512(a)",
        "45 CFR 164.512(b)(1)(iv)",
        "45 CFR 164.512(b)(1)(ix)",
        "45 CFR 164.512(k)",
    ]


def test_coverage_command_prints_the_summary(capsys, reasoner, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["coverage", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"] == summary(rows(reasoner))
