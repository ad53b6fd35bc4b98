"""hipaa-kg: a knowledge-graph reasoner for the HIPAA Privacy Rule.

>>> from reasoner import Reasoner
>>> result = Reasoner().decide("examples/aco-provider-to-provider.yaml")
>>> result.acts[0]["decision"], result.acts[0]["basis"]
('permitted', ['45 CFR 164.506(c)(2)'])
"""

from .decide import Reasoner, Result
from .errors import HipaaKgError, RuleError, ScenarioError
from .scenario import Scenario, load

__all__ = ["Reasoner", "Result", "Scenario", "load", "HipaaKgError", "RuleError", "ScenarioError"]
