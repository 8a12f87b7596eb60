"""Register simenv's environment ids with Gymnasium (lazy entry points, no import cost)."""

from __future__ import annotations

import gymnasium as gym

ENV_ID = "simenv/IAM-v0"


def register() -> None:
    """Register ``simenv/IAM-v0`` once."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="simenv.envs.iam_env:IAMEnv")
