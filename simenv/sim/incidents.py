"""What happens to an episode beyond single calls: delegation, credential theft, rollback.

Each function works on a running :class:`simenv.sim.engine.Engine` and writes its own audit
records through it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from simenv.errors import SimenvError
from simenv.sim.mediation import describe
from simenv.world.changes import Change
from simenv.world.model import Credential, Ticket, canonical
from simenv.world.reach import credential_perms
from simenv.world.state import cred_order

if TYPE_CHECKING:
    from simenv.sim.engine import Engine
    from simenv.sim.state import AgentState


def delegate(engine: Engine, st: AgentState, ticket: Ticket, cred: Credential, target: int, task: str) -> str:
    """Open a sub-ticket for the invoked agent; the act chain and delegated rights travel with it."""
    w = engine.world
    chain = (w.identities[engine.who(st)].name, *ticket.chain)
    held = (*ticket.delegated, canonical(credential_perms(w, cred)))
    tmpl = next((t for t in engine.templates if t.parent == ticket.id and t.assignee == target), None)
    if tmpl is not None:
        engine.templates.remove(tmpl)
        sub = replace(tmpl, chain=chain, delegated=held)
    else:
        n = sum(1 for r in engine.audit.records if r["kind"] == "ticket" and r.get("op") == "delegate")
        sub = Ticket(f"{ticket.id}>{w.identities[target].name}#{n + 1}", target, ticket.owner, task, ticket.scope,
                     (), (), engine.tick, ticket.id, True, chain, held)
    target_state = engine.by_name.get(w.identities[target].name)
    if target_state is None or target_state.halted:
        return sub.id
    target_state.queue.insert(0, sub)
    engine.audit.add("ticket", tick=engine.tick, agent=target_state.name, ticket=sub.id, op="delegate",
                     parent=ticket.id, chain=list(chain))
    return sub.id


def rollback(engine: Engine, scope: str, since: int) -> dict[str, Any]:
    """Incident response: undo, newest first, the changes of calls since ``since``.

    Only out-of-intent calls are undone unless ``scope`` is ``all`` (the responder knows what
    the ticket asked for). Irreversible tools are reported, not undone.
    """
    undone: list[int] = []
    skipped: list[int] = []
    changes: list[dict[str, Any]] = []
    applied: list[Change] = []
    for seq in sorted(engine.undo_log, reverse=True):
        in_intent, reversible, inverses = engine.undo_log[seq]
        if engine.audit.records[seq]["tick"] < since or (in_intent and scope != "all"):
            continue
        if not reversible:
            skipped.append(seq)
            continue
        try:
            for inv in reversed(inverses):
                engine.world.apply(inv)
                applied.append(inv)
                changes.append(describe(engine.world, inv))
        except SimenvError:
            skipped.append(seq)
            continue
        del engine.undo_log[seq]
        undone.append(seq)
    engine._sync_credentials("rollback", applied)
    return {"undone": sorted(undone), "not_undone": sorted(skipped), "changes": changes}


def steal(engine: Engine, victim: AgentState, attacker: str, which: str) -> str | None:
    """The attacker copies a credential the victim holds or stored; it replays it from now on."""
    own = ("broker", "legacy_fallback")
    held = [c for _, c in sorted(engine.world.creds.items(), key=lambda kv: cred_order(kv[0]))
            if c.holder == victim.idx and (which == "newest" or (c.source in own) == (which == "broker"))]
    if not held:
        return None
    att = engine.attackers[attacker]
    att.stolen, att.impersonates = held[-1].id, victim.idx
    return att.stolen
