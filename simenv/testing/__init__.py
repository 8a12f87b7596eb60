"""Checks users run on their own scenarios and plug-ins, the way PettingZoo ships its api tests.

* :func:`check_scenario` / :func:`check_all_shipped`: a scenario file is sound (see
  :mod:`simenv.testing.scenarios`).
* :func:`check_authorizer` and :func:`check_agent`: an outside authorizer or agent keeps the
  protocol of its seam (see :mod:`simenv.testing.plugins`).

Importing this package is cheap: the engine, the agents and Gymnasium are imported when a
check runs.
"""

from simenv.testing.plugins import PluginCheckError, check_agent, check_authorizer
from simenv.testing.scenarios import ScenarioCheckError, check_all_shipped, check_scenario

__all__ = ["PluginCheckError", "ScenarioCheckError", "check_agent", "check_all_shipped", "check_authorizer",
           "check_scenario"]
