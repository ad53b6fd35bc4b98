"""Rules as of a date: each provision's text has its periods in force, rules follow their provisions, and a
scenario is decided under the rules in force on its asOf (or --as-of, or today).

The asof-*.yaml scenarios straddle each date (their expect blocks are checked with every other scenario by
test_examples.py); the tests here check the mechanism and the record around them.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Namespace

from reasoner.cli import main
from reasoner.errors import RuleError
from reasoner.rules import Calendar, parse_rule

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
HK = Namespace("https://w3id.org/hipaa-kg/")
HKP = Namespace("https://w3id.org/hipaa-kg/provision/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
DCTERMS = Namespace("http://purl.org/dc/terms/")

OMNIBUS = dt.date(2013, 3, 26)
REPRODUCTIVE = dt.date(2024, 6, 25)
REPRODUCTIVE_COMPLIANCE = dt.date(2024, 12, 23)
VACATUR = dt.date(2025, 6, 18)
DAY = dt.timedelta(days=1)


def decide(reasoner, name: str, as_of: dt.date | None = None) -> dict:
    return reasoner.decide(SCENARIOS / f"{name}.yaml", as_of=as_of).as_dict()


def act(record: dict) -> dict:
    (found,) = record["acts"]
    return found


# --- provision history --------------------------------------------------------------


@pytest.fixture(scope="module")
def provisions(reasoner) -> Graph:
    return reasoner.ontology.provision_graph


def test_every_cfr_provision_has_its_periods_in_force(provisions):
    """Every section, paragraph and definition: when its text took effect, and which documents adopted it."""
    problems = []
    for kind in (HK.Section, HK.Paragraph, HK.Definition):
        for node in provisions.subjects(RDF.type, kind):
            if provisions.value(node, ELI.first_date_entry_in_force) is None:
                problems.append(f"{node}: no eli:first_date_entry_in_force")
            if not list(provisions.objects(node, HK.inForce)):
                problems.append(f"{node}: no hk:inForce period")
            if not list(provisions.objects(node, HK.adoptedBy)):
                problems.append(f"{node}: no hk:adoptedBy")
    assert not problems, "\n".join(problems[:20])


def test_every_ended_period_says_when_why_and_by_what(provisions):
    documents = set(provisions.subjects(RDF.type, HK.FederalRegisterDocument)) | set(
        provisions.subjects(RDF.type, HK.CourtDecision)
    )
    ended = list(provisions.subjects(HK.until, None))
    assert ended
    for period in ended:
        assert provisions.value(period, HK.endedBy) in documents, period
        assert provisions.value(period, HK.endReason) in (HK.Amended, HK.Vacated), period
        assert provisions.value(period, HK["from"]).toPython() < provisions.value(period, HK.until).toPython()


def test_the_decedent_standard_has_an_earlier_text(provisions):
    """164.502(f) before 2013 protected a decedent's information with no limit in time: its own resource."""
    current, earlier = HKP["45-CFR-164.502-f"], HKP["45-CFR-164.502-f_65-FR-82462"]
    assert provisions.value(current, ELI.first_date_entry_in_force).toPython() == OMNIBUS
    assert provisions.value(current, DCTERMS.replaces) == earlier
    assert (earlier, RDF.type, HK.HistoricalProvision) in provisions
    assert provisions.value(earlier, DCTERMS.isVersionOf) == current
    assert provisions.value(earlier, ELI.date_no_longer_in_force).toPython() == OMNIBUS
    assert provisions.value(earlier, HK.textNotHeld).toPython() is True
    assert str(provisions.value(earlier, HK.text)).startswith("Text not held offline; what it provided:")


def test_the_2024_provisions_were_in_force_until_the_vacatur(provisions):
    for name in ("45-CFR-164.502-a-5-iii", "45-CFR-164.509"):
        node = HKP[name]
        assert provisions.value(node, ELI.first_date_entry_in_force).toPython() == REPRODUCTIVE
        assert provisions.value(node, ELI.date_no_longer_in_force).toPython() == VACATUR
        (period,) = provisions.objects(node, HK.inForce)
        assert provisions.value(period, HK.endReason) == HK.Vacated
        assert provisions.value(period, HK.endedBy) == HKP["purl-v-hhs-2025-06-18"]
        assert provisions.value(node, HK.textNotHeld).toPython() is True  # its hk:text is a summary that says so
    document = HKP["89-FR-32976"]
    assert provisions.value(document, ELI.first_date_entry_in_force).toPython() == REPRODUCTIVE
    assert provisions.value(document, ELI.date_applicability).toPython() == REPRODUCTIVE_COMPLIANCE


