"""Unreadable scenario files give one error naming the file (and the line when known)."""

import pytest

from reasoner.errors import ScenarioError
from reasoner.scenario import _read_yaml, load


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "absent.yaml")


def test_unknown_suffix(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("facts: []")
    with pytest.raises(ScenarioError, match="unknown file type"):
        load(path)


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("facts:\n  - id: a\n    type: [unclosed\n")
    with pytest.raises(ScenarioError) as error:
        load(path)
    assert error.value.line is not None and str(path) in str(error.value)


def test_yes_no_and_dates_stay_strings():
    data, _ = _read_yaml("x.yaml", "a: yes\nb: no\nc: 2025-08-11\nd: true\n")
    assert data == {"a": "yes", "b": "no", "c": "2025-08-11", "d": True}


def test_remote_context_is_refused(tmp_path):
    path = tmp_path / "remote.yaml"
    path.write_text('context: {"@context": "https://example.org/ctx.jsonld"}\nfacts: []\n')
    with pytest.raises(ScenarioError, match="never fetched"):
        load(path)
