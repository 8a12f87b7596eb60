"""simenv: how AI agents doing IAM work overreach, and how well governance contains them.

>>> import simenv
>>> r = simenv.run_episode("scope_creep", "allow_all", seed=0)
>>> r.scores["violations_executed"] > 0
True
"""

from simenv.api import EpisodeResult, run_episode
from simenv.envs.registration import register as _register

__version__ = "0.1.0"
__all__ = ["EpisodeResult", "run_episode", "run_matrix", "__version__"]

_register()


def __getattr__(name: str):
    # run_matrix lives in simenv.bench, which imports pandas and pyarrow: load it on first use.
    if name == "run_matrix":
        from simenv.bench.runner import run_matrix

        return run_matrix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
