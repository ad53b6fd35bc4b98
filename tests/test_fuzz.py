"""The fuzz corpus in CI: a sample of bench/fuzz.py's cases, each a record, a violation or a one-line error.

``bench/fuzz.py`` runs 10,000 cases (BENCHMARKS.md, "Fuzzing"); here hypothesis
draws a few dozen from the same strategies, derandomized so that CI is stable,
and runs each through ``hipaa-kg evaluate --format json`` in process.
"""

import sys
from unittest import mock

from conftest import ROOT
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(ROOT / "bench"))
import fuzz  # noqa: E402
import fuzz_cases  # noqa: E402

from reasoner import cli  # noqa: E402


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=fuzz_cases.cases())
def test_every_case_is_a_record_a_violation_or_one_error_line(reasoner, tmp_path_factory, case):
    path = tmp_path_factory.mktemp("fuzz") / f"case{case.suffix}"
    with mock.patch.object(cli, "Reasoner", lambda **options: reasoner):
        status, stdout, stderr = fuzz.run_in_process(case, path, timeout=120)
    outcome, detail = fuzz.classify(str(path), status, stdout, stderr, case.secrets)
    assert outcome != "failure", f"{case.kind} of {case.base} ({case.suffix}): {detail}\n{stderr[-3000:]}"


def test_the_corpus_is_a_function_of_its_seed():
    assert fuzz.corpus_case(1234, 7) == fuzz.corpus_case(1234, 7)
    assert fuzz.corpus_case(1234, 7) != fuzz.corpus_case(1234, 8)


def test_the_corpus_has_every_kind_in_every_format():
    planned = {fuzz.plan(i, 0)[:2] for i in range(len(fuzz.SCHEDULE) * len(fuzz_cases.SUFFIXES))}
    assert {kind for kind, _ in planned} == set(fuzz_cases.KINDS)
    assert {suffix for _, suffix in planned} == set(fuzz_cases.SUFFIXES)
    assert {fuzz.plan(i, 0)[3] for i in range(200)} == {True, False}  # examples and generated scenarios


RECORD = '{"scenarios": [{"conforms": %s, "violations": %s, "acts": []}]}'
VIOLATION = '[{"severity": "Violation", "message": "unknown type", "focusNode": "x"}]'


def test_the_classification_can_fail():
    path = "s.yaml"
    assert fuzz.classify(path, 0, RECORD % ("true", "[]"), "")[0] == "record"
    assert fuzz.classify(path, 1, RECORD % ("false", VIOLATION), f"hipaa-kg: {path}: violation: ...\n")[0] == (
        "violation"
    )
    assert fuzz.classify(path, 2, "", f"hipaa-kg: {path}:3: not valid YAML\n")[0] == "error"
    failures = [
        (3, "", f"hipaa-kg: {path}: internal error: KeyError\n"),
        (2, "", f"hipaa-kg: {path}: one\nhipaa-kg: {path}: two\n"),
        (2, "", "hipaa-kg: other.yaml: not this file\n"),
        (2, "", "Traceback (most recent call last):\n  ...\n"),
        (0, RECORD % ("true", "[]"), "Failed to convert Literal lexical form to value\n"),
        (1, RECORD % ("true", "[]"), ""),
        (0, "not json", ""),
        ("no answer within 1 s", "", ""),
    ]
    for status, stdout, stderr in failures:
        assert fuzz.classify(path, status, stdout, stderr)[0] == "failure", (status, stderr)
    leak = f"hipaa-kg: {path}: violation: node 'p': minor: must be true or false, not 'Phi123Zq'\n"
    assert fuzz.classify(path, 1, RECORD % ("false", VIOLATION), leak, ("Phi123Zq",))[0] == "failure"
