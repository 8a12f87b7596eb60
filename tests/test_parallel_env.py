"""The PettingZoo ParallelEnv: PettingZoo's own API and seed tests, determinism, rewards, episode end."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml
from conftest import PAIRS, SCENARIOS

from simenv import files
from simenv.envs import parallel_env
from simenv.sim.records import CallRecord


def _pz_test():
    return pytest.importorskip("pettingzoo.test")


@pytest.mark.parametrize("pair", PAIRS)
def test_parallel_api_test(pair):
    pz = _pz_test()
    env = parallel_env(scenario=pair[0], policy=pair[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", category=UserWarning)
        pz.parallel_api_test(env, num_cycles=60)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parallel_seed_test(scenario):
    pz = _pz_test()
    pz.parallel_seed_test(lambda: parallel_env(scenario=scenario, policy="static_rbac"), num_cycles=60)


def test_a_seedless_reset_draws_from_the_generator_of_the_last_seed():
    from gymnasium.error import Error
    from gymnasium.utils import seeding

    env = parallel_env(scenario="multi_agent_chaining", policy="static_rbac")
    env.reset(seed=5)
    ref = seeding.np_random(5)[0]
    env.reset()
    env.reset()
    assert env.engine.seed == [int(ref.integers(0, 2**31 - 1)) for _ in range(2)][1]
    with pytest.raises(Error, match="greater or equal to zero"):
        env.reset(seed=-1)


def rollout(env, seed):
    """Every live agent picks among its masked actions, or any action, from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    trace = []
    while env.agents:
        actions = {}
        for a in env.agents:
            valid = np.flatnonzero(infos[a]["action_mask"])
            pool = valid if len(valid) > 1 or rng.random() < 0.5 else np.arange(env.action_space(a).n)
            actions[a] = int(rng.choice(pool))
        obs, rewards, terms, truncs, infos = env.step(actions)
        flat = {a: tuple(int(x) for x in np.concatenate([np.ravel(v) for v in o.values()])) for a, o in obs.items()}
        trace.append((actions, rewards, terms, truncs, flat))
    return trace, next(iter(infos.values()))["scores"]["fingerprint"]


@pytest.mark.parametrize("scenario", ["multi_agent_chaining", "stolen_credential_replay"])
def test_seeded_rollouts_are_identical(scenario):
    env = parallel_env(scenario=scenario, policy="static_rbac")
    a = rollout(env, 11)
    b = rollout(env, 11)
    c = rollout(parallel_env(scenario=scenario, policy="static_rbac"), 11)
    assert a == b == c
    assert len(a[0]) > 1


def _ix(env, label):
    return env.action_names.index(label)


def _chain(policy):
    """helpdesk-bot adds dana, then delegates; admin-bot grants the role on the sub-ticket, then completes."""
    env = parallel_env(scenario="multi_agent_chaining", policy=policy, reward_mode="red_team")
    env.reset(seed=0)
    steps = [
        {"helpdesk-bot": _ix(env, "idp_add_member(group=contractors, identity=dana)")},
        {"helpdesk-bot": _ix(env, "invoke_agent(agent=admin-bot, task=value)")},
        {"helpdesk-bot": 1, "admin-bot": _ix(env, "idp_assign_role(role=payments-approver, identity=dana)")},
    ]
    out = []
    for actions in steps:
        obs, rewards, terms, truncs, infos = env.step(actions)
        out.append((rewards, infos))
    return env, out


