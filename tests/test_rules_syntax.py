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


def test_a_continuation_line_with_a_colon_stays_a_continuation():
    """'#+   guidance: ...' inside a note continued the note, but was read as a guidance key (IRIs with spaces)."""
    text = "#+ summary: s\n#+ provision: p\n#+ note: first line,\n#+   guidance: part of the note.\nASK {}\n"
    header = _header("x", text)
    assert "guidance" not in header
    assert header["note"] == ["first line,", "guidance: part of the note."]


def test_guidance_must_name_a_provision_or_a_url():
    import pytest

    from reasoner.errors import RuleError

    with pytest.raises(RuleError, match="names no provision"):
        _header("x", "#+ summary: s\n#+ provision: p\n#+ guidance: see the FAQ\n")
