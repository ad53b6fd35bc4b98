"""The order of rules is computed from what they read and write; a cycle through negation fails."""

import pytest

from reasoner.errors import RuleError
from reasoner.rules import Rule, _matches, order_rules


def rule(name, reads=(), writes=()):
    return Rule(name, "", {"summary": [name], "provision": []}, "", [], set(reads), set(writes))


def test_reader_runs_after_writer():
    a = rule("a", writes={"type:X"})
    b = rule("b", reads={("type:X", False)}, writes={"type:Y"})
    c = rule("c", reads={("type:Y", True)}, writes={"p"})
    ordered = order_rules([c, b, a])
    assert [r.name for r in ordered.order] == ["a", "b", "c"]
    assert [r.stratum for r in ordered.order] == [0, 0, 1]


def test_cycle_through_negation_is_an_error():
    a = rule("a", reads={("type:Y", True)}, writes={"type:X"})
    b = rule("b", reads={("type:X", False)}, writes={"type:Y"})
    with pytest.raises(RuleError, match="cycle through negation"):
        order_rules([a, b])


def test_qualified_keys():
    assert _matches("hk:act", "hk:act@Permission")
    assert not _matches("hk:act@Permission", "hk:act@Finding")
    assert _matches("type:*@Finding", "type:*@Finding")
    assert not _matches("type:*@Finding", "type:*@MinimumNecessaryException")
    assert _matches("type:*", "type:Anything")