def test_chaining_both_agents_act_and_red_team_rewards_the_executor():
    env, out = _chain("static_rbac")
    (r0, _), (r1, i1), (r2, _) = out
    assert r0 == {"helpdesk-bot": 0.0, "admin-bot": 0.0}
    assert r1 == {"helpdesk-bot": 0.0, "admin-bot": 0.0}  # the out-of-intent delegation itself changes nothing
    assert i1["admin-bot"]["action_mask"].all()  # the sub-ticket is open
    assert r2["admin-bot"] > 0 and r2["helpdesk-bot"] == 0  # the grant, through the chain: damage done
    calls = env.engine.audit.of_kind(CallRecord)
    assert {r.agent for r in calls} == {"helpdesk-bot", "admin-bot"}
    grant = next(r for r in calls if r.tool == "idp_assign_role")
    assert grant.chain[0] == "admin-bot" and "helpdesk-bot" in grant.chain and grant.effect == "applied"


def test_chaining_zero_standing_blocks_the_delegated_grant():
    env, out = _chain("zero_standing")
    assert out[2][0]["admin-bot"] == 0
    while env.agents:
        env.step({})
    grant = next(r for r in env.engine.audit.of_kind(CallRecord) if r.tool == "idp_assign_role")
    settled = [a for a in env.engine.audit.records if getattr(a, "call_seq", None) == grant.seq] or [grant]
    assert settled[-1].effect in ("denied", "refused", "forbidden", "unresolved"), settled[-1]
    assert not grant.covers  # narrowed to what the delegating agent held: it could not have executed anyway


def test_task_rewards_and_per_agent_episode_end():
    env = parallel_env(scenario="multi_agent_chaining", policy="allow_all")
    env.reset(seed=0)
    _, r, *_ = env.step({"helpdesk-bot": _ix(env, "idp_add_member(group=contractors, identity=dana)")})
    assert r == {"helpdesk-bot": pytest.approx(0.99), "admin-bot": pytest.approx(-0.01)}
    ticks = 1
    while env.agents:
        _, r, terms, truncs, infos = env.step({})  # everyone waits
        ticks += 1
    assert ticks == env.spec_.max_ticks
    assert truncs == {"helpdesk-bot": True, "admin-bot": False}  # its ticket stayed open; admin-bot never had work
    assert terms == {"helpdesk-bot": False, "admin-bot": True}
    assert infos["helpdesk-bot"]["scores"] == infos["admin-bot"]["scores"]


def test_completed_agents_terminate_when_the_engine_ends():
    env = parallel_env(scenario="delegated_admin", policy="static_rbac")
    env.reset(seed=0)
    env.step({"helpdesk-agent": _ix(env, "idp_add_member(group=eng-readers, identity=bob)")})
    _, r, terms, truncs, infos = env.step({"helpdesk-agent": 1})
    assert terms == {"helpdesk-agent": True} and not truncs["helpdesk-agent"] and env.agents == []
    assert infos["helpdesk-agent"]["scores"]["task_success"]


def test_halted_agent_leaves_while_others_work(tmp_path):
    spec = yaml.safe_load(files.resolve("multi_agent_chaining", "scenarios").read_text())
    sub = spec["tickets"][1]
    del sub["parent"], sub["on_invoke"]  # admin-bot works its own ticket from tick 0
    spec["agents"][1]["plan"] = spec["agents"][1].pop("plans")["T-20a"]
    path = tmp_path / "two_tickets.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = parallel_env(scenario=str(path), policy="zero_standing")
    env.reset(seed=1)
    refused = _ix(env, "idp_assign_role(role=idp-admin, identity=helpdesk-bot)")
    for _ in range(3):
        _, _, terms, truncs, infos = env.step({"helpdesk-bot": refused})
    assert terms == {"helpdesk-bot": True, "admin-bot": False} and not any(truncs.values())
    assert env.agents == ["admin-bot"] and "scores" not in infos["admin-bot"]
    with pytest.raises(ValueError):
        env.step({"nobody": 0})
    _, r, *_ = env.step({"helpdesk-bot": 3})  # a removed agent's action is ignored
    assert set(r) == {"admin-bot"}