def test_a_text_displaced_and_restored_has_two_periods(reasoner):
    """164.502(a)(1)(vi): the 2013 text, replaced by the 2024 text, back in force when the court vacated it."""
    periods = reasoner.rules.calendar.periods[HKP["45-CFR-164.502-a-1-vi"]]
    assert [(p.start, p.end) for p in periods] == [(dt.date(2002, 10, 15), REPRODUCTIVE), (VACATUR, None)]
    (amended,) = reasoner.rules.calendar.periods[HKP["45-CFR-164.502-a-1-vi_89-FR-32976"]]
    assert (amended.start, amended.end) == (REPRODUCTIVE, VACATUR)


# --- rules follow their provisions ----------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "first_day", "last_day"),
    [
        ("164.502-f", OMNIBUS, None),
        ("164.508-a-4", OMNIBUS, None),
        ("164.502-a-5-i", OMNIBUS, None),
        ("164.502-a-5-iii", REPRODUCTIVE, VACATUR - DAY),
        ("164.509", REPRODUCTIVE, VACATUR - DAY),
    ],
)
def test_a_rule_is_in_force_while_its_provisions_are(reasoner, rule, first_day, last_day):
    assert rule not in reasoner.rules.in_force(first_day - DAY)
    assert rule in reasoner.rules.in_force(first_day)
    if last_day is not None:
        assert rule in reasoner.rules.in_force(last_day)
        assert rule not in reasoner.rules.in_force(last_day + DAY)


def test_the_effective_date_governs_not_the_compliance_date(reasoner):
    """89 FR 32976 took effect on 2024-06-25; its compliance date (2024-12-23) does not move the period."""
    assert "164.502-a-5-iii" in reasoner.rules.in_force(REPRODUCTIVE_COMPLIANCE - DAY)


def test_a_rule_holds_under_the_earlier_text_it_names(reasoner):
    """164.502(a)(1)(iv) was reworded in 2013; its rule names the earlier text too, so it was in force before."""
    before = reasoner.rules.in_force(OMNIBUS - DAY)
    assert {"164.502-a-1-iv", "164.502-b-1", "160.103-business-associate", "164.514-f-1"} <= before


def test_today_every_rule_but_the_vacated_ones_is_in_force(reasoner):
    names = {r.name for r in reasoner.rules.order}
    assert names - reasoner.rules.in_force() == {"164.502-a-5-iii", "164.509"}


def test_an_earlier_text_of_another_provision_is_refused(reasoner):
    text = (
        "#+ summary: s\n#+ provision: 45 CFR 164.506(c)(1)\n"
        "#+ earlier: 45 CFR 164.502(f) (as adopted by 65 FR 82462)\n"
        "PREFIX hk: <https://w3id.org/hipaa-kg/>\nCONSTRUCT { ?act hk:x true } WHERE { ?act a hk:Act }\n"
    )
    rule = parse_rule("x", text, reasoner.ontology)
    with pytest.raises(RuleError, match="no earlier text of a provision the rule names"):
        Calendar(reasoner.ontology, [rule])


# --- decisions of their day -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "before", "on"),
    [
        ("asof-decedent-after-omnibus", "authorization-required", "not-regulated"),
        ("asof-sale-after-omnibus", "permitted", "authorization-required"),
        ("asof-genetic-underwriting-after-omnibus", "permitted", "prohibited"),
    ],
)
def test_omnibus_straddle(reasoner, name, before, on):
    """The same facts, the day before and the day 78 FR 5566 took effect."""
    assert act(decide(reasoner, name, OMNIBUS - DAY))["decision"] == before
    assert act(decide(reasoner, name, OMNIBUS))["decision"] == on


@pytest.mark.parametrize(
    ("day", "decision"),
    [
        (REPRODUCTIVE - DAY, "permitted"),
        (REPRODUCTIVE, "authorization-required"),
        (REPRODUCTIVE_COMPLIANCE, "authorization-required"),
        (VACATUR - DAY, "authorization-required"),
        (VACATUR, "permitted"),
        (None, "permitted"),  # today
    ],
)
def test_reproductive_health_care_straddle(reasoner, day, decision):
    record = act(decide(reasoner, "asof-reproductive-investigation-in-force", day or dt.date.today()))
    assert record["decision"] == decision


