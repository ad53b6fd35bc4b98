"""Compare a decision record with a scenario's ``expect`` block (SCENARIOS.md section 1)."""

from __future__ import annotations

COMPARED = ("decision", "basis", "minimumNecessary", "minimumNecessaryBasis")


def compare(expected: dict, record: dict | None) -> list[str]:
    """What differs between an expectation and a record; empty when they agree.

    Only the keys the expectation names are compared: ``decision``, ``basis``
    (the same citations in the same order), ``minimumNecessary``,
    ``minimumNecessaryBasis`` (likewise), and ``conditions`` (the ids of the
    conditions, in any order).
    """
    if record is None:
        return ["no decision (is the act in the facts, and the scenario valid?)"]
    problems = []
    for key in COMPARED:
        if key in expected and expected[key] != record[key]:
            problems.append(f"{key}: expected {expected[key]!r}, got {record[key]!r}")
    if "conditions" in expected:
        got = sorted(c["id"] for c in record["conditions"])
        if sorted(expected["conditions"]) != got:
            problems.append(f"conditions: expected {sorted(expected['conditions'])!r}, got {got!r}")
    return problems