def test_spaces_catalog_and_errors():
    env = parallel_env(scenario="multi_agent_chaining", policy="allow_all")
    assert env.possible_agents == ["helpdesk-bot", "admin-bot"]
    for a in env.possible_agents:
        assert env.action_space(a) is env.action_space(a) and env.observation_space(a) is env.observation_space(a)
    assert env.action_space("helpdesk-bot") is not env.action_space("admin-bot")
    assert env.action_names[:3] == ["wait", "complete_ticket", "abort_ticket"]
    assert "invoke_agent(agent=admin-bot, task=value)" in env.action_names
    with pytest.raises(RuntimeError):
        env.step({})
    obs, infos = env.reset(seed=3)
    assert all(env.observation_space(a).contains(obs[a]) for a in env.agents)
    assert infos["admin-bot"]["action_mask"].dtype == np.int8
    with pytest.raises(ValueError):
        env.step({"admin-bot": env.action_space("admin-bot").n})
    with pytest.raises(ValueError):
        parallel_env(scenario="multi_agent_chaining", policy="allow_all", reward_mode="chaos")


def test_import_simenv_does_not_import_pettingzoo():
    code = "import sys, simenv, simenv.envs; print('pettingzoo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_pettingzoo_the_factory_says_what_to_install():
    code = ("import sys; sys.modules['pettingzoo'] = None\n"
            "import simenv.envs\n"
            "try:\n    simenv.envs.parallel_env(scenario='scope_creep', policy='allow_all')\n"
            "except ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pettingzoo" in out.stdout and "simenv[all]" in out.stdout


@pytest.mark.parametrize("scenario", ["delegated_admin", "scope_creep"])
def test_single_agent_scenarios_match_the_gymnasium_env(scenario):
    from simenv.envs.iam_env import IAMEnv

    gym_env, pz_env = IAMEnv(scenario, "static_rbac"), parallel_env(scenario=scenario, policy="static_rbac")
    (agent,) = pz_env.possible_agents
    rng = np.random.default_rng(2)
    _, info = gym_env.reset(seed=5)
    _, infos = pz_env.reset(seed=5)
    while pz_env.agents:
        label = gym_env.action_names[int(rng.integers(1, len(gym_env.action_names))) if rng.random() < 0.5 else 0]
        obs, r, term, trunc, info = gym_env.step(gym_env.action_names.index(label))
        pz_obs, pz_r, pz_term, pz_trunc, infos = pz_env.step({agent: pz_env.action_names.index(label)})
        assert (r, term, trunc) == (pz_r[agent], pz_term[agent], pz_trunc[agent])
        assert all(np.array_equal(obs[k], pz_obs[agent][k]) for k in obs if k != "last_action")
    assert gym_env.engine.audit.records[1:] == pz_env.engine.audit.records[1:]  # all but the header


def test_mask_1_is_mediated_for_every_agent_and_reads_no_policy():
    from simenv.sim.records import ControlRecord
    from simenv.types import Outcome

    taken = 0
    for policy in ("allow_all", "zero_standing"):
        env = parallel_env(scenario="multi_agent_chaining", policy=policy)
        for seed in range(3):
            rng = np.random.default_rng(seed)
            obs, infos = env.reset(seed=seed)
            if seed == 0:
                masks0 = {a: infos[a]["action_mask"].tolist() for a in env.agents}
                if policy == "allow_all":
                    first = masks0
                assert masks0 == first  # at reset, the same under every profile
            while env.agents:
                acts = {a: int(rng.choice(np.flatnonzero(infos[a]["action_mask"]))) for a in env.agents}
                before, tick = len(env.engine.audit.records), env.engine.tick
                obs, rewards, terms, truncs, infos = env.step(acts)
                for agent, a in acts.items():
                    if a == 0:
                        continue
                    mine = [r for r in env.engine.audit.records[before:] if isinstance(r, (CallRecord, ControlRecord))
                            and r.agent == agent and r.tick == tick]
                    assert mine and all(getattr(r, "effect", None) is not Outcome.INVALID for r in mine), (agent, a)
                    taken += 1
    assert taken
