"""The Gymnasium environment ``simenv/IAM-v0``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from simenv import metrics
from simenv.envs.catalog import env_setup
from simenv.envs.observe import action_mask, observation, observation_space
from simenv.envs.rewards import Rewarder, check_mode
from simenv.sim.engine import Engine
from simenv.sim.factory import make_episode


class IAMEnv(gym.Env):
    """An IAM estate under a governance profile, with one learning agent.

    Description:
        A scenario (estate, tickets, agents) runs under a governance profile. One agent
        identity of the scenario is the learner; every other agent follows the scenario's
        scripted plans (or ``others=NAME``). Each step is one tick: the learner's call goes
        through the same broker, authorizer, approvals, monitors and audit as any agent's.

    Action Space:
        ``Discrete(n)`` over an enumerated catalog of tool calls on the scenario's named
        identities and resources: 0 waits, 1 completes the ticket, 2 aborts it, the rest are
        tool calls (``env.unwrapped.action_names`` lists them).

    Action Mask:
        ``info["action_mask"]`` (``int8``, one entry per action) reads only the learner's state
        at the end of the step (an open ticket, an approval outstanding, halted, the episode
        over), never how governance would decide a call (a mask that hid the calls a policy
        refuses would leak the policy). 1: the action is a well-formed call (or
        complete / abort) that the engine will mediate at the learner's next turn; it may still
        be denied, sent for approval, refused a credential or forbidden by the system. Every
        catalog call is well-formed (its names, types and systems are fixed when the env is
        built), so while the learner has an open ticket every action is 1. 0: the engine will
        not take the action as a call, because the learner has no open ticket, waits for an
        approval, is halted, or the episode is over; only "wait" is then 1. An action taken
        against the mask is a wait, except in two cases the learner is not told of in advance:
        an approval that settles at the start of the step, and a sub-ticket another agent hands
        it earlier in the same tick; the action is then mediated as usual. ``info["acted"]`` says
        whether the engine mediated the learner's action in the step just run (a call, complete or
        abort), so a learner knows which of its actions took its turn.

    Observation Space:
        ``Dict`` with ``tick``, ``has_ticket``, ``scope`` (declared systems then risk classes,
        multi-binary), ``pending`` (an approval outstanding), ``last_action``, ``last_decision``,
        ``last_effect``, ``credentials`` (live static / session / JIT credentials held) and
        ``denials`` (refused calls so far).

    Rewards:
        ``task`` (default): +1 when a ticket of the learner becomes done, -0.01 per tick.
        ``red_team``: the sensitivity-weighted size of what the learner's out-of-intent calls
        executed this tick (blast radius gained).

    Episode End:
        Terminates when every agent has finished its tickets (or was halted); truncates at the
        scenario's ``max_ticks``. The final ``info["scores"]`` holds every score.

    Version History:
        v0: initial release.
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: str = "delegated_admin", policy: str = "allow_all", reward_mode: str = "task",
                 others: str | None = None, size: int | None = None):
        check_mode(reward_mode)
        self.scenario = scenario
        self.policy = policy
        self.reward_mode = reward_mode
        self.others = others
        self.size = size
        setup = env_setup(scenario, policy)
        self.spec_, self.path_, self.learner = setup.spec, setup.path, setup.learner
        self.calls, self.action_names = list(setup.calls), list(setup.action_names)
        n = len(self.calls)
        self.action_space = spaces.Discrete(n)
        self.observation_space = observation_space(n, self.spec_.max_ticks)
        self.engine: Engine | None = None

    # ------------------------------------------------------------------ helpers
    def _obs(self) -> dict[str, Any]:
        e = self.engine
        assert e is not None
        return observation(e, e.by_name[self.learner], self.spec_.max_ticks, self._last_action, self._denials)

    def _mask(self) -> np.ndarray:
        e = self.engine
        assert e is not None
        return action_mask(e, e.by_name[self.learner], len(self.calls))

    def _info(self) -> dict[str, Any]:
        e = self.engine
        assert e is not None
        acted = e.by_name[self.learner].stats.calls > 0 if self._stepped else False
        info: dict[str, Any] = {"action_mask": self._mask(), "tick": e.tick, "acted": acted}
        if e.finished:
            info["scores"] = metrics.compute(e.audit)
        return info

    # ------------------------------------------------------------------ the env's own generator, seeded when read
    @property
    def _np_random(self) -> np.random.Generator | None:  # type: ignore[override]
        """Gymnasium's ``_np_random``: made from the last ``reset(seed=...)`` seed when first read.

        ``reset(seed=s)`` stores ``s``; ``np_random`` (and anything reading ``_np_random``) then gets
        ``gymnasium.utils.seeding.np_random(s)``'s generator, the one ``super().reset(seed=s)`` would have
        made. Seeding a PCG64 stream costs a tenth of a reset, and a loop that passes every seed never reads it.
        """
        seed = self.__dict__.get("_unseeded")
        if seed is not None:
            self.__dict__["_rng"], _ = seeding.np_random(seed)
            self.__dict__["_unseeded"] = None
        return self.__dict__.get("_rng")

    @_np_random.setter
    def _np_random(self, value: np.random.Generator | None) -> None:
        self.__dict__["_rng"], self.__dict__["_unseeded"] = value, None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; the episode seed comes from ``seed`` or from the env's generator."""
        if type(seed) is int and seed >= 0:  # what super().reset(seed=seed) does, the generator made when read
            self.__dict__["_rng"], self.__dict__["_unseeded"] = None, seed
            self._np_random_seed = seed
        else:  # None, or a seed for Gymnasium to take or refuse
            super().reset(seed=seed)
        episode_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self.engine, _ = make_episode((self.spec_, self.path_), self.policy, episode_seed, self.others, self.size,
                                      label=f"learner:{self.learner}")
        self._last_action = len(self.calls)
        self._denials = 0
        self._stepped = False
        self._reward = Rewarder(self.engine, self.engine.by_name[self.learner], self.reward_mode)
        return self._obs(), self._info()

    def step(self, action: int):
        """Advance one tick with the learner taking ``action``."""
        if self.engine is None:
            raise RuntimeError("call reset() before step()")
        e = self.engine
        a = int(action)
        if not 0 <= a < len(self.calls):
            raise ValueError(f"action {a} is outside Discrete({len(self.calls)})")
        e.step({self.learner: self.calls[a]})
        st = e.by_name[self.learner]
        self._last_action = a
        self._stepped = True
        self._denials += st.stats.denied
        reward = self._reward()
        truncated = e.finished and e.tick >= self.spec_.max_ticks and not all(s.done for s in e.states)
        terminated = e.finished and not truncated
        return self._obs(), reward, terminated, truncated, self._info()
