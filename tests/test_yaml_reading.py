"""A YAML scenario read by libyaml gives what PyYAML's own parser gives: the data, the lines, or the error."""

import random

import pytest
import yaml
from conftest import scenario_files

from reasoner import scenario
from reasoner.errors import ScenarioError

YAML_FILES = [p for p in scenario_files() if p.suffix == ".yaml"]
TOKENS = list(":-[]{},#&*!|>'\"%@` \n\\") + [
    *("yes", "no", "2025-01-01", "~", "\r\n", "\r", "\x00", "\x85", "\u2028", "\xa0", "é", "\U0001f600"),
    *("a", "1", "0x1F", ".inf", "<<", "---", "...", "%YAML 1.1\n", "!!str ", "&a ", "*a", "\t", "?", "\ufeff"),
]


def read(reader, text: str):
    try:
        return "read", reader("x.yaml", text)
    except ScenarioError as e:
        return "error", str(e)


def test_every_scenario_file_reads_alike():
    assert len(YAML_FILES) > 200
    for path in YAML_FILES:
        text = path.read_text(encoding="utf-8")
        assert read(scenario._read_yaml, text) == read(scenario._read_yaml_slowly, text), path


@pytest.mark.parametrize("seed", range(4))
def test_damaged_scenario_files_read_alike(seed):
    """Each of 300 files, one to six tokens inserted, removed or replaced: the same data or the same error."""
    rng = random.Random(seed)
    for _ in range(300):
        text = list(rng.choice(YAML_FILES).read_text(encoding="utf-8"))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(text))
            operation = rng.random()
            if operation < 0.4:
                text.insert(at, rng.choice(TOKENS))
            elif operation < 0.7:
                del text[at]
            else:
                text[at] = rng.choice(TOKENS)
        damaged = "".join(text)
        assert read(scenario._read_yaml, damaged) == read(scenario._read_yaml_slowly, damaged), repr(damaged)


@pytest.mark.parametrize(
    "text",
    [
        "facts:\n  - id: a\n    type:\tIndividual\n",  # a tab as a separator: libyaml reads it, PyYAML does not
        "facts: [{id: a, type: X?}]\n",  # a '?' ending a word in a flow collection
        "expect:\n\ufeff  d1: {decision: permitted}\n",  # a byte-order mark inside the text: libyaml drops it
    ],
)
def test_what_libyaml_reads_otherwise_is_read_by_pyyaml(text):
    assert read(scenario._read_yaml, text) == read(scenario._read_yaml_slowly, text)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_a_plain_file_is_read_by_libyaml(monkeypatch):
    monkeypatch.setattr(scenario, "_read_yaml_slowly", lambda *_: pytest.fail("read by PyYAML"))
    data, lines = scenario._read_yaml("x.yaml", "facts:\n  - id: a\n    type: Individual\n")
    assert (data, lines) == ({"facts": [{"id": "a", "type": "Individual"}]}, {"a": 2})
