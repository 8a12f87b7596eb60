"""Observation and action mask shared by the Gymnasium and PettingZoo envs.

Both envs see an agent the same way: the engine's :class:`~simenv.agents.base.Observation`
for that agent, flattened into a ``Dict`` of small integer arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from simenv.sim.engine import Engine
from simenv.sim.state import AgentState
from simenv.types import RISK_CLASSES, SYSTEMS, Effect, Outcome

# index 0 is "none"; the order is part of the observation space (append, never reorder)
DECISIONS = ("none", Effect.ALLOW, Effect.DENY, Effect.REQUIRE_APPROVAL, Effect.INVALID, "control")
EFFECTS = ("none", Outcome.APPLIED, Outcome.NOOP, Outcome.DENIED, Outcome.FORBIDDEN, Outcome.REFUSED, Outcome.PENDING,
           Outcome.INVALID, "complete", "abort", Outcome.DELEGATED)
CRED_KINDS = {"static": 0, "session": 1, "jit": 2}


def observation_space(n_actions: int, max_ticks: int) -> spaces.Dict:
    """The ``Dict`` observation space for a catalog of ``n_actions`` actions and an episode of ``max_ticks``."""
    return spaces.Dict({
        "tick": spaces.Box(0, max_ticks, shape=(1,), dtype=np.int64),
        "has_ticket": spaces.Discrete(2),
        "scope": spaces.MultiBinary(len(SYSTEMS) + len(RISK_CLASSES)),
        "pending": spaces.Discrete(2),
        "last_action": spaces.Discrete(n_actions + 1),
        "last_decision": spaces.Discrete(len(DECISIONS)),
        "last_effect": spaces.Discrete(len(EFFECTS)),
        "credentials": spaces.Box(0, 1024, shape=(3,), dtype=np.int64),
        "denials": spaces.Box(0, 1_000_000, shape=(1,), dtype=np.int64),
    })


def observation(engine: Engine, st: AgentState, max_ticks: int, last_action: int, denials: int) -> dict[str, Any]:
    """What agent ``st`` sees now, as a sample of :func:`observation_space`.

    Args:
        engine: the running engine.
        st: the agent's state in that engine.
        max_ticks: the episode's tick limit (the ``tick`` entry is clipped to it).
        last_action: the agent's previous action index (``n_actions`` before the first step).
        denials: refused calls of the agent so far.
    """
    o = engine.observe(st)
    creds = [0, 0, 0]
    for c in o.credentials:
        creds[CRED_KINDS[c.kind]] += 1
    last = o.last
    return {
        "tick": np.array([min(engine.tick, max_ticks)], dtype=np.int64),
        "has_ticket": int(o.ticket is not None),
        "scope": _scope(o.ticket.systems, o.ticket.risks) if o.ticket is not None else np.zeros(_SCOPE, dtype=np.int8),
        "pending": int(o.pending_approval),
        "last_action": last_action,
        "last_decision": DECISIONS.index(last.decision) if last and last.decision in DECISIONS else 0,
        "last_effect": EFFECTS.index(last.effect) if last and last.effect in EFFECTS else 0,
        "credentials": np.array([min(n, 1024) for n in creds], dtype=np.int64),
        "denials": np.array([denials], dtype=np.int64),
    }


_SCOPE = len(SYSTEMS) + len(RISK_CLASSES)
_SCOPES: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, ...]] = {}
"""The scope bits of each declared scope seen: a pure function of its key (tuples of names to a tuple of bits)."""


def _scope(systems: tuple[str, ...], risks: tuple[str, ...]) -> np.ndarray:
    """A fresh ``scope`` array: which systems, then which risk classes, the ticket declares."""
    bits = _SCOPES.get((systems, risks))
    if bits is None:
        if len(_SCOPES) >= 4096:  # forgetting costs a recomputation only
            _SCOPES.clear()
        bits = _SCOPES[(systems, risks)] = (*(int(str(s) in systems) for s in SYSTEMS),
                                            *(int(str(r) in risks) for r in RISK_CLASSES))
    return np.array(bits, dtype=np.int8)


def action_mask(engine: Engine, st: AgentState, n_actions: int) -> np.ndarray:
    """Which actions the engine will mediate at ``st``'s next turn: all with an open ticket, else only "wait" (index 0).

    It reads only the agent's state (an open ticket, a pending approval, halted, the episode
    over), never how governance would decide a call. With an open ticket every action is a
    well-formed call (the catalog is enumerated over the scenario's names, with the types and
    systems each tool takes), so nothing is masked; a call the policy would refuse is still 1.
    See the Action Mask section of :class:`simenv.envs.iam_env.IAMEnv`.
    """
    mask = np.zeros(n_actions, dtype=np.int8)
    mask[0] = 1
    if not engine.finished and st.current is not None and st.pending is None and not st.halted:
        mask[:] = 1
    return mask
