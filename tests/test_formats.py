"""The same scenario in YAML, Turtle and JSON-LD gets the same decision; other vocabularies are welcome."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEM = ROOT / "examples" / "aco-provider-to-provider"


def summary(result):
    return [(a["id"].rsplit("/", 1)[-1], a["decision"], a["basis"], a["minimumNecessary"]) for a in result.acts]


@pytest.mark.parametrize("suffix", [".ttl", ".jsonld"])
def test_formats_decide_alike(reasoner, suffix):
    yaml_result = reasoner.decide(STEM.with_suffix(".yaml"))
    other = reasoner.decide(STEM.with_suffix(suffix))
    assert other.conforms, [v.as_dict() for v in other.violations]
    assert summary(other) == summary(yaml_result) == [("d1", "permitted", ["45 CFR 164.506(c)(2)"], False)]


def test_turtle_act_ids_are_full_iris(reasoner):
    result = reasoner.decide(STEM.with_suffix(".ttl"))
    assert result.acts[0]["id"] == "https://example.org/scenarios/aco-provider-to-provider/d1"


def test_another_vocabulary_is_not_an_unknown_term(reasoner, tmp_path):
    """A file may bring its own context: its terms are not ours to reject, but misspelt hk: terms are."""
    text = STEM.with_suffix(".yaml").read_text()
    text = text.replace("facts:\n", "context: {schema: 'https://schema.org/'}\nfacts:\n", 1)
    text = text.replace("type: AccountableCareOrganization", "type: [AccountableCareOrganization, schema:Organization]")
    text = text.replace("    treats: patient\n", "    treats: patient\n    schema:name: Main Street Clinic\n", 1)
    path = tmp_path / "vocabularies.yaml"
    path.write_text(text)
    result = reasoner.decide(path)
    assert result.conforms, [v.as_dict() for v in result.violations]
    assert summary(result)[0][1] == "permitted"

    path.write_text(text.replace("treats: patient\n    schema:name", "treatz: patient\n    schema:name"))
    messages = [v.message for v in reasoner.decide(path).violations]
    assert any(m.startswith("unknown property 'treatz'") and "did you mean 'treats'" in m for m in messages)
