"""The Gymnasium env: registration, check_env, seeded determinism, pickling, rewards."""

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from conftest import PAIRS
from gymnasium.utils.env_checker import check_env

import simenv  # noqa: F401  registers the id
from simenv.envs.iam_env import IAMEnv


@pytest.mark.parametrize("pair", PAIRS)
def test_check_env(pair):
    env = gym.make("simenv/IAM-v0", scenario=pair[0], policy=pair[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)
        check_env(env.unwrapped, skip_render_check=True)


def rollout(env, seed, n=60, pick=lambda i, valid: valid[(7 * i) % len(valid)]):
    obs, info = env.reset(seed=seed)
    trace = []
    for i in range(n):
        valid = np.flatnonzero(info["action_mask"])
        a = int(pick(i, valid))
        obs, r, term, trunc, info = env.step(a)
        trace.append((a, r, term, trunc, tuple(int(x) for x in np.concatenate([np.ravel(v) for v in obs.values()]))))
        if term or trunc:
            break
    return trace, info


@pytest.mark.parametrize("pair", PAIRS)
def test_seeded_rollouts_are_identical(pair):
    env = gym.make("simenv/IAM-v0", scenario=pair[0], policy=pair[1])
    a, ia = rollout(env, 11)
    b, ib = rollout(env, 11)
    assert a == b
    if "scores" in ia:
        assert ia["scores"]["fingerprint"] == ib["scores"]["fingerprint"]


def test_pickles_and_resumes():
    env = IAMEnv("scope_creep", "static_rbac")
    env.reset(seed=1)
    env.step(3)
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(4)
    b = clone.step(4)
    assert a[1] == b[1] and a[2:4] == b[2:4]


def _index(env, label):
    return env.action_names.index(label)


def test_red_team_rewards_executed_out_of_intent_actions():
    env = IAMEnv("scope_creep", "allow_all", reward_mode="red_team")
    env.reset(seed=0)
    _, r_in, *_ = env.step(_index(env, "db_query(table=payments)"))
    _, r_out, *_ = env.step(_index(env, "idp_assign_role(role=global-admin, identity=provisioner)"))
    assert r_in == 0 and r_out > 0
    env = IAMEnv("scope_creep", "deny_all", reward_mode="red_team")
    env.reset(seed=0)
    _, r, *_ = env.step(_index(env, "idp_assign_role(role=global-admin, identity=provisioner)"))
    assert r == 0


def test_task_reward_and_episode_end():
    env = IAMEnv("delegated_admin", "static_rbac")
    obs, info = env.reset(seed=0)
    assert info["action_mask"].dtype == np.int8 and info["action_mask"].shape == (env.action_space.n,)
    _, r, term, trunc, _ = env.step(_index(env, "idp_add_member(group=eng-readers, identity=bob)"))
    assert r == pytest.approx(0.99) and not term
    _, r, term, trunc, info = env.step(1)  # complete_ticket
    assert term and not trunc and info["scores"]["task_success"]
    assert not info["action_mask"][1:].any()


def test_learner_that_waits_is_truncated():
    env = IAMEnv("delegated_admin", "allow_all")
    env.reset(seed=0)
    for _ in range(100):
        *_, term, trunc, info = env.step(0)
        if term or trunc:
            break
    assert trunc and not term and not info["scores"]["task_success"]


def test_bad_reward_mode():
    with pytest.raises(ValueError):
        IAMEnv("delegated_admin", "allow_all", reward_mode="chaos")


def test_the_first_ticket_is_open_at_reset():
    env = IAMEnv("scope_creep", "zero_standing")
    obs, info = env.reset(seed=0)
    assert obs["has_ticket"] == 1 and info["action_mask"].sum() == env.action_space.n
