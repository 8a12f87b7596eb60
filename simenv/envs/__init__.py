"""Environments over the engine: the Gymnasium env ``simenv/IAM-v0`` and a PettingZoo ``ParallelEnv``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simenv.envs.iam_env import IAMEnv

if TYPE_CHECKING:
    from simenv.envs.parallel import IAMParallelEnv

__all__ = ["IAMEnv", "parallel_env"]


def parallel_env(scenario: str, policy: str, reward_mode: str = "task", size: int | None = None) -> IAMParallelEnv:
    """The PettingZoo ``ParallelEnv`` with every agent identity of ``scenario`` a learner.

    pettingzoo is imported here, on first use, so ``import simenv.envs`` works without it.

    Args:
        scenario: a shipped scenario name or a path to a scenario file.
        policy: a shipped profile name or a path to a profile file.
        reward_mode: ``"task"`` or ``"red_team"`` (see :class:`~simenv.envs.parallel.IAMParallelEnv`).
        size: overrides the scenario's estate size.

    Raises:
        ImportError: when pettingzoo is not installed (it comes with the ``all`` extra).
    """
    try:
        from simenv.envs.parallel import IAMParallelEnv
    except ModuleNotFoundError as e:
        if e.name != "pettingzoo":
            raise
        raise ImportError("parallel_env needs pettingzoo: pip install 'simenv[all]' (or pettingzoo>=1.24)") from e

    return IAMParallelEnv(scenario, policy, reward_mode, size)
