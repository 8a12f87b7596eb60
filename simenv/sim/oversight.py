"""Oversight: approvals that come due, and monitors that revoke or halt.

Each function works on a running :class:`simenv.sim.engine.Engine` and writes its own audit
records through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simenv.governance.protocols import MonitorAction
from simenv.sim.mediation import build_request
from simenv.world.changes import Change, CredChange

if TYPE_CHECKING:
    from simenv.sim.engine import Engine
    from simenv.sim.state import AgentState


def resolve_approval(engine: Engine, st: AgentState) -> None:
    """An approval comes due: re-authorize with its outcome and apply if allowed."""
    p = st.pending
    assert p is not None
    st.pending = None
    o = p.outcome
    base = {"tick": engine.tick, "agent": st.name, "ticket": p.ticket.id if p.ticket else None, "call_seq": p.seq,
            "tool": p.call.spec.name, "granted": o.granted, "wait_ticks": engine.tick - p.submitted,
            "review_minutes": o.review_minutes, "approvers": list(o.approvers), "in_intent": p.in_intent}
    if st.attacker:
        base["actor"] = "attacker"
    who, session = engine.who(st), engine.session_of(st)
    why = engine.gov.broker.check(engine.world, p.cred, who, engine.tick, session)
    if not o.granted or why:
        reasons = [o.reason or "approver declined"] if not o.granted else [why]
        rec = engine.audit.add("approval", **base, decision="deny", reasons=reasons,
                               effect="denied" if not o.granted else "refused", changes=[], inverse=[])
        engine.after(st, rec, p.call.spec.name, {})
        return
    req = build_request(engine.world, who, p.call, p.cred, p.ticket, engine.tick, session, approval="granted")
    dec = engine.gov.authorizer.authorize(req)
    if not dec.allowed:
        rec = engine.audit.add("approval", **base, decision=str(dec.effect), reasons=list(dec.reasons),
                               policy_ids=list(dec.policy_ids), effect="denied", changes=[], inverse=[])
        engine.after(st, rec, p.call.spec.name, {})
        return
    fields, output = engine.execute(st, p.call, p.cred, p.in_intent, req, p.ticket)
    rec = engine.audit.add("approval", **base, decision="allow", reasons=list(dec.reasons),
                           policy_ids=list(dec.policy_ids), **{k: v for k, v in fields.items() if k != "in_intent"})
    engine.after(st, rec, p.call.spec.name, output)


def monitor_action(engine: Engine, act: MonitorAction) -> None:
    """Carry out a monitor's response: revoke the agent's live credentials, or halt it too."""
    st = engine.by_name.get(act.agent)
    if st is None:
        return
    revoked = []
    if act.action in ("revoke", "halt"):
        changes: list[Change] = []
        for cid in sorted(engine.world.creds):
            c = engine.world.creds[cid]
            if c.holder == st.idx and c.live(engine.tick):
                changes.append(CredChange(cid, c, c.revoke()))
                revoked.append(cid)
        engine._apply(changes)
        engine._sync_credentials(f"monitor.{act.monitor}", changes)
    if act.action == "halt":
        st.halted = True
        st.pending = None
    engine.audit.add("monitor", tick=engine.tick, monitor=act.monitor, action=act.action, agent=act.agent,
                   reason=act.reason, revoked=revoked)
