"""The command line: records, exit codes, one-line errors, atomic output, PROV-O output."""

import json
from pathlib import Path

from rdflib import Graph, Namespace, URIRef

from reasoner.cli import main

ROOT = Path(__file__).resolve().parents[1]
ACO = str(ROOT / "examples" / "aco-provider-to-provider.yaml")
HK = Namespace("https://w3id.org/hipaa-kg/")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SCHEMA = Namespace("https://schema.org/")
FAQ = "https://www.hhs.gov/hipaa/for-professionals/faq/value-based-care-arrangements"

VALID = """\
facts:
  - {id: clinic, type: HealthCareProvider, transmitsStandardTransactions: true, treats: patient}
  - {id: patient, type: Individual}
  - id: u1
    type: Use
    actor: clinic
    information: {type: ProtectedHealthInformation, about: patient}
    purpose: Treatment
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def scenario(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_evaluate_json_gives_the_contract_record(capsys):
    code, out, err = run(capsys, "evaluate", ACO, "--format", "json")
    assert code == 0, err
    record = json.loads(out)["scenarios"][0]
    assert record["conforms"] is True and record["violations"] == []
    act = record["acts"][0]
    assert set(act) >= {"id", "decision", "basis", "minimumNecessary", "conditions", "sources", "explanation"}
    assert (act["id"], act["decision"], act["basis"], act["minimumNecessary"]) == (
        "d1",
        "permitted",
        ["45 CFR 164.506(c)(2)"],
        False,
    )
    assert "https://www.ecfr.gov/current/title-45/section-164.506#p-164.506(c)(2)" in act["sources"]
    assert any(url.startswith(FAQ) for url in act["sources"]), act["sources"]


def test_text_output_names_decision_and_basis(capsys):
    code, out, _ = run(capsys, "evaluate", ACO)
    assert code == 0
    assert "d1: permitted  (45 CFR 164.506(c)(2))" in out


def test_missing_file_is_one_line_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", str(tmp_path / "absent.yaml"))
    assert code == 2
    assert err.count("\n") == 1 and "absent.yaml" in err and "Traceback" not in err


def test_broken_yaml_names_file_and_line(capsys, tmp_path):
    path = scenario(tmp_path, "facts:\n  - id: a\n    type: [unclosed\n")
    code, _, err = run(capsys, "evaluate", path)
    assert code == 2
    assert err.startswith(f"hipaa-kg: {path}:") and err.count("\n") == 1


def test_broken_turtle_names_file_and_line(capsys, tmp_path):
    path = scenario(tmp_path, "@prefix hk: <https://w3id.org/hipaa-kg/> .\n\n<a> a hk:Use ;; .\n<b> hk:x\n", "s.ttl")
    code, _, err = run(capsys, "evaluate", path)
    assert code == 2
    assert f"{path}:" in err and err.count("\n") == 1


def test_unknown_term_is_a_violation_with_a_suggestion(capsys, tmp_path):
    path = scenario(tmp_path, VALID.replace("type: HealthCareProvider", "type: HealthCareProvidr"))
    code, out, err = run(capsys, "evaluate", path, "--format", "json")
    assert code == 1
    record = json.loads(out)["scenarios"][0]
    assert record["conforms"] is False and record["acts"] == []
    messages = [v["message"] for v in record["violations"]]
    assert any("did you mean 'HealthCareProvider'" in m for m in messages), messages
    assert "clinic" in err and "Traceback" not in err


def test_unknown_purpose_is_a_violation(capsys, tmp_path):
    path = scenario(tmp_path, VALID.replace("purpose: Treatment", "purpose: Treatmnt"))
    code, out, _ = run(capsys, "evaluate", path, "--format", "json")
    assert code == 1
    messages = [v["message"] for v in json.loads(out)["scenarios"][0]["violations"]]
    assert any("unknown purpose" in m and "did you mean 'Treatment'" in m for m in messages), messages


def test_dangling_reference_is_a_violation(capsys, tmp_path):
    path = scenario(tmp_path, VALID.replace("actor: clinic", "actor: clinc"))
    code, out, _ = run(capsys, "evaluate", path, "--format", "json")
    assert code == 1
    violations = json.loads(out)["scenarios"][0]["violations"]
    assert any(v["focusNode"] == "u1" and v["path"] == "actor" for v in violations), violations


def test_yes_is_not_a_boolean(capsys, tmp_path):
    path = scenario(
        tmp_path, VALID.replace("transmitsStandardTransactions: true", "transmitsStandardTransactions: yes")
    )
    code, out, _ = run(capsys, "evaluate", path, "--format", "json")
    assert code == 1
    violations = json.loads(out)["scenarios"][0]["violations"]
    assert any(v["path"] == "transmitsStandardTransactions" and "true or false" in v["message"] for v in violations)


def test_no_output_file_when_an_input_cannot_be_read(capsys, tmp_path):
    target = tmp_path / "out.json"
    code, _, err = run(capsys, "evaluate", ACO, str(tmp_path / "absent.yaml"), "--format", "json", "-o", str(target))
    assert code == 2
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_output_file_is_written_whole(capsys, tmp_path):
    target = tmp_path / "out.json"
    code, out, _ = run(capsys, "evaluate", ACO, "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["scenarios"][0]["acts"][0]["decision"] == "permitted"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_turtle_links_each_decision_to_its_provision(capsys):
    code, out, _ = run(capsys, "evaluate", ACO, "--format", "turtle")
    assert code == 0
    graph = Graph().parse(data=out, format="turtle")
    decided = list(graph.subject_objects(HK.decidedBy))
    assert decided
    for _act, finding in decided:
        activity = graph.value(finding, PROV.wasGeneratedBy)
        rule = graph.value(activity, PROV.hadPlan)
        sources = set(graph.objects(rule, DCTERMS.source))
        urls = {str(graph.value(s, SCHEMA.url)) for s in sources}
        assert URIRef("https://w3id.org/hipaa-kg/provision/45-CFR-164.506-c-2") in sources
        assert "https://www.ecfr.gov/current/title-45/section-164.506#p-164.506(c)(2)" in urls
        assert any(u.startswith(FAQ) for u in urls), urls


def test_check_compares_expectations(capsys):
    code, out, _ = run(capsys, "check", ACO)
    assert code == 0 and "1 passed, 0 failed" in out


def test_check_fails_on_a_wrong_expectation(capsys, tmp_path):
    text = Path(ACO).read_text().replace("decision: permitted", "decision: prohibited")
    code, out, _ = run(capsys, "check", scenario(tmp_path, text))
    assert code == 1 and "0 passed, 1 failed" in out


def test_an_internal_error_names_the_file_and_never_the_exception_text(monkeypatch, capsys):
    """A bug met on one file: one line naming it (its text may quote the file's values), and the others decided."""
    from reasoner.decide import Reasoner

    decide_many = Reasoner.decide_many

    def failing(self, sources, **options):  # the files are decided together, then each alone if that fails
        if any("payment" in str(getattr(source, "source", source)) for source in sources):
            raise KeyError("Jane Doe, born 1970-01-01")
        return decide_many(self, sources, **options)

    monkeypatch.setattr(Reasoner, "decide_many", failing)
    payment, threat = (str(ROOT / "examples" / name) for name in ("payment-claim-to-plan.yaml", "serious-threat.yaml"))
    status = main(["evaluate", payment, threat])
    captured = capsys.readouterr()
    assert status == 3
    assert captured.err == f"hipaa-kg: {payment}: internal error: KeyError (rerun with --debug)\n"
    assert "serious-threat.yaml" in captured.out
