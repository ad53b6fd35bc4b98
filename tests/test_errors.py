"""Every error of errors.py survives pickling (a pool's worker sends one back to its parent)."""

import inspect
import multiprocessing
import pickle

from reasoner import errors

EXAMPLES = {  # one instance of every error class
    errors.HipaaKgError: errors.HipaaKgError("something is wrong"),
    errors.RuleError: errors.RuleError("queries/rules/x.rq: not valid SPARQL"),
    errors.ScenarioError: errors.ScenarioError("a.yaml", "not a mapping", line=3),
}


def test_every_error_class_has_an_example():
    classes = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BaseException)}
    assert classes == set(EXAMPLES)


def test_every_error_pickles_with_its_message_and_fields():
    for cls, error in EXAMPLES.items():
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls and str(back) == str(error) and back.args == error.args
        assert vars(back) == vars(error)


def test_a_scenario_error_without_a_line_pickles_too():
    back = pickle.loads(pickle.dumps(errors.ScenarioError("a.yaml", "cannot read the file")))
    assert (str(back), back.source, back.message, back.line) == (
        "a.yaml: cannot read the file",
        "a.yaml",
        "cannot read the file",
        None,
    )


def _fail(_):
    raise errors.ScenarioError("a.yaml", "not a mapping", line=3)


def test_a_scenario_error_raised_in_a_pool_reaches_the_parent():
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result = pool.map_async(_fail, [0])
        try:
            result.get(timeout=30)
        except errors.ScenarioError as e:
            assert (e.source, e.message, e.line) == ("a.yaml", "not a mapping", 3)
        else:
            raise AssertionError("no error")
