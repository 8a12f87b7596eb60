"""The engine: the tick loop (docs/architecture.md) over one episode's state.

Per tick: scheduled events, credential expiry, approvals that come due (each re-enters its
call's path at ``execute``), then each agent in turn acts and its call goes through the
:class:`~simenv.sim.mediator.Mediator`; outside attackers last. The engine records what scoring
needs and computes no score itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simenv.agents.base import CONTROL_TOOLS, Agent, CredView, NullAgent, Observation, TicketView, coerce_call
from simenv.agents.scripted import ScriptedAgent
from simenv.governance.profile import Governance
from simenv.rng import Streams
from simenv.scenario.builder import BuiltScenario
from simenv.sim.events import run_event
from simenv.sim.mediator import Mediator
from simenv.sim.records import CallRecord, ControlRecord, EndRecord, EpisodeHeader, TicketRecord
from simenv.sim.state import ATTACK_TICKET, AgentState, EpisodeState, TickStats
from simenv.types import ToolCall, cred_label
from simenv.world.catalog import TOOL_NAMES, tool_schemas
from simenv.world.model import Ticket
from simenv.world.state import World

ACTIONS = TOOL_NAMES + CONTROL_TOOLS
_READS_NOTHING = (ScriptedAgent.reset, NullAgent.reset)
"""Resets that read neither the tool schemas nor the random stream they are given. An agent whose class resets
with one of them is given an empty list and an unused stream: building the schemas and spawning a stream were a
third of a reset, and for the scripted agents beside an RL learner nothing read them."""
_UNUSED_STREAM = Streams(0).child("unused")
EXPOSURE_TAIL = 60
"""Default exposure horizon: credentials still live at the end are charged up to ``max_ticks + 60``
(one simulated hour past the episode's budget) unless they expire first; a scenario's
``exposure_horizon`` sets it."""


class Engine:
    """Runs one episode of a built scenario under one governance profile.

    Args:
        built: the scenario, built for this seed.
        gov: the governance profile, built fresh for this episode.
        agents: the agent for each agent identity name.
        seed: the episode seed (for the header and the agents' streams).
        meta: header fields: ``scenario``, ``agent`` (label) and ``size`` (estate size).
    """

    def __init__(self, built: BuiltScenario, gov: Governance, agents: Mapping[str, Agent], seed: int,
                 meta: Mapping[str, Any]):
        w = built.world
        self.built = built
        self.gov = gov
        self.seed = seed
        states = []
        for a in built.agents:
            name = w.identities[a].name
            queue = sorted((t for t in built.tickets if t.assignee == a and not t.on_invoke),
                           key=lambda t: (t.opens_at, t.id))
            states.append(AgentState(a, name, agents[name], queue))
        attackers = {
            name: AgentState(w.ident_index[name], name, ScriptedAgent({None: plan}, "attacker"), [], attacker=True)
            for name, plan in sorted(built.attackers.items())
        }
        self.state = ep = EpisodeState(w, built.truth, states, attackers, [t for t in built.tickets if t.on_invoke],
                                       built.max_ticks)
        self._events = sorted(built.events, key=lambda e: e.tick)
        agents_part, tickets_part, weights_part = w.derived("engine.header", lambda: _header_parts(built, states, ep))
        ep.audit.append(EpisodeHeader(
            seed=seed, scenario=str(meta.get("scenario", built.spec.name)), profile=gov.name,
            agent=str(meta.get("agent", "")), size=meta.get("size"), max_ticks=built.max_ticks,
            exposure_horizon=built.spec.exposure_horizon or built.max_ticks + EXPOSURE_TAIL,
            agents=[dict(a) for a in agents_part],
            tickets=[{k: list(v) if isinstance(v, tuple) else v for k, v in t} for t in tickets_part],
            weights={"systems": dict(weights_part[0]), "slices": dict(weights_part[1]), "total": weights_part[2]},
            identities=len(w.identities), resources=len(w.resources)))
        gov.authorizer.prepare(ep.estate, built.tickets)
        streams = Streams(seed)
        schemas: list[dict[str, Any]] | None = None  # built once, for the agents that read them
        for s in [*states, *attackers.values()]:
            if getattr(type(s.agent), "reset", None) in _READS_NOTHING:
                s.agent.reset(s.name, [], _UNUSED_STREAM)
                continue
            if schemas is None:
                schemas = tool_schemas()
            s.agent.reset(s.name, schemas, streams.child(f"agent:{s.name}"))  # by name: skipping others changes none
        self.mediator = Mediator(ep, gov)
        self._ticket_views: dict[str, tuple[Ticket, TicketView]] = {}
        ep.apply(gov.broker.start(ep.estate, list(built.agents), built.tickets, 0), "broker.start")
        self.open_due()

    # ------------------------------------------------------------------ what tests and envs read
    @property
    def world(self) -> World:
        return self.state.world

    @property
    def audit(self):
        return self.state.audit

    @property
    def tick(self) -> int:
        return self.state.tick

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def states(self) -> list[AgentState]:
        return self.state.agents

    @property
    def by_name(self) -> dict[str, AgentState]:
        return self.state.by_name

    # ------------------------------------------------------------------ observation
    def observe(self, st: AgentState) -> Observation:
        """What agent ``st`` may see now."""
        ep = self.state
        w = ep.world
        t = ATTACK_TICKET if st.attacker else st.current
        view = None
        if t is not None:
            seen = self._ticket_views.get(t.id)
            if seen is None or seen[0] is not t:  # tickets are frozen: one view each
                seen = self._ticket_views[t.id] = (t, TicketView(t.id, t.text, tuple(sorted(map(str, t.scope.systems))),
                                                                 tuple(sorted(map(str, t.scope.risks))), t.parent))
            view = seen[1]
        tick, me = ep.tick, st.idx
        held = sorted(cid for cid, c in w.creds.items() if c.holder == me and c.live(tick))  # only the agent's own
        creds = tuple(
            CredView(cred_label(c.id), str(c.kind), w.identities[c.represents].name, c.expires_at, c.source, c.session)
            for c in map(w.creds.__getitem__, held)
        )
        return Observation(ep.tick, st.name, w.identities[st.idx].spiffe_id, st.session, view, st.last, creds,
                           st.pending is not None, ACTIONS)

    # ------------------------------------------------------------------ the loop
    def step(self, overrides: Mapping[str, ToolCall | None] | None = None) -> bool:
        """Run one tick. ``overrides`` supplies the call of some agents (the RL learners).

        Returns whether the episode has ended.
        """
        ep = self.state
        if ep.finished:
            return True
        for st in ep.agents:
            st.stats = TickStats()
        while self._events and self._events[0].tick <= ep.tick:
            run_event(ep, self._events.pop(0))
        ep.sync("tick")
        for st in [*ep.agents, *ep.attackers.values()]:
            if st.pending is not None and st.pending.outcome.ready_at <= ep.tick:
                self.mediator.resolve_approval(st)
        for st in ep.agents:
            if st.halted or st.pending is not None:
                continue
            self.open_ticket(st)
            if st.current is None:
                continue
            call = overrides[st.name] if overrides is not None and st.name in overrides else st.agent.act(self.observe(st))
            if call is not None:
                self.mediator.handle(st, coerce_call(call))
        for st in ep.attackers.values():
            if st.stolen is not None and not st.halted and st.pending is None:
                call = st.agent.act(self.observe(st))
                if call is not None and call.tool not in CONTROL_TOOLS:
                    self.mediator.handle(st, call)
                else:
                    st.halted = True  # its plan is spent
        ep.tick += 1
        if ep.tick >= ep.max_ticks or (
            all(s.done for s in ep.agents) and not self._events
            and all(a.halted or a.pending is None and a.stolen is None for a in ep.attackers.values())
        ):
            self.finish()
        else:
            self.open_due()
        return ep.finished

    def handle(self, st: AgentState, call: ToolCall) -> CallRecord | ControlRecord:
        """Mediate one call of ``st`` now (what :meth:`step` does for each agent)."""
        return self.mediator.handle(st, call)

    def open_due(self) -> None:
        """Open every ticket due by now, so observations and action masks show it this tick."""
        for st in self.state.agents:
            if not st.halted:
                self.open_ticket(st)

    def open_ticket(self, st: AgentState) -> None:
        """Open ``st``'s next ticket if it has none open and the next one is due."""
        ep = self.state
        if st.current is None and st.queue and st.queue[0].opens_at <= ep.tick:
            st.current = st.queue.pop(0)
            ep.audit.append(TicketRecord(tick=ep.tick, agent=st.name, ticket=st.current.id, op="open",
                                         text=st.current.text))

    def run(self):
        """Run to the end and return the audit log."""
        while not self.step():
            pass
        return self.state.audit

    def tickets_done(self, st: AgentState | None = None) -> dict[str, bool]:
        """For each scenario ticket (of ``st``, or all): whether its world-verifiable predicate holds now."""
        ep = self.state
        return {t.id: ep.ticket_done(t) for t in self.built.tickets
                if not t.on_invoke and (st is None or t.assignee == st.idx)}

    # ------------------------------------------------------------------ the end
    def finish(self) -> None:
        """Close the episode: expire what is due, settle what still waits, write the ``end`` record."""
        ep = self.state
        if ep.finished:
            return
        ep.sync("end")
        for st in ep.agents:
            if st.pending is not None:
                self.mediator.unresolved(st)
        ep.audit.append(EndRecord(tick=ep.tick, tickets=self.tickets_done(), world_fingerprint=ep.world.fingerprint(),
                                  live_credentials=[cred_label(c) for c in ep.ledger.live()]))
        ep.finished = True


def _header_parts(built: BuiltScenario, states: list[AgentState], ep: EpisodeState) -> tuple[tuple, tuple, tuple]:
    """What the header says of the estate as built (its agents, tickets and weights), as tuples.

    It depends on the template alone, so it is computed once per template (``World.derived``);
    each header builds its own lists and dicts from it.
    """
    w = built.world
    agents = tuple((("name", s.name), ("spiffe_id", w.identities[s.idx].spiffe_id), ("owner", w.owner_name(s.idx)))
                   for s in states)
    tickets = tuple((("id", t.id), ("assignee", w.identities[t.assignee].name),
                     ("systems", tuple(sorted(map(str, t.scope.systems)))), ("risks", tuple(sorted(map(str, t.scope.risks)))),
                     ("intended", len(ep.truth_of(t).intent)), ("on_invoke", t.on_invoke))
                    for t in built.tickets)
    weights = (tuple((str(k), round(v, 6)) for k, v in w.system_weight.items()),
               tuple((f"{s}/{t}", round(v, 6)) for (s, t), v in sorted(w.type_weight.items(), key=str)),
               round(w.total_weight, 6))
    return agents, tickets, weights
