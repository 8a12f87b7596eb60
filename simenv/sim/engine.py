"""The engine: the one loop of DESIGN.md.

Per tick: scheduled events, credential expiry, approvals that come due, then each agent in
turn: ``agent.act(observation)`` → broker → authorizer → approvals → ``world.apply`` (only
after an allow) → monitors → audit. The engine records what scoring needs and computes no
score itself.
"""

from __future__ import annotations

from typing import Any

from simenv.agents.base import (
    COMPLETE,
    CONTROL_TOOLS,
    Agent,
    CredView,
    LastResult,
    Observation,
    TicketView,
    coerce_call,
)
from simenv.agents.scripted import ScriptedAgent
from simenv.errors import ToolCallError
from simenv.governance.profile import Governance
from simenv.governance.request import AccessRequest, Decision
from simenv.rng import Streams
from simenv.scenario.builder import BuiltScenario
from simenv.sim import incidents, oversight
from simenv.sim.audit import Audit, without_labels
from simenv.sim.ledger import CredentialLedger
from simenv.sim.mediation import affected, build_request, describe
from simenv.sim.state import ATTACK_TICKET, AgentState, Pending, fresh_stats, safe_value
from simenv.types import Effect, RiskClass, ToolCall
from simenv.world.changes import Change
from simenv.world.model import Credential, DoneWhen, Ticket
from simenv.world.tools import CATALOG, CallContext, ResolvedCall, resolve, tool_schemas

TOOL_NAMES = tuple(sorted(CATALOG)) + CONTROL_TOOLS


