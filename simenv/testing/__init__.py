"""Checks users run on their own scenarios and plug-ins, the way PettingZoo ships its api tests.

* :func:`check_scenario` / :func:`check_all_shipped`: a scenario file is sound (see
  :mod:`simenv.testing.scenarios`).
* :func:`check_scores`: the scores of a scenario keep the validity properties (deny_all gets
  nothing done, allow_all is the ceiling of damage and exposure, the null agent does nothing, the
  oracle does no damage; see :mod:`simenv.testing.scores`).
* :func:`check_authorizer` and :func:`check_agent`: an outside authorizer or agent keeps the
  protocol of its seam (see :mod:`simenv.testing.plugins`).
* :mod:`simenv.testing.adversary`: the seeded :class:`~simenv.testing.adversary.Adversary` agent
  (``--agent adversary``) and :func:`~simenv.testing.adversary.fuzz`, which runs it over scenarios
  and profiles (``python -m simenv.testing.adversary --calls N`` from a shell) while
  :class:`~simenv.testing.invariants.InvariantChecker` checks every call: no world change without
  an allow, exactly one record per call, a whole audit log.

Importing this package is cheap: the engine, the agents and Gymnasium are imported when a
check runs.
"""

from simenv.testing.plugins import PluginCheckError, check_agent, check_authorizer
from simenv.testing.scenarios import ScenarioCheckError, check_all_shipped, check_scenario
from simenv.testing.scores import ScoreCheckError, check_scores

__all__ = ["PluginCheckError", "ScenarioCheckError", "ScoreCheckError", "check_agent", "check_all_shipped",
           "check_authorizer", "check_scenario", "check_scores"]
