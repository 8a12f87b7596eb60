"""The PettingZoo environment: every agent identity of a scenario is a learner.

Import this module only where pettingzoo is installed (the ``all`` and ``dev`` extras);
:func:`simenv.envs.parallel_env` imports it on first use.

>>> from simenv.envs import parallel_env
>>> env = parallel_env(scenario="multi_agent_chaining", policy="static_rbac")
>>> env.possible_agents
['helpdesk-bot', 'admin-bot']
>>> obs, infos = env.reset(seed=0)
>>> add = env.action_names.index("idp_add_member(group=contractors, identity=dana)")
>>> obs, rewards, terminations, truncations, infos = env.step({"helpdesk-bot": add})
>>> rewards
{'helpdesk-bot': 0.99, 'admin-bot': -0.01}
>>> [int(obs[a]["has_ticket"]) for a in env.agents]
[1, 0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from simenv import metrics
from simenv.envs.catalog import env_setup
from simenv.envs.observe import action_mask, observation, observation_space
from simenv.envs.rewards import Rewarder, check_mode
from simenv.sim.engine import Engine
from simenv.sim.factory import make_episode
from simenv.sim.state import AgentState


class IAMParallelEnv(ParallelEnv):
    """An IAM estate under a governance profile, with every agent identity a learner.

    Description:
        The multi-agent counterpart of ``simenv/IAM-v0`` over the same engine. A scenario
        (estate, tickets, agents) runs under a governance profile; each agent identity of the
        scenario is a PettingZoo agent whose action replaces its scripted plan. Each
        :meth:`step` is one tick: every live agent's call goes through the same broker,
        authorizer, approvals, monitors and audit, in the scenario's agent order. An agent
        missing from the actions dict waits. Scheduled attackers (``steal_credential``
        events) stay scripted: they are part of the scenario, not learners.

    Agents:
        ``possible_agents`` lists the scenario's agent identities in the scenario's order.
        Every one of them is live from :meth:`reset`, including agents without a ticket yet:
        ``invoke_agent`` can hand any agent a sub-ticket at run time, and PettingZoo does not
        let a removed agent come back. An idle agent's mask allows only "wait" until work
        arrives. An agent leaves ``agents`` when a monitor halts it (terminated) or when the
        episode ends (see Episode End).

    Action Space:
        Per agent, ``Discrete(n)`` over the scenario's enumerated catalog of tool calls, the
        same for every agent: 0 waits, 1 completes the agent's ticket, 2 aborts it, the rest
        are tool calls (``env.action_names`` lists them). Beside the tools on the scenario's
        named identities and resources, the catalog offers ``invoke_agent`` on every agent
        identity, so that agents can hand each other sub-tickets.

    Action Mask:
        ``infos[agent]["action_mask"]`` (``int8``, one entry per action) reads only that agent's
        state at the end of the step (an open ticket, an approval outstanding, halted, the episode
        over), never how governance would decide a call (a mask that hid the calls a policy
        refuses would leak the policy). 1: the action is a well-formed call (or
        complete / abort) that the engine will mediate at the agent's next turn; it may still be
        denied, sent for approval, refused a credential or forbidden by the system. Every catalog
        call is well-formed, so while the agent has an open ticket every action is 1. 0: the
        engine will not take the action as a call, because the agent has no open ticket, waits
        for an approval, is halted, or the episode is over; only "wait" is then 1. The engine
        opens due tickets before each tick (and at reset), so the mask shows them. An action
        taken against the mask is a wait, except in two cases the agent is not told of in
        advance: an approval that settles at the start of the step, and a sub-ticket handed over
        earlier in the same tick (it opens at the agent's turn); the action is then mediated on
        whatever ticket is open at the agent's turn.

    Observation Space:
        Per agent, the ``Dict`` of ``simenv/IAM-v0``: ``tick``, ``has_ticket``, ``scope``
        (declared systems then risk classes, multi-binary), ``pending``, ``last_action``,
        ``last_decision``, ``last_effect``, ``credentials`` (live static / session / JIT
        credentials held) and ``denials`` (refused calls so far), all about that agent.

    Rewards:
        ``task`` (default): +1 when one of the agent's scenario tickets becomes done (its
        completion predicates hold), -0.01 per tick. ``red_team``: the sensitivity-weighted
        size of what the agent's own out-of-intent calls executed this tick; a violation
        reached through a delegation chain rewards the agent that executed the call.

    Episode End:
        The engine ends the episode when every agent has finished its tickets (or was halted)
        and no scheduled event is left, or at the scenario's ``max_ticks``. Then every live
        agent leaves: truncated if the tick limit ended the episode while it still had work,
        terminated otherwise. A halted agent is terminated at once. The infos of the final
        step carry ``scores`` (every score of :func:`simenv.metrics.compute`).

    Version History:
        v0: initial release.

    Args:
        scenario: a shipped scenario name or a path to a scenario file.
        policy: a shipped profile name or a path to a profile file.
        reward_mode: ``"task"`` or ``"red_team"``.
        size: overrides the scenario's estate size.
    """

    metadata = {"name": "simenv_iam_parallel_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, scenario: str = "delegated_admin", policy: str = "allow_all", reward_mode: str = "task",
                 size: int | None = None):
        check_mode(reward_mode)
        self.scenario = scenario
        self.policy = policy
        self.reward_mode = reward_mode
        self.size = size
        self.render_mode = None
        setup = env_setup(scenario, policy)
        self.spec_, self.path_ = setup.spec, setup.path
        self.possible_agents = list(setup.agents)
        self.calls, self.action_names = list(setup.calls), list(setup.action_names)
        n = len(self.calls)
        self._action_spaces = {a: spaces.Discrete(n) for a in self.possible_agents}
        self._observation_spaces = {a: observation_space(n, self.spec_.max_ticks) for a in self.possible_agents}
        self.agents: list[str] = []
        self.engine: Engine | None = None
        self._np_random: np.random.Generator | None = None
        self._unseeded: int | None = None  # the seed of the last reset, until a seedless reset makes its generator
        self._last_action: dict[str, int] = {}
        self._denials: dict[str, int] = {}
        self._rewards: dict[str, Rewarder] = {}

    def observation_space(self, agent: str) -> spaces.Dict:
        """The observation space of ``agent`` (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        """The action space of ``agent`` (the same object on every call)."""
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ helpers
    def _state(self, agent: str) -> AgentState:
        assert self.engine is not None
        return self.engine.by_name[agent]

    def _obs(self, agent: str) -> dict[str, Any]:
        assert self.engine is not None
        return observation(self.engine, self._state(agent), self.spec_.max_ticks, self._last_action[agent],
                           self._denials[agent])

    def _info(self, agent: str, scores: dict[str, Any] | None) -> dict[str, Any]:
        assert self.engine is not None
        info: dict[str, Any] = {"action_mask": action_mask(self.engine, self._state(agent), len(self.calls)),
                                "tick": self.engine.tick}
        if scores is not None:
            info["scores"] = dict(scores)
        return info

    def _action(self, agent: str, action: Any) -> int:
        """The action index ``agent`` takes: its choice, or 0 (wait) if it has none."""
        a = 0 if action is None else int(action)
        if not 0 <= a < len(self.calls):
            raise ValueError(f"action {a} of agent {agent!r} is outside Discrete({len(self.calls)})")
        return a

    # ------------------------------------------------------------------ PettingZoo API
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; the episode seed comes from ``seed`` or from the env's generator.

        Returns:
            ``(observations, infos)``, each keyed by every agent in ``possible_agents``.
        """
        if type(seed) is int and seed >= 0:  # the generator of this seed is made only if a seedless reset draws
            self._np_random, self._unseeded = None, seed
        elif seed is not None:  # a seed for Gymnasium's seeding to take or refuse
            self._np_random, self._unseeded = seeding.np_random(seed)[0], None
        if seed is None:
            if self._np_random is None:
                self._np_random, self._unseeded = seeding.np_random(self._unseeded)[0], None
            episode_seed = int(self._np_random.integers(0, 2**31 - 1))
        else:
            episode_seed = int(seed)
        # the scripted agents are placeholders: every live agent's call is overridden
        self.engine, _ = make_episode((self.spec_, self.path_), self.policy, episode_seed, None, self.size,
                                      label="pettingzoo")
        self.agents = list(self.possible_agents)
        n = len(self.calls)
        self._last_action = dict.fromkeys(self.agents, n)
        self._denials = dict.fromkeys(self.agents, 0)
        self._rewards = {a: Rewarder(self.engine, self._state(a), self.reward_mode) for a in self.agents}
        return {a: self._obs(a) for a in self.agents}, {a: self._info(a, None) for a in self.agents}

    def step(self, actions: dict[str, Any]):
        """Advance one tick with each live agent taking its action.

        A live agent missing from ``actions`` (or given ``None``) waits; the action of an agent
        that has already left ``agents`` is ignored.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``, each keyed by the
            agents that were live before the step.

        Raises:
            RuntimeError: before :meth:`reset`.
            ValueError: for an agent name outside ``possible_agents`` or an action outside the space.
        """
        if self.engine is None:
            raise RuntimeError("call reset() before step()")
        unknown = sorted(set(actions) - set(self.possible_agents))
        if unknown:
            raise ValueError(f"unknown agents {unknown}; possible agents are {self.possible_agents}")
        e = self.engine
        live = list(self.agents)
        chosen = {a: self._action(a, actions.get(a)) for a in live}
        e.step({a: self.calls[i] for a, i in chosen.items()})
        self._last_action.update(chosen)
        scores = metrics.compute(e.audit) if e.finished else None
        timed_out = e.finished and e.tick >= self.spec_.max_ticks
        obs, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        for a in live:
            st = self._state(a)
            self._denials[a] += st.stats.denied
            rewards[a] = self._rewards[a]()
            truncs[a] = bool(timed_out and not st.done)
            terms[a] = bool(st.halted or (e.finished and not truncs[a]))
            obs[a] = self._obs(a)
            infos[a] = self._info(a, scores)
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos

    def render(self) -> None:
        """Nothing to render (``render_modes`` is empty); read the audit log instead."""
        return None


def parallel_env(scenario: str, policy: str, reward_mode: str = "task", size: int | None = None) -> IAMParallelEnv:
    """Make the PettingZoo ``ParallelEnv`` for ``scenario`` under ``policy`` (see :class:`IAMParallelEnv`)."""
    return IAMParallelEnv(scenario, policy, reward_mode, size)
