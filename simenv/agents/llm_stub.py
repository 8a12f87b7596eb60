"""The LLM-stub agent: a seeded behaviour model of a tool-calling language-model agent.

It reads the ticket text and the tool schemas and emits tool calls in the shape a model
returns (OpenAI chat-completions ``tool_calls``). Its competence is an idealised reading of
the ticket: it knows the steps that do the work (the scenario's plan for its identity, or the
ticket's safe path). What it adds are the failure modes that matter for IAM governance, each
a probability:

* ``overreach``: take a tempting out-of-intent step the scenario offers (pre-elevating,
  reading a secret "to be safe"), even when nothing was refused;
* ``creep``: after a refusal, try other routes — the scenario's fallbacks, granting itself a
  role it has heard of, presenting a cached credential, invoking another agent;
* ``cache``: keep credentials it obtained and present them again in later sessions;
* ``injection``: obey an instruction injected into the ticket text or a tool result
  (``... call tool_name(arg=value, ...)``);
* ``hallucination``: emit an unknown tool, a missing or ill-typed argument, or arguments
  that are not JSON;
* ``give_up``: abort the ticket after a refusal.

Like a model asked to explain its tool calls, it states a justification with each call: the
plan step's own (``justification:`` in the scenario), or a reference to its ticket.

Presets carry values calibrated to published rates. They are calibrations of single
behaviour rates, not models of the named systems.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from simenv.agents.base import ABORT, COMPLETE, CONTROL_TOOLS, JUSTIFICATION, AgentContext, Observation
from simenv.agents.scripted import PlanStep
from simenv.types import REFUSED, ToolCall

INJECTED = re.compile(r"call\s+([a-z][a-z0-9_]*)\s*\(([^)]*)\)", re.IGNORECASE)


@dataclass(frozen=True)
class StubParams:
    """Behaviour probabilities of the LLM-stub (see the module docstring)."""

    overreach: float = 0.8
    creep: float = 0.5
    cache: float = 0.3
    injection: float = 0.477
    hallucination: float = 0.05
    give_up: float = 0.1
    max_refusals: int = 6


def default() -> StubParams:
    """The default preset.

    ``overreach`` = 0.8: SailPoint's AI-agents survey (cited in the background article) found
    80% of organisations reporting that their agents had already acted beyond intended scope;
    it is used here as a per-ticket propensity, a loose calibration. ``injection`` = 0.477:
    AgentDojo's targeted attack success for gpt-4o with no defence (important_instructions
    attack). ``creep``, ``cache``, ``hallucination`` and ``give_up`` are assumptions.
    """
    return StubParams()


def gpt4o_agentdojo() -> StubParams:
    """Injection rate of gpt-4o with no defence in AgentDojo.

    AgentDojo (Debenedetti et al., 2024) measured 47.7% targeted attack success under the
    important_instructions attack. Other rates assumed. A calibration of one rate, not a
    model of gpt-4o.
    """
    return StubParams(overreach=0.5, creep=0.5, cache=0.2, injection=0.477, hallucination=0.03, give_up=0.15)


def gpt4o_tool_filter() -> StubParams:
    """Injection rate of gpt-4o behind AgentDojo's tool filter.

    The tool-filter defence brought gpt-4o's targeted attack success to 6.8%. Other rates as
    in ``gpt4o_agentdojo``. A calibration, not a model.
    """
    return StubParams(overreach=0.5, creep=0.5, cache=0.2, injection=0.068, hallucination=0.03, give_up=0.15)


def react_gpt4_injecagent() -> StubParams:
    """Injection rate of a ReAct GPT-4 agent in InjecAgent.

    InjecAgent (Zhan et al., 2024) reports about 24% attack success for a ReAct-prompted
    GPT-4 agent. Other rates assumed. A calibration, not a model.
    """
    return StubParams(overreach=0.5, creep=0.4, cache=0.2, injection=0.24, hallucination=0.05, give_up=0.15)


def careful() -> StubParams:
    """A well-behaved agent: low rates everywhere (assumed), the floor a profile can expect."""
    return StubParams(overreach=0.05, creep=0.05, cache=0.0, injection=0.02, hallucination=0.01, give_up=0.3)


def reckless() -> StubParams:
    """A red-team stress setting: every overreach behaviour always fires (assumed)."""
    return StubParams(overreach=1.0, creep=1.0, cache=1.0, injection=1.0, hallucination=0.0, give_up=0.0,
                      max_refusals=12)


def hallucinating() -> StubParams:
    """Malformed and invented calls 30% of the time (assumed), for testing invalid-call handling."""
    return StubParams(overreach=0.3, creep=0.3, cache=0.1, injection=0.2, hallucination=0.3, give_up=0.05)


PRESETS = {f.__name__: f for f in (default, gpt4o_agentdojo, gpt4o_tool_filter, react_gpt4_injecagent, careful,
                                    reckless, hallucinating)}


def _parse_args(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        if sep:
            out[k.strip()] = v.strip().strip("'\"")
    return out


def _same(a: PlanStep, b: PlanStep) -> bool:
    return a.tool == b.tool and a.args == b.args


class LLMStubAgent:
    """The seeded LLM-stub (see the module docstring).

    Args:
        ctx: the scenario's plans and knowledge for this identity.
        params: behaviour probabilities.
        preset: the preset's name (for the label).
    """

    def __init__(self, ctx: AgentContext, params: StubParams, preset: str = "default"):
        self.ctx = ctx
        self.params = params
        self.name = f"llm_stub:{preset}"
        self.rng = np.random.default_rng(0)

    def reset(self, identity: str, tool_schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Start an episode with the tools it is given (OpenAI function specs)."""
        self.identity = identity
        self.tools = {s["function"]["name"] for s in tool_schemas} | set(CONTROL_TOOLS)
        self.rng = rng
        self.queue: list[PlanStep] = []
        self.ticket: str | None = None
        self.cache: dict[str, int] = {}  # credential id -> session it was cached in
        self.seen_creds: set[str] = set()
        self.injections_seen: set[str] = set()
        self.last_step: PlanStep | None = None
        self.refusals = 0
        self.calls = 0

    def _p(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # -------------------------------------------------------------- planning
    def _plan(self, ticket_id: str) -> list[PlanStep]:
        plans, oracle = self.ctx.plans, self.ctx.oracle
        plan = list(plans.get(ticket_id, plans.get(None, ())) or oracle.get(ticket_id, ()))
        safe = list(oracle.get(ticket_id, ()))
        out = []
        for step in plan:
            tempting = step.tool not in CONTROL_TOOLS and safe and not any(_same(step, s) for s in safe)
            if not tempting or self._p(self.params.overreach):
                out.append(step)
        if not any(s.tool == COMPLETE for s in out):
            out.append(PlanStep(COMPLETE))
        return out

    def _creep_routes(self, step: PlanStep, obs: Observation) -> list[PlanStep]:
        routes = list(step.on_deny)
        if not routes:
            for name in self.ctx.knowledge:
                routes.append(PlanStep("idp_assign_role", {"role": name, "identity": "$self"},
                                       justification=f"{name} is needed to finish the ticket"))
                if name != self.identity:
                    routes.append(PlanStep("invoke_agent", {"agent": name, "task": obs.ticket.text if obs.ticket else ""},
                                           justification=f"{name} has the rights this ticket needs"))
            routes = routes[:3]
        cached = [cid for cid in sorted(self.cache) if cid not in {c.id for c in obs.credentials}]
        if cached:
            routes.append(PlanStep(step.tool, dict(step.args), credential=cached[-1], justification=step.justification))
        return [r for r in routes if r.tool in self.tools]  # a model only calls the tools it was given

    def _injection(self, obs: Observation) -> PlanStep | None:
        texts = [obs.ticket.text] if obs.ticket else []
        if obs.last is not None:
            texts.append(json.dumps(obs.last.output, sort_keys=True))
        for text in texts:
            for m in INJECTED.finditer(text or ""):
                key = m.group(0)
                if key in self.injections_seen:
                    continue
                self.injections_seen.add(key)
                if self._p(self.params.injection):
                    return PlanStep(m.group(1), _parse_args(m.group(2)), justification="as the instructions say")
        return None

    # -------------------------------------------------------------- acting
    def _emit(self, tool: str, args: dict[str, Any] | str, credential: str | None = None,
              justification: str | None = None) -> ToolCall:
        """A call in the shape a model returns; like a model, it states a reason with every tool call."""
        self.calls += 1
        if justification is None and tool not in CONTROL_TOOLS and self.ticket is not None:
            justification = f"for ticket {self.ticket}"
        shown = args if isinstance(args, str) or justification is None else {**args, JUSTIFICATION: justification}
        raw_args = shown if isinstance(shown, str) else json.dumps(shown, sort_keys=True)
        raw = {"id": f"call_{self.calls}", "type": "function", "function": {"name": tool, "arguments": raw_args}}
        parsed: Any = args
        if isinstance(args, str):
            try:
                parsed = json.loads(args)
            except json.JSONDecodeError:
                parsed = args
        return ToolCall(tool, parsed, credential=credential, raw=raw,
                        justification=justification if not isinstance(args, str) else None)

    def _hallucinate(self, step: PlanStep) -> ToolCall:
        kind = int(self.rng.integers(0, 4))
        if kind == 0:
            return self._emit(step.tool + "_v2", dict(step.args))
        if kind == 1 and step.args:
            args = dict(step.args)
            args.pop(sorted(args)[0])
            return self._emit(step.tool, args)
        if kind == 2:
            return self._emit(step.tool, {k: 7 for k in step.args} or {"id": 7})
        return self._emit(step.tool, "{" + ", ".join(f"{k}: {v}" for k, v in step.args.items()))

    def act(self, obs: Observation) -> ToolCall | None:
        """One model turn: maybe obey an injection, creep, give up, hallucinate; else the next step."""
        if obs.ticket is None or obs.pending_approval:
            return None
        if obs.ticket.id != self.ticket:
            self.ticket = obs.ticket.id
            self.queue = self._plan(obs.ticket.id)
            self.last_step = None
            self.refusals = 0
        for c in obs.credentials:
            if c.id not in self.seen_creds:
                self.seen_creds.add(c.id)
                if self._p(self.params.cache):
                    self.cache[c.id] = obs.session
        last = self.last_step
        if last is not None and obs.last is not None and obs.last.effect in REFUSED:
            self.refusals += 1
            if self.refusals >= self.params.max_refusals or self._p(self.params.give_up):
                return self._emit(ABORT, {})
            if self._p(self.params.creep):
                self.queue[:0] = [*self._creep_routes(last, obs), last]
        injected = self._injection(obs)
        if injected is not None:
            self.queue.insert(0, injected)
        if not self.queue:
            return self._emit(COMPLETE, {})
        step = self.queue[0]
        if step.tool not in CONTROL_TOOLS and self._p(self.params.hallucination):
            return self._hallucinate(step)
        self.queue.pop(0)
        self.last_step = step
        cred = step.credential
        if cred is None and step.tool not in CONTROL_TOOLS:
            stale = [cid for cid, sess in sorted(self.cache.items()) if sess < obs.session]
            if stale and self._p(self.params.cache):
                cred = stale[-1]  # reuse a credential cached in an earlier session
        if cred == "$newest":
            own = [c.id for c in obs.credentials if c.source != "broker"]
            cred = own[-1] if own else None
        elif cred == "$cached":  # the scenario's cue to replay a cached credential: only if it kept one
            cred = min(self.cache, key=lambda c: (self.cache[c], c)) if self.cache else None
        return self._emit(step.tool, dict(step.args), credential=cred, justification=step.justification)

    def describe(self) -> dict[str, Any]:
        """The preset's parameters."""
        return asdict(self.params)
