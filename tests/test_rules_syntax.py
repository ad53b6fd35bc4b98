"""Every rule file parses, has its header, and rewrites to a SELECT that parses."""

from pathlib import Path

import pytest
from rdflib.plugins.sparql import prepareQuery

from reasoner.rules import _as_select, _header

RULES = sorted((Path(__file__).resolve().parents[1] / "queries" / "rules").glob("*.rq"))


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_rule_parses_and_has_header(path):
    text = path.read_text(encoding="utf-8")
    header = _header(path.stem, text)
    assert header["summary"] and header["provision"]
    assert "CONSTRUCT" in prepareQuery(text).algebra.name.upper()


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_rule_rewrites_to_select(path):
    select = _as_select(path.stem, path.read_text(encoding="utf-8"))
    assert prepareQuery(select).algebra.name == "SelectQuery"
