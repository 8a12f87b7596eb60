"""What happens to an episode beyond single calls: delegation, credential theft, rollback.

Each function works on the episode's :class:`~simenv.sim.state.EpisodeState` through its
public methods and returns what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from simenv.errors import SimenvError
from simenv.governance.review import SUSPICIOUS
from simenv.sim.records import TicketRecord
from simenv.sim.render import describe
from simenv.sim.state import AgentState, EpisodeState
from simenv.types import cred_label
from simenv.world.model import Credential, Ticket, canonical
from simenv.world.reach import credential_perms


def delegate(ep: EpisodeState, st: AgentState, ticket: Ticket, cred: Credential, target: int,
             task: str) -> tuple[Ticket, AgentState | None]:
    """The sub-ticket the invoked agent gets (its template, or one made up from ``task``), and that agent.

    The act chain and the rights every delegating actor held travel with it. The agent is
    ``None`` when it cannot take work (not an agent of the episode, or halted).
    """
    w = ep.world
    chain = (w.identities[ep.who(st)].name, *ticket.chain)
    held = (*ticket.delegated, canonical(credential_perms(w, cred)))
    tmpl = next((t for t in ep.templates if t.parent == ticket.id and t.assignee == target), None)
    if tmpl is not None:
        ep.templates.remove(tmpl)
        sub = replace(tmpl, chain=chain, delegated=held)
    else:
        sub = Ticket(f"{ticket.id}>{w.identities[target].name}#{ep.delegations + 1}", target, ticket.owner, task,
                     ticket.scope, ep.tick, ticket.id, True, chain, held)
    taker = ep.by_name.get(w.identities[target].name)
    return sub, (None if taker is None or taker.halted else taker)


def open_delegated(ep: EpisodeState, sub: Ticket, taker: AgentState | None) -> None:
    """Queue a delegated sub-ticket first in its taker's queue, and record the hand-off."""
    if taker is None:
        return
    taker.queue.insert(0, sub)
    ep.delegations += 1
    ep.audit.append(TicketRecord(tick=ep.tick, agent=taker.name, ticket=sub.id, op="delegate", text=sub.text,
                                 parent=sub.parent, chain=list(sub.chain)))


@dataclass(frozen=True, slots=True)
class Rollback:
    """What a rollback did: the calls undone whole, those it could not undo, and the changes applied."""

    undone: list[int]
    not_undone: list[int]
    changes: list[dict]


def rollback(ep: EpisodeState, scope: str, since: int) -> Rollback:
    """Incident response: undo, newest first, the calls executed since tick ``since``.

    The responder selects calls from what the audit shows, never from a ticket's ground truth:
    ``scope`` ``all`` takes every call, ``out_of_scope`` the calls outside their ticket's
    declared scope, ``suspicious`` (the default) the calls whose request showed any discrepancy
    a reviewer can see (:func:`simenv.governance.review.discrepancies`: out of scope, a target the
    ticket does not mention, a self-grant...). A call is undone whole or not at all: an
    irreversible tool, or a call whose changes no longer fit the state (something later changed
    the same thing), is reported in ``not_undone`` and left exactly as it was.
    """
    undone: list[int] = []
    skipped: list[int] = []
    described: list[dict] = []
    for seq in sorted(ep.undo, reverse=True):
        entry = ep.undo[seq]
        selected = scope == "all" or (scope == "out_of_scope" and "out_of_scope" in entry.flags) or (
            scope == "suspicious" and not SUSPICIOUS.isdisjoint(entry.flags))
        if entry.tick < since or not selected:
            continue
        if not entry.reversible:
            skipped.append(seq)
            continue
        redo = list(reversed(entry.inverses))
        try:
            ep.apply(redo, "rollback")  # all or nothing
        except SimenvError:
            skipped.append(seq)
            continue
        described += [describe(ep.world, c) for c in redo]
        del ep.undo[seq]
        undone.append(seq)
    return Rollback(sorted(undone), sorted(skipped), described)


def steal(ep: EpisodeState, victim: AgentState, attacker: str, which: str) -> str | None:
    """The attacker copies a credential the victim holds or stored; it replays it from now on."""
    own = ("broker", "legacy_fallback")
    held = [c for _, c in sorted(ep.world.creds.items())
            if c.holder == victim.idx and (which == "newest" or (c.source in own) == (which == "broker"))]
    if not held:
        return None
    att = ep.attackers[attacker]
    att.stolen, att.impersonates = held[-1].id, victim.idx
    return cred_label(held[-1].id)
