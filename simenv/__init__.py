"""simenv: how AI agents doing IAM work overreach, and how well governance contains them.

>>> import simenv
>>> r = simenv.run_episode("scope_creep", "allow_all", seed=0)
>>> r.scores["violations_executed"] > 0
True
"""

from simenv.api import EpisodeResult, run_episode
from simenv.envs.registration import register as _register

__version__ = "0.1.0"
__all__ = ["EpisodeResult", "run_episode", "__version__"]

_register()
