"""The Gymnasium environment ``simenv/IAM-v0``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from simenv import metrics
from simenv.api import agents_for
from simenv.envs.catalog import describe_call, enumerate_calls
from simenv.governance.profile import build_governance
from simenv.rng import Streams
from simenv.scenario.builder import build
from simenv.scenario.loader import load_scenario
from simenv.sim.engine import Engine
from simenv.types import RISK_CLASSES, SYSTEMS

DECISIONS = ("none", "allow", "deny", "require_approval", "invalid", "control")
EFFECTS = ("none", "applied", "noop", "denied", "forbidden", "refused", "pending", "invalid", "complete", "abort",
           "delegated")


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
        tool calls (``env.unwrapped.action_names`` lists them). ``info["action_mask"]`` marks
        the actions that make sense now (only "wait" while there is no open ticket or an
        approval is pending).

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
        if reward_mode not in ("task", "red_team"):
            raise ValueError(f"reward_mode must be 'task' or 'red_team', not {reward_mode!r}")
        self.scenario = scenario
        self.policy = policy
        self.reward_mode = reward_mode
        self.others = others
        self.size = size
        self.spec_, self.path_ = load_scenario(scenario)
        build_governance(policy)  # fail early on a bad profile
        probe = build(self.spec_, 0, self.path_, size=0)
        self.learner = probe.learner
        self.calls = enumerate_calls(probe.world, len(self.spec_.identities), len(self.spec_.resources), self.learner)
        self.action_names = [describe_call(c) for c in self.calls]
        n = len(self.calls)
        limit = self.spec_.max_ticks
        self.action_space = spaces.Discrete(n)
        self.observation_space = spaces.Dict({
            "tick": spaces.Box(0, limit, shape=(1,), dtype=np.int64),
            "has_ticket": spaces.Discrete(2),
            "scope": spaces.MultiBinary(len(SYSTEMS) + len(RISK_CLASSES)),
            "pending": spaces.Discrete(2),
            "last_action": spaces.Discrete(n + 1),
            "last_decision": spaces.Discrete(len(DECISIONS)),
            "last_effect": spaces.Discrete(len(EFFECTS)),
            "credentials": spaces.Box(0, 1024, shape=(3,), dtype=np.int64),
            "denials": spaces.Box(0, 1_000_000, shape=(1,), dtype=np.int64),
        })
        self.engine: Engine | None = None

    # ------------------------------------------------------------------ helpers
    def _obs(self) -> dict[str, Any]:
        e = self.engine
        assert e is not None
        st = e.by_name[self.learner]
        o = e.observe(st)
        scope = np.zeros(len(SYSTEMS) + len(RISK_CLASSES), dtype=np.int8)
        if o.ticket is not None:
            for k, s in enumerate(SYSTEMS):
                scope[k] = str(s) in o.ticket.systems
            for k, r in enumerate(RISK_CLASSES):
                scope[len(SYSTEMS) + k] = str(r) in o.ticket.risks
        kinds = {"static": 0, "session": 1, "jit": 2}
        creds = np.zeros(3, dtype=np.int64)
        for c in o.credentials:
            creds[kinds[c.kind]] += 1
        last = o.last
        return {
            "tick": np.array([min(e.tick, self.spec_.max_ticks)], dtype=np.int64),
            "has_ticket": int(o.ticket is not None),
            "scope": scope,
            "pending": int(o.pending_approval),
            "last_action": self._last_action,
            "last_decision": DECISIONS.index(last.decision) if last and last.decision in DECISIONS else 0,
            "last_effect": EFFECTS.index(last.effect) if last and last.effect in EFFECTS else 0,
            "credentials": np.minimum(creds, 1024),
            "denials": np.array([self._denials], dtype=np.int64),
        }

    def _mask(self) -> np.ndarray:
        e = self.engine
        assert e is not None
        st = e.by_name[self.learner]
        mask = np.zeros(len(self.calls), dtype=np.int8)
        mask[0] = 1
        if not e.finished and st.current is not None and st.pending is None and not st.halted:
            mask[:] = 1
        return mask

    def _done_tickets(self) -> set[str]:
        e = self.engine
        assert e is not None
        idx = e.by_name[self.learner].idx
        return {t.id for t in e.built.tickets if t.assignee == idx and t.done_when and all(e.done(d) for d in t.done_when)}

    def _info(self) -> dict[str, Any]:
        e = self.engine
        assert e is not None
        info: dict[str, Any] = {"action_mask": self._mask(), "tick": e.tick}
        if e.finished:
            info["scores"] = metrics.compute(e.audit)
        return info

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; the episode seed comes from ``seed`` or from the env's generator."""
        super().reset(seed=seed)
        episode_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        built = build(self.spec_, episode_seed, self.path_, size=self.size)
        agents, label = agents_for(built, self.others)
        meta = {"scenario": self.spec_.name, "agent": f"learner:{self.learner}", "size": self.size}
        self.engine = Engine(built, build_governance(self.policy, Streams(episode_seed)), agents, episode_seed, meta)
        self._last_action = len(self.calls)
        self._denials = 0
        self._rewarded = self._done_tickets()
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
        self._denials += int(st.stats.get("denied", 0))
        if self.reward_mode == "red_team":
            reward = float(st.stats.get("violation_weight", 0.0))
        else:
            done_now = self._done_tickets()
            reward = float(len(done_now - self._rewarded)) - 0.01
            self._rewarded |= done_now
        truncated = e.finished and e.tick >= self.spec_.max_ticks and not all(s.done for s in e.states)
        terminated = e.finished and not truncated
        return self._obs(), reward, terminated, truncated, self._info()
