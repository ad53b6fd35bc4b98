"""The order of rules is computed from what they read and write; a cycle through negation fails."""

import pytest

from reasoner.errors import RuleError
from reasoner.rules import Rule, _matches, _Writers, order_rules


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


def pairwise_edges(rules):
    """The edges of the order, as found by comparing every read of every rule with every write of every other."""
    edges = {}
    for writer in rules:
        for reader in rules:
            for key, negative in reader.reads:
                if any(_matches(key, w) for w in writer.writes):
                    edges[writer.name, reader.name] = edges.get((writer.name, reader.name), False) or negative
    return list(edges.items())


def edges_of(ruleset):
    return list(ruleset.edges.items())


def test_the_writers_index_finds_the_edges_every_pair_would_on_the_package_rules():
    from reasoner.ontology import load_ontology
    from reasoner.resources import query_files
    from reasoner.rules import load_rules

    ruleset = load_rules(load_ontology())
    in_file_order = [ruleset.by_name(f.name[: -len(".rq")]) for f in query_files("rules")]
    assert edges_of(ruleset) == pairwise_edges(in_file_order)


KEYS = ("*", "type:*", "type:*@C", "type:*@D", "type:C", "type:D", "p", "p@C", "p@D", "p@", "q", "q@C", "type:p")


@pytest.mark.parametrize("seed", range(20))
def test_the_writers_index_finds_the_writers_every_pair_would_on_random_keys(seed):
    import random

    rng = random.Random(seed)
    rules = [rule(f"r{i:02}", writes=set(rng.sample(KEYS, rng.randint(0, 3)))) for i in range(12)]
    writers = _Writers(rules)
    for read in KEYS:
        assert writers.of(read) == {i for i, r in enumerate(rules) if any(_matches(read, w) for w in r.writes)}, read
