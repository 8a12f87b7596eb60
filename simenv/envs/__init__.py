"""Environments over the engine: the Gymnasium env ``simenv/IAM-v0``."""

from simenv.envs.iam_env import IAMEnv

__all__ = ["IAMEnv"]