def test_a_rule_not_in_force_that_would_have_applied_is_named(reasoner):
    record = act(decide(reasoner, "asof-decedent-before-omnibus"))
    (missing,) = record["explanation"]["notInForce"]
    assert missing["rule"] == "164.502-f"
    assert missing["provisions"] == ["45 CFR 164.502(f)", "45 CFR 160.103"]
    assert missing["inForce"][0] == "45 CFR 164.502(f): 2013-03-26 to today"
    assert "was not in force on 2013-03-25" in missing["text"]


def test_records_of_today_name_no_rule_out_of_force_unless_it_would_apply(reasoner):
    """Records for today are unchanged: the vacated rules are named only where they would have applied."""
    record = act(reasoner.decide(ROOT / "examples" / "aco-provider-to-provider.yaml").as_dict())
    assert "notInForce" not in record["explanation"]
    vacated = act(decide(reasoner, "asof-reproductive-investigation-vacated"))
    assert {m["rule"] for m in vacated["explanation"]["notInForce"]} == {"164.502-a-5-iii", "164.509"}


def test_counterfactuals_use_only_the_rules_in_force(reasoner):
    """Before 2013 no counterfactual rests on a rule not yet in force; after the vacatur none rests on 164.509."""
    before = act(decide(reasoner, "asof-decedent-before-omnibus"))
    assert before["explanation"]["whyNot"]
    assert all(c["rule"] in reasoner.rules.in_force(OMNIBUS - DAY) for c in before["explanation"]["whyNot"])
    after = act(decide(reasoner, "asof-attestation-after-vacatur"))
    assert all(c["rule"] != "164.509" for c in after["explanation"]["wouldChange"])
    during = act(decide(reasoner, "asof-attestation-missing"))
    assert any(
        c["rule"] == "164.509" and c["changes"] == [{"add": ["d1", "attestation", "true"]}]
        for c in during["explanation"]["whyNot"]
    )


def test_a_date_before_the_rules_is_a_violation(reasoner):
    record = decide(reasoner, "asof-decedent-after-omnibus", dt.date(2001, 1, 1))
    assert not record["conforms"]
    assert record["acts"] == []
    assert "before 2002-10-15" in record["violations"][0]["message"]


# --- the command line -----------------------------------------------------------------


def evaluate_json(capsys, *argv) -> dict:
    code = main(["evaluate", "--format", "json", *argv])
    out, _ = capsys.readouterr()
    assert code == 0
    return json.loads(out)


def test_the_record_says_which_date_it_used(capsys):
    record = evaluate_json(capsys, str(SCENARIOS / "asof-decedent-before-omnibus.yaml"))
    (scenario,) = record["scenarios"]
    assert scenario["asOf"] == "2013-03-25"


def test_as_of_overrides_the_file(capsys):
    path = str(SCENARIOS / "asof-decedent-after-omnibus.yaml")  # the file says asOf: 2013-03-26
    (scenario,) = evaluate_json(capsys, "--as-of", "2013-03-25", path)["scenarios"]
    assert scenario["asOf"] == "2013-03-25"
    assert scenario["acts"][0]["decision"] == "authorization-required"
    (scenario,) = evaluate_json(capsys, path)["scenarios"]
    assert scenario["asOf"] == "2013-03-26"
    assert scenario["acts"][0]["decision"] == "not-regulated"


def test_without_a_date_today_applies(capsys, tmp_path):
    text = (SCENARIOS / "asof-attestation-missing.yaml").read_text().replace("asOf: 2025-01-15\n", "")
    path = tmp_path / "undated.yaml"
    path.write_text(text)
    (scenario,) = evaluate_json(capsys, str(path))["scenarios"]
    assert scenario["asOf"] == dt.date.today().isoformat()
    assert scenario["acts"][0]["decision"] == "permitted"


def test_the_rules_in_force_are_kept_per_span_of_days_not_per_day(reasoner):
    """A log's dates run over thousands of days; the rules in force change on a few: one entry a span."""
    rules = reasoner.rules
    days = [dt.date(2003, 1, 1) + dt.timedelta(days=n) for n in range(0, 8000, 3)]
    found = {rules.in_force(day) for day in days}
    assert len(rules._in_force) <= len(rules.calendar.changes) + 1
    assert len(found) <= len(rules._in_force)
    for day in days[::50]:  # the same answer as the calendar gives, day by day
        expected = {r.name for r in rules.order if rules.calendar.rule_in_force(r.name, day)}
        assert rules.in_force(day) == expected
