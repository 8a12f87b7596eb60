"""The Gymnasium env: registration, check_env, seeded determinism, pickling, rewards."""

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from conftest import PAIRS, SCENARIOS
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


def test_the_envs_generator_is_the_one_gymnasium_seeds_though_made_when_first_read():
    """reset(seed=s) defers seeding; np_random, np_random_seed and seedless resets are Gymnasium's."""
    from gymnasium.utils import seeding

    env = gym.make("simenv/IAM-v0", scenario="scope_creep", policy="zero_standing")
    env.reset(seed=5)
    assert env.unwrapped.__dict__["_rng"] is None  # nothing seeded yet
    assert env.np_random_seed == 5
    ref = seeding.np_random(5)[0]
    assert env.np_random.bit_generator.state == ref.bit_generator.state
    assert env.unwrapped._np_random is env.np_random  # what Gymnasium and its env checker read
    env.reset(seed=5)
    env.reset()  # a seedless reset draws its episode seed from the generator seeded by 5
    assert env.unwrapped.engine.seed == int(ref.integers(0, 2**31 - 1))
    with pytest.raises(gym.error.Error, match="greater or equal to zero"):
        env.reset(seed=-1)  # Gymnasium's own refusal
    mine = np.random.default_rng(3)
    env.unwrapped.np_random = mine  # set by the user: kept, as Gymnasium keeps it
    assert env.np_random is mine and env.np_random_seed == -1


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


# --------------------------------------------------------------------------- the action mask
def _learner_records(env, before, tick):
    from simenv.sim.records import CallRecord, ControlRecord

    return [r for r in env.engine.audit.records[before:]
            if isinstance(r, (CallRecord, ControlRecord)) and r.agent == env.learner and r.tick == tick]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_with_an_open_ticket_every_action_is_a_well_formed_call(scenario):
    from simenv.world.catalog import resolve

    env = IAMEnv(scenario=scenario, policy="allow_all")
    obs, info = env.reset(seed=0)
    assert obs["has_ticket"] == 1 and info["action_mask"].all()
    for call in env.calls[3:]:
        resolve(env.engine.world, call.tool, call.args, env.learner)  # raises ToolCallError if malformed


@pytest.mark.parametrize("scenario", ["scope_creep", "key_export", "break_glass_access", "multi_agent_chaining"])
def test_mask_1_is_mediated_and_mask_0_is_a_wait_unless_an_approval_settles(scenario):
    from simenv.types import Outcome

    counts = {"one": 0, "zero": 0, "settled": 0}
    for policy in ("allow_all", "jit_approval", "zero_standing"):
        env = IAMEnv(scenario=scenario, policy=policy)
        for seed in range(3):
            rng = np.random.default_rng(seed)
            obs, info = env.reset(seed=seed)
            done = False
            while not done:
                mask = info["action_mask"]
                a = int(rng.choice(np.flatnonzero(mask))) if rng.random() < 0.7 else int(rng.integers(len(mask)))
                st = env.engine.by_name[env.learner]
                was_pending, before, tick = st.pending is not None, len(env.engine.audit.records), env.engine.tick
                obs, r, term, trunc, info = env.step(a)
                done = term or trunc
                mine = _learner_records(env, before, tick)
                assert info["acted"] == bool(mine)  # the env says whether the action took the learner's turn
                if a == 0:
                    continue
                if mask[a]:
                    counts["one"] += 1
                    assert mine and all(getattr(x, "effect", None) is not Outcome.INVALID for x in mine), (a, mine)
                elif mine:
                    counts["settled"] += 1
                    assert was_pending  # the approval came due at the start of the step: the action was taken
                else:
                    counts["zero"] += 1
    assert counts["one"] and counts["zero"]


def test_the_mask_does_not_depend_on_the_policy():
    masks = {}
    for policy in ("allow_all", "deny_all", "static_rbac", "zero_standing"):
        env = IAMEnv(scenario="scope_creep", policy=policy)
        obs, info = env.reset(seed=3)
        seen = [info["action_mask"].copy()]
        for a in (0, 0, env.action_names.index("db_query(table=payments)")):
            obs, r, term, trunc, info = env.step(a)
            seen.append(info["action_mask"].copy())
        masks[policy] = seen
    first = masks["allow_all"]
    for policy, seen in masks.items():  # denied or allowed, the learner still has its ticket: the same mask
        assert all((x == y).all() for x, y in zip(seen, first, strict=True)), policy


def _reference_observation(env):
    """The observation as first written: every credential of the world sorted, the scope bits set one by one."""
    from simenv.envs.observe import CRED_KINDS, DECISIONS, EFFECTS
    from simenv.types import RISK_CLASSES, SYSTEMS, cred_label

    e = env.engine
    st, w = e.by_name[env.learner], e.world
    t = st.current
    creds = np.zeros(3, dtype=np.int64)
    held = [c for _, c in sorted(w.creds.items()) if c.holder == st.idx and c.live(e.tick)]
    for c in held:
        creds[CRED_KINDS[str(c.kind)]] += 1
    scope = np.zeros(len(SYSTEMS) + len(RISK_CLASSES), dtype=np.int8)
    if t is not None:
        for k, s in enumerate(SYSTEMS):
            scope[k] = s in t.scope.systems
        for k, r in enumerate(RISK_CLASSES):
            scope[len(SYSTEMS) + k] = r in t.scope.risks
    last = st.last
    obs = {"tick": np.array([min(e.tick, env.spec_.max_ticks)], dtype=np.int64), "has_ticket": int(t is not None),
           "scope": scope, "pending": int(st.pending is not None), "last_action": env._last_action,
           "last_decision": DECISIONS.index(last.decision) if last and last.decision in DECISIONS else 0,
           "last_effect": EFFECTS.index(last.effect) if last and last.effect in EFFECTS else 0,
           "credentials": np.minimum(creds, 1024), "denials": np.array([env._denials], dtype=np.int64)}
    return obs, [cred_label(c.id) for c in held]


@pytest.mark.parametrize(("pair", "holds"), [(("scope_creep", "allow_all"), True), (("scope_creep", "zero_standing"), False),
                                           (("delegated_admin", "jit_approval"), True), (("key_export", "jit"), True)])
def test_the_observation_is_the_engines_view_of_the_agent(pair, holds):
    env = IAMEnv(*pair)
    rng = np.random.default_rng(5)
    kinds = set()
    for episode in range(6):
        obs, info = env.reset(seed=episode)
        for _ in range(80):
            want, held = _reference_observation(env)
            assert obs.keys() == want.keys()
            for k, v in want.items():
                assert np.array_equal(obs[k], v) and np.asarray(obs[k]).dtype == np.asarray(v).dtype, (k, obs[k], v)
            seen = env.engine.observe(env.engine.by_name[env.learner])
            assert [c.id for c in seen.credentials] == held
            kinds.update(c.kind for c in seen.credentials)
            obs, _, term, trunc, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
            if term or trunc:
                break
    assert bool(kinds) == holds, kinds  # zero standing privilege: a credential lives for its call only
