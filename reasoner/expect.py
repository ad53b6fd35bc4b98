"""Compare a decision record with a scenario's ``expect`` block (SCENARIOS.md section 1)."""

from __future__ import annotations

COMPARED = ("decision", "basis", "minimumNecessary")


def compare(expected: dict, record: dict | None) -> list[str]:
    """What differs between an expectation and a record; empty when they agree.

    Only the keys the expectation names are compared: ``decision``, ``basis``
    (the same citations in the same order) and ``minimumNecessary``.
    """
    if record is None:
        return ["no decision (is the act in the facts, and the scenario valid?)"]
    problems = []
    for key in COMPARED:
        if key in expected and expected[key] != record[key]:
            problems.append(f"{key}: expected {expected[key]!r}, got {record[key]!r}")
    return problems
