"""Why not, and what would change it: counterfactuals computed from the rules, each one real."""

from copy import copy

import pytest
from conftest import ROOT
from rdflib import RDF, Graph, Literal, URIRef

from reasoner import load

EXAMPLES = ROOT / "examples"


def counterfactuals(reasoner, name, act="d1"):
    record = next(a for a in reasoner.decide(EXAMPLES / f"{name}.yaml").acts if a["id"] == act)
    key = "wouldChange" if record["decision"] == "permitted" else "whyNot"
    return record["explanation"].get(key, [])


def has(found, rule, change):
    return any(c["rule"] == rule and change in c["changes"] for c in found)


def test_a_business_associate_agreement_would_permit(reasoner):
    found = counterfactuals(reasoner, "business-associate-without-agreement")
    assert has(found, "164.502-e-1", {"add": ["platform", "hasBusinessAssociateAgreementWith", "practice"]})
    c = next(c for c in found if c["rule"] == "164.502-e-1")
    assert (c["decision"], c["basis"], c["provisions"]) == (
        "permitted",
        ["45 CFR 164.502(e)(1)"],
        ["45 CFR 164.502(e)(1)"],
    )


def test_standard_transactions_would_make_the_provider_a_covered_entity(reasoner):
    found = counterfactuals(reasoner, "not-a-covered-entity")
    assert has(found, "160.103-not-a-covered-entity", {"add": ["cash-clinic", "transmitsStandardTransactions", "true"]})


def test_an_objection_would_defeat_a_permission(reasoner):
    found = counterfactuals(reasoner, "family-present-does-not-object")
    assert has(found, "164.510-b-2", {"add": ["d1", "individualObjected", "true"]})
    assert all(c["decision"] != "permitted" for c in found)


def test_no_objection_would_permit(reasoner):
    found = counterfactuals(reasoner, "family-present-objects")
    assert any(
        c["rule"] == "164.510-b-2"
        and c["decision"] == "permitted"
        and all((ch.get("add") or ch.get("remove"))[1] == "individualObjected" for ch in c["changes"])
        for c in found
    )


def test_what_the_act_is_is_never_proposed(reasoner):
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for act in reasoner.decide(path).acts:
            for c in act["explanation"].get("whyNot", []) + act["explanation"].get("wouldChange", []):
                for change in c["changes"]:
                    triple = change.get("add") or change.get("remove")
                    assert triple[1] not in ("actor", "recipient", "information", "purpose", "type") or (
                        triple[1] == "type" and triple[0] != act["id"]
                    ), (path.name, c["text"])


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_counterfactual_is_real(reasoner, path):
    """Make the proposed changes in the scenario and decide again: the proposed decision follows."""
    scenario = load(path)
    for act in reasoner.decide(scenario).acts:
        for c in act["explanation"].get("whyNot", []) + act["explanation"].get("wouldChange", []):
            changed = copy(scenario)
            changed.graph = Graph()
            changed.graph += scenario.graph
            for change in c["changes"]:
                triple = tuple(_term(reasoner, scenario, x) for x in change.get("add") or change.get("remove"))
                if "add" in change:
                    if isinstance(triple[2], Literal):
                        changed.graph.remove((triple[0], triple[1], Literal(not triple[2].toPython())))
                    changed.graph.add(triple)
                else:
                    changed.graph.remove(triple)
            result = reasoner.decide(changed)
            assert result.conforms, c["text"]
            again = next(a for a in result.acts if a["id"] == act["id"])
            assert (again["decision"], again["basis"]) == (c["decision"], c["basis"]), c["text"]


def _term(reasoner, scenario, name):
    """Invert the record's names: true/false, type, an ontology term, or a node of the scenario."""
    if name in ("true", "false"):
        return Literal(name == "true")
    if name == "type":
        return RDF.type
    term = URIRef("https://w3id.org/hipaa-kg/" + name)
    if term in reasoner.ontology.classes | reasoner.ontology.properties:
        return term
    return URIRef(scenario.base + name)
