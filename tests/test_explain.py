"""explain: the derivation of a decision, tied to the provisions; query: SPARQL over the knowledge graph."""

import json
import re

import pytest
from conftest import ROOT, scenario_files, scenario_id

from reasoner.cli import main
from reasoner.explain import as_dot, as_html, derivation_graph, explain

EXAMPLES = ROOT / "examples"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", scenario_files(), ids=scenario_id)
def test_every_decision_is_explained_down_to_provisions(reasoner, decided, path):
    result = decided(path)
    for act in result.acts:
        e = explain(reasoner, result, act["id"])
        assert e["decidedBy"], act["id"]
        cited = {p["citation"] for f in e["decidedBy"] for p in f["provisions"]}
        assert set(act["basis"]) <= cited | {"45 CFR 160.103"}, (act["basis"], cited)
        for f in e["decidedBy"]:
            assert f["rule"] and f["facts"].get("act") == act["id"]
            assert all(p["text"] and p["url"].startswith("https://") for p in f["provisions"])
        if act["decision"] != "permitted":
            assert "whyNot" in act["explanation"]
        graph = derivation_graph(e)
        assert f"act:{act['id']}" in graph
        assert any(graph.nodes[n]["kind"] == "provision" for n in graph)


def test_explain_json_has_the_tree_and_the_graph(capsys):
    code, out, _ = run(capsys, "explain", EXAMPLES / "business-associate-without-agreement.yaml", "--format", "json")
    assert code == 0
    e = json.loads(out)
    assert e["decision"] == "authorization-required"
    assert [f["rule"] for f in e["decidedBy"]] == ["164.508-a-1"]
    assert any(
        c["rule"] == "164.502-e-1"
        and {"add": ["platform", "hasBusinessAssociateAgreementWith", "practice"]} in c["changes"]
        for c in e["whyNot"]
    )
    assert {n["id"] for n in e["graph"]["nodes"]} >= {"act:d1", "rule:164.508-a-1", "provision:45 CFR 164.508(a)(1)"}


def test_explain_cites_the_faq_for_aco_treatment(capsys):
    code, out, _ = run(capsys, "explain", EXAMPLES / "aco-provider-to-provider.yaml", "--format", "json")
    guidance = [g["url"] for f in json.loads(out)["decidedBy"] for g in f["guidance"]]
    assert code == 0 and any("value-based-care" in url for url in guidance)


def test_explain_an_unknown_act_is_one_line(capsys):
    code, _, err = run(capsys, "explain", EXAMPLES / "aco-provider-to-provider.yaml", "--act", "nope")
    assert code == 2 and "no act 'nope'" in err and err.count("\n") == 1


def test_html_is_self_contained(reasoner):
    result = reasoner.decide(EXAMPLES / "aco-provider-to-provider.yaml")
    page = as_html(explain(reasoner, result))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page and "<link" not in page
    links = re.findall(r"""(?:src|href)=["']([^"']*)""", page)
    assert links and all(link.startswith(("https://www.ecfr.gov/", "https://www.hhs.gov/", "#")) for link in links)


def test_dot_names_every_node(reasoner):
    result = reasoner.decide(EXAMPLES / "aco-provider-to-provider.yaml")
    dot = as_dot(explain(reasoner, result))
    assert dot.startswith("digraph derivation {") and '"rule:164.506-c-2" -> "provision:45 CFR 164.506(c)(2)"' in dot


def test_query_select_over_ontology_and_decisions(capsys, tmp_path):
    query = tmp_path / "q.rq"
    query.write_text(
        """PREFIX hk: <https://w3id.org/hipaa-kg/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?outcome ?citation WHERE {
  ?act hk:decidedBy ?finding ; hk:outcome ?outcome .
  ?finding hk:provision ?p . ?p hk:citation ?citation .
}"""
    )
    data = EXAMPLES / "aco-provider-to-provider.yaml"
    code, out, err = run(capsys, "query", query, "--data", data, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rows"] == [{"outcome": "permitted", "citation": "45 CFR 164.506(c)(2)"}]
    code, out, _ = run(capsys, "query", query, "--data", data)
    assert code == 0 and "45 CFR 164.506(c)(2)" in out and "(1 row)" in out


def test_query_refuses_an_update(capsys, tmp_path):
    query = tmp_path / "u.rq"
    query.write_text("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    code, _, err = run(capsys, "query", query)
    assert code == 2 and "an update is never run" in err and err.count("\n") == 1


def test_references_export_the_provision_graph(capsys):
    code, out, _ = run(capsys, "references")
    graph = json.loads(out)
    edges = {(e["source"], e["target"]) for e in graph["references"]}
    assert code == 0
    assert {("45 CFR 164.512(a)(2)", f"45 CFR 164.512({x})") for x in "cef"} <= edges
    assert ("45 CFR 164.502(b)(2)(ii)", "45 CFR 164.502(a)(1)(i)") in edges
