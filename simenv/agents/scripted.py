"""Scripted agents: follow a plan written in the scenario file, overreach included.

A plan is a list of steps. Each step is a tool call; ``on_deny`` lists the routes the agent
tries when that step is refused (scope creep under denial), after which it retries the step
once. The special steps ``complete_ticket`` and ``abort_ticket`` close the ticket. ``$self`` in
an argument is the agent's own identity; ``credential: $newest`` presents the newest credential
the agent obtained by itself (from a secret, an export, an assumed role) instead of the broker's;
``credential: $cached`` presents the first credential it ever held (kept across tickets and
sessions, as an agent that caches credentials would).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simenv.agents.base import COMPLETE, Observation
from simenv.types import REFUSED, ToolCall


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step of a plan."""

    tool: str
    args: dict[str, str] = field(default_factory=dict)
    on_deny: tuple[PlanStep, ...] = ()
    ticket: str | None = None
    credential: str | None = None
    justification: str | None = None


class ScriptedAgent:
    """Follows ``plans[ticket_id]`` (or ``plans[None]``) step by step.

    Args:
        name: the agent's name for listings.
        plans: the plan per ticket id; the key ``None`` is the plan for any ticket.
    """

    def __init__(self, plans: dict[str | None, tuple[PlanStep, ...]], name: str = "scripted"):
        self.name = name
        self.plans = plans
        self._queue: list[PlanStep] = []
        self._ticket: str | None = None
        self._last_step: PlanStep | None = None
        self._retried: set[int] = set()
        self._seen: list[str] = []

    def reset(self, identity: str, tool_schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Forget any progress."""
        self._queue = []
        self._ticket = None
        self._last_step = None
        self._retried = set()
        self._seen = []

    def _refused(self, obs: Observation) -> bool:
        return obs.last is not None and obs.last.effect in REFUSED

    def act(self, obs: Observation) -> ToolCall | None:
        """The next step of the plan for the current ticket."""
        if obs.ticket is None or obs.pending_approval:
            return None
        self._seen += [c.id for c in obs.credentials if c.id not in self._seen]
        if obs.ticket.id != self._ticket:
            self._ticket = obs.ticket.id
            plan = self.plans.get(obs.ticket.id, self.plans.get(None, ()))
            self._queue = list(plan) or [PlanStep(COMPLETE)]
            self._last_step = None
        step = self._last_step
        if step is not None and step.on_deny and self._refused(obs) and id(step) not in self._retried:
            self._retried.add(id(step))
            self._queue[:0] = [*step.on_deny, step]
        if not self._queue:
            return ToolCall(COMPLETE, {})
        nxt = self._queue.pop(0)
        self._last_step = nxt
        cred = nxt.credential
        if cred == "$newest":
            own = [c.id for c in obs.credentials if c.source != "broker"]
            cred = own[-1] if own else None
        elif cred == "$cached":
            cred = self._seen[0] if self._seen else None
        return ToolCall(nxt.tool, dict(nxt.args), credential=cred, justification=nxt.justification)
