"""hipaa-kg: a knowledge-graph reasoner for the HIPAA Privacy Rule.

>>> from reasoner import Reasoner
>>> result = Reasoner().decide("examples/aco-provider-to-provider.yaml")
>>> result.acts[0]["decision"], result.acts[0]["basis"]
('permitted', ['45 CFR 164.506(c)(2)'])

``Reasoner``, ``Result``, ``Scenario`` and ``load`` are imported when first
used, so that ``hipaa-kg --help`` imports nothing heavy (rdflib, pyshacl, ...).
"""

from importlib import import_module

from .errors import HipaaKgError, RuleError, ScenarioError

_LAZY = {"Reasoner": "decide", "Result": "decide", "Scenario": "scenario", "load": "scenario"}

__all__ = ["Reasoner", "Result", "Scenario", "load", "HipaaKgError", "RuleError", "ScenarioError"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