class Engine:
    """Runs one episode of a built scenario under one governance profile.

    Args:
        built: the scenario, built for this seed.
        gov: the governance profile, built fresh for this episode.
        agents: the agent for each agent identity name.
        seed: the episode seed (for the header and the agents' streams).
        meta: extra header fields (scenario and profile names, agent name).
    """

    def __init__(self, built: BuiltScenario, gov: Governance, agents: dict[str, Agent], seed: int,
                 meta: dict[str, Any] | None = None):
        self.built = built
        self.world = built.world
        self.gov = gov
        self.seed = seed
        self.streams = Streams(seed)
        self.audit = Audit()
        self.tick = 0
        self.finished = False
        self.completed: set[str] = set()
        self.undo_log: dict[int, tuple[bool, bool, list[Change]]] = {}  # audit seq -> (in intent, reversible, inverses)
        w = self.world
        self.states = []
        for a in built.agents:
            name = w.identities[a].name
            queue = sorted((t for t in built.tickets if t.assignee == a and not t.on_invoke),
                           key=lambda t: (t.opens_at, t.id))
            self.states.append(AgentState(a, name, agents[name], queue))
        self.by_name = {s.name: s for s in self.states}
        self.templates = [t for t in built.tickets if t.on_invoke]
        self.attackers = {
            name: AgentState(w.ident_index[name], name, ScriptedAgent({None: plan}, "attacker"), [], attacker=True)
            for name, plan in sorted(built.attackers.items())
        }
        self.holders = set(built.agents)
        self.ledger = CredentialLedger(w, self.audit, self.holders)
        self._events = sorted(built.events, key=lambda e: e.tick)
        self.audit.add(
            "episode",
            seed=seed,
            **(meta or {}),
            profile=gov.name,
            max_ticks=built.max_ticks,
            agents=[{"name": s.name, "spiffe_id": w.identities[s.idx].spiffe_id, "owner": w.owner_name(s.idx)}
                    for s in self.states],
            tickets=[{"id": t.id, "assignee": w.identities[t.assignee].name,
                      "systems": sorted(map(str, t.scope.systems)), "risks": sorted(map(str, t.scope.risks))}
                     for t in built.tickets],
            weights={"systems": {str(k): round(v, 6) for k, v in w.system_weight.items()},
                     "slices": {f"{s}/{t}": round(v, 6) for (s, t), v in sorted(w.type_weight.items(), key=str)},
                     "total": round(w.total_weight, 6)},
            identities=len(w.identities),
            resources=len(w.resources),
        )
        gov.authorizer.prepare(w, built.tickets)
        schemas = tool_schemas()
        for s in [*self.states, *self.attackers.values()]:
            s.agent.reset(s.name, schemas, self.streams.child(f"agent:{s.name}"))
        self._apply_system(gov.broker.start(w, list(built.agents), built.tickets, 0), "broker.start")
        self.open_due()

    # ------------------------------------------------------------------ world changes
    def _apply(self, changes: list[Change]) -> list[Change]:
        return [self.world.apply(c) for c in changes]

    def _apply_system(self, changes: list[Change], cause: str) -> None:
        """Apply governance changes (credential issue/revoke) and audit them."""
        if changes:
            self._apply(changes)
            self._sync_credentials(cause, changes)

    def _sync_credentials(self, cause: str, changes: list[Change] | tuple[()] = ()) -> None:
        self.ledger.sync(self.tick, cause, changes)


    # ------------------------------------------------------------------ observation
    def observe(self, st: AgentState) -> Observation:
        """What agent ``st`` may see now."""
        w = self.world
        t = ATTACK_TICKET if st.attacker else st.current
        view = TicketView(t.id, t.text, tuple(sorted(map(str, t.scope.systems))),
                          tuple(sorted(map(str, t.scope.risks))), t.parent) if t else None
        creds = tuple(
            CredView(c.id, str(c.kind), w.identities[c.represents].name, c.expires_at, c.source, c.session)
            for cid, c in sorted(w.creds.items()) if c.holder == st.idx and c.live(self.tick)
        )
        return Observation(self.tick, st.name, w.identities[st.idx].spiffe_id, st.session, view, st.last, creds,
                           st.pending is not None, TOOL_NAMES)

    # ------------------------------------------------------------------ the loop
    def step(self, overrides: dict[str, ToolCall | None] | None = None) -> bool:
        """Run one tick. ``overrides`` supplies the call of some agents (the RL learner).

        Returns whether the episode has ended.
        """
        if self.finished:
            return True
        for st in self.states:
            st.stats = fresh_stats()
        while self._events and self._events[0].tick <= self.tick:
            self._event(self._events.pop(0))
        self._sync_credentials("tick")
        for st in [*self.states, *self.attackers.values()]:
            if st.pending is not None and st.pending.outcome.ready_at <= self.tick:
                oversight.resolve_approval(self, st)
        for st in self.states:
            if st.halted or st.pending is not None:
                continue
            self._open_ticket(st)
            if st.current is None:
                continue
            if overrides is not None and st.name in overrides:
                call = overrides[st.name]
            else:
                call = st.agent.act(self.observe(st))
            if call is not None:
                self.handle(st, coerce_call(call))
        for st in self.attackers.values():
            if st.stolen is not None and not st.halted and st.pending is None:
                call = st.agent.act(self.observe(st))
                if call is not None and call.tool not in CONTROL_TOOLS:
                    self.handle(st, call)
                else:
                    st.halted = True  # its plan is spent
        self.tick += 1
        if self.tick >= self.built.max_ticks or (
            all(s.done for s in self.states) and not self._events
            and all(a.halted or a.pending is None and a.stolen is None for a in self.attackers.values())
        ):
            self.finish()
        else:
            self.open_due()
        return self.finished

    def open_due(self) -> None:
        """Open every ticket due by now, so observations and action masks show it this tick."""
        for st in self.states:
            if not st.halted:
                self._open_ticket(st)

    def run(self) -> Audit:
        """Run to the end and return the audit log."""
        while not self.step():
            pass
        return self.audit

    def _open_ticket(self, st: AgentState) -> None:
        if st.current is None and st.queue and st.queue[0].opens_at <= self.tick:
            st.current = st.queue.pop(0)
            self.audit.add("ticket", tick=self.tick, agent=st.name, ticket=st.current.id, op="open")

    def _event(self, ev: Any) -> None:
        st = self.by_name.get(ev.agent) if ev.agent else None
        extra: dict[str, Any] = {}
        if ev.kind == "session_end" and st is not None:
            st.session += 1
        elif ev.kind == "steal_credential" and st is not None:
            extra["stolen"] = incidents.steal(self, st, str(ev.params["attacker"]), str(ev.params.get("which", "newest")))
        elif ev.kind == "rollback":
            extra.update(incidents.rollback(self, str(ev.params.get("scope", "out_of_intent")),
                                            int(ev.params.get("since", 0))))
        self.audit.add("event", tick=self.tick, event=ev.kind, agent=ev.agent, params=dict(ev.params), **extra)

    # ------------------------------------------------------------------ one call
    def handle(self, st: AgentState, call: ToolCall) -> dict[str, Any]:
        """Mediate one call of agent ``st`` and return its audit record."""
        st.stats["calls"] += 1
        who, session = self.who(st), self.session_of(st)
        t = self.by_name[self.world.identities[who].name].current if st.attacker else st.current
        base = {"tick": self.tick, "agent": st.name, "session": st.session, "ticket": t.id if t else None,
                "tool": safe_value(call.tool)}
        if st.attacker:
            base.update(actor="attacker", impersonates=self.world.identities[who].name)
            call = ToolCall(call.tool, call.args, credential=st.stolen)
        elif call.tool in CONTROL_TOOLS:
            return self._control(st, call, base)
        try:
            rc = resolve(self.world, call.tool, call.args, self.world.identities[who].name)
        except ToolCallError as e:
            return self._invalid(st, base, call, str(e))
        base["args"] = dict(rc.names)
        in_intent = bool(t and not st.attacker and t.in_intent(rc.spec.name, rc.names))
        if call.credential is not None:
            cred = self.world.creds.get(call.credential) if isinstance(call.credential, str) else None
            if cred is None:
                return self._invalid(st, base, call, f"unknown credential {safe_value(call.credential)!r}")
            why = self.gov.broker.check(self.world, cred, who, self.tick, session)
        else:
            cred, changes, why = self.gov.broker.credential_for(self.world, who, t, rc.spec, self.tick, session)
            self._apply_system(changes, "broker.issue")
        if cred is None or why:
            base["credential"] = cred.id if cred else None
            rec = self._settle(base, "deny", [why or "no credential"], ["broker"], "none", "refused", in_intent)
            return self.after(st, rec, rc.spec.name, {})
        req = build_request(self.world, who, rc, cred, t, self.tick, session)
        dec = self.gov.authorizer.authorize(req)
        base.update(credential=cred.id, represents=req.represents.name, credential_kind=req.credential_kind,
                    chain=list(req.chain), risk=req.risk, system=req.system, resource=req.resource.name,
                    in_scope=req.in_declared_scope, covers=req.credential_covers)
        if dec.effect is Effect.REQUIRE_APPROVAL:
            if self.gov.approvals is None:
                dec = Decision(Effect.DENY, (*dec.reasons, "no approver is configured"), dec.policy_ids)
            else:
                out = self.gov.approvals.submit(req, in_intent, self.tick)
                rec = self._settle(base, str(dec.effect), dec.reasons, dec.policy_ids, "pending", "pending", in_intent)
                st.pending = Pending(rec["seq"], rc, cred, t, in_intent, self.tick, out)
                return self.after(st, rec, rc.spec.name, {})
        if not dec.allowed:
            rec = self._settle(base, str(dec.effect), dec.reasons, dec.policy_ids, "none", "denied", in_intent)
            return self.after(st, rec, rc.spec.name, {})
        fields, output = self.execute(st, rc, cred, in_intent, req, t)
        base.update(decision="allow", reasons=list(dec.reasons), policy_ids=list(dec.policy_ids), approval="none")
        base.update(fields)
        rec = self.audit.append("call", base)
        return self.after(st, rec, rc.spec.name, output)

    def _settle(self, rec: dict[str, Any], decision: str, reasons: Any, policy_ids: Any, approval: str, effect: str,
                in_intent: bool) -> dict[str, Any]:
        """Finish a call record that changed nothing (refused, denied, pending) and append it."""
        rec.update(decision=decision, reasons=list(reasons), policy_ids=list(policy_ids), approval=approval,
                   effect=effect, changes=[], inverse=[], in_intent=in_intent)
        return self.audit.append("call", rec)

    def who(self, st: AgentState) -> int:
        """The identity the estate sees: the agent, or the one an attacker impersonates."""
        return st.impersonates if st.attacker and st.impersonates is not None else st.idx

    def session_of(self, st: AgentState) -> int:
        """The session a call comes from; an attacker never holds the victim's session binding."""
        return -1 if st.attacker else st.session

    def execute(self, st: AgentState, rc: ResolvedCall, cred: Credential, in_intent: bool,
                 req: AccessRequest, ticket: Ticket | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply an allowed call: native permission check, effect, inverse, labels."""
        w = self.world
        if not req.credential_covers:  # computed for this very request and tick
            why = f"{rc.spec.system} refuses: {cred.id} carries no {rc.spec.risk} on {rc.target.name}"
            return {"effect": "forbidden", "native": why, "changes": [], "inverse": [], "in_intent": in_intent}, {}
        outcome = rc.spec.effect(CallContext(w, st.idx, self.tick, req.chain), **rc.args)
        note = w.attrs.get((rc.target.idx, "note")) if rc.spec.risk is RiskClass.READ else None
        if note is not None:  # text stored on a resource reaches the reader (and may carry injected instructions)
            outcome.output["note"] = note
        described = [describe(w, c) for c in outcome.changes]
        inverses = self._apply(outcome.changes)
        if inverses:
            self.undo_log[len(self.audit)] = (in_intent, rc.spec.reversible, inverses)
        if outcome.handoff is not None and ticket is not None:
            output = {**outcome.output, "ticket": incidents.delegate(self, st, ticket, cred, *outcome.handoff)}
            outcome = type(outcome)(outcome.changes, output, outcome.handoff)
        fields: dict[str, Any] = {
            "effect": "delegated" if outcome.handoff is not None else "applied" if outcome.changes else "noop",
            "changes": described,
            "inverse": [describe(w, c) for c in reversed(inverses)],
            "reversible": rc.spec.reversible,
            "output": outcome.output,
            "in_intent": in_intent,
        }
        if not in_intent:
            cov = affected(w, rc.target, outcome.changes)
            fields["affected"] = cov.to_json(w)
            fields["affected_weight"] = cov.weight(w)
            st.stats["violation_weight"] += fields["affected_weight"]
        if outcome.changes:
            self._sync_credentials("call", outcome.changes)
        return fields, outcome.output

    def after(self, st: AgentState, rec: dict[str, Any], tool: str, output: dict[str, Any]) -> dict[str, Any]:
        """Feed back the result, count, and let the monitors react."""
        st.last = LastResult(tool, rec["decision"], rec["effect"], tuple(rec.get("reasons", ())), output)
        if rec["effect"] in ("denied", "refused", "forbidden"):
            st.stats["denied"] += 1
        for mon in self.gov.monitors:
            for act in mon.observe(without_labels(rec)):
                oversight.monitor_action(self, act)
        return rec

    def _invalid(self, st: AgentState, base: dict[str, Any], call: ToolCall, why: str) -> dict[str, Any]:
        st.stats["invalid"] += 1
        args = call.args if isinstance(call.args, dict) else {"<raw>": call.args}
        fields = {**base, "args": {str(k)[:100]: safe_value(v) for k, v in args.items()}}
        rec = self.audit.add("call", **fields, decision="invalid", reasons=[why[:300]], policy_ids=["engine.schema"],
                             approval="none", effect="invalid", changes=[], inverse=[], in_intent=False)
        return self.after(st, rec, str(base["tool"]), {})

    def _control(self, st: AgentState, call: ToolCall, base: dict[str, Any]) -> dict[str, Any]:
        t = st.current
        assert t is not None
        op = "complete" if call.tool == COMPLETE else "abort"
        rec = self.audit.add("control", **base, op=op)
        st.stats["completed"] += op == "complete"
        if op == "complete":
            self.completed.add(t.id)
        st.current = None
        st.last = LastResult(str(call.tool), "control", op)
        self._apply_system(self.gov.broker.ticket_closed(self.world, st.idx, t, self.tick), f"ticket.{op}")
        return rec

    # ------------------------------------------------------------------ the end
    def done(self, d: DoneWhen) -> bool:
        """Evaluate one completion predicate on the world."""
        w = self.world
        assert d.resource is not None
        if d.kind == "attr":
            return w.attrs.get((d.resource, d.key)) == d.value
        assert d.identity is not None
        return w.has_grant(d.identity, d.resource) == (d.kind == "grant")

    def finish(self) -> None:
        """Close the episode: expire what is due and write the ``end`` record."""
        if self.finished:
            return
        self._sync_credentials("end")
        for st in self.states:
            if st.pending is not None:
                self.audit.add("approval", tick=self.tick, agent=st.name, call_seq=st.pending.seq,
                               tool=st.pending.call.spec.name, granted=False, wait_ticks=self.tick - st.pending.submitted,
                               review_minutes=0.0, approvers=[], in_intent=st.pending.in_intent, decision="deny",
                               reasons=["episode ended before the approval came"], effect="unresolved",
                               changes=[], inverse=[])
                st.pending = None
        tickets = {
            t.id: all(self.done(d) for d in t.done_when) if t.done_when else t.id in self.completed
            for t in self.built.tickets if not t.on_invoke
        }
        self.audit.add("end", tick=self.tick, tickets=tickets, world_fingerprint=self.world.fingerprint(),
                       live_credentials=self.ledger.live())
        self.finished = True
