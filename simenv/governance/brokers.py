"""Provisioned-credential brokers: standing least-privilege, JIT per ticket, session-bound.

A *provisioned* credential carries exactly its scope (the ticket's declared scope, or the
union of an agent's declared scopes): it does not borrow the agent's standing role bindings,
which is what zero standing privilege means. Modes:

* ``standing_least``: one static credential per agent at the start, scoped to the union of
  the declared scopes of its tickets; never expires.
* ``jit``: a JIT credential per ticket, scoped to the ticket's declared scope, living
  ``ttl`` ticks (re-issued on demand while the ticket is open), revoked when the ticket
  completes or aborts. It is issued only for a call that is allowed (or approved): a request
  waiting for approval holds no credential. Credentials the agent obtains by itself (a secret
  read, a key exported, a role assumed) are bound to the ticket too and revoked with it.
* ``session_bound``: ``jit`` whose credentials, the derived ones included, are bound to the
  session that obtained them; presenting one in a later session is refused.

Legacy systems (``estate.legacy_systems`` in a scenario) support no ephemeral credentials:
for a call on one, the JIT brokers fall back to a static credential scoped to that system's
part of the declared scope, which never expires and is not revoked at ticket end. Exposure
and residual exposure show what the fallback costs.

Default TTL: 30 ticks (30 simulated minutes), below the 1 h floor of Entra PIM activations
(1–24 h) and AWS TEAM's 3 h default — a deliberately tight setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated

from pydantic import Field

from simenv.governance.broker import NoBroker, StandingBroker, refusal
from simenv.governance.views import EstateView
from simenv.types import CredentialKind, CredId, System, cred_label
from simenv.world.changes import Change, CredChange
from simenv.world.model import Credential, Permission, Ticket, intersect
from simenv.world.tools import ToolSpec


def _scope_union(tickets: Sequence[Ticket]) -> tuple[Permission, ...]:
    by_system: dict[System, set] = {}
    for t in tickets:
        for s in t.scope.systems:
            by_system.setdefault(s, set()).update(t.scope.risks)
    return tuple(Permission(s, frozenset(r)) for s, r in sorted(by_system.items(), key=lambda kv: str(kv[0])))


class StandingLeastBroker(StandingBroker):
    """A static credential per agent scoped to the union of its tickets' declared scopes."""

    def start(self, estate: EstateView, agents: list[int], tickets: Sequence[Ticket], tick: int) -> list[Change]:
        """Issue one scoped standing credential per agent that has tickets."""
        out: list[Change] = []
        for a in agents:
            scope = _scope_union([t for t in tickets if t.assignee == a])
            if not scope:
                continue
            cid = estate.new_cred_id()
            cred = Credential(cid, CredentialKind.STATIC, a, a, scope, tick, superuser=True,
                              chain=(estate.name(a),))
            self.standing[a] = cid
            out.append(CredChange(cid, None, cred))
        return out


class JitBroker(NoBroker):
    """A JIT credential per ticket (see the module docstring).

    Options (``credentials.options`` in a profile; ``ttl`` is ``credentials.ttl``):
        ttl: ticks a JIT credential lives.
        intersect_chain: for delegated work, narrow the credential to what every delegating
            actor held when it delegated (the confused-deputy guard, as RFC 8693 token
            exchange narrows a token).
        max_chain_depth: refuse delegated work deeper than this (``None``: no limit).
    """

    session_bound = False

    def __init__(self, ttl: Annotated[int, Field(ge=1, le=1_000_000)] = 30, intersect_chain: bool = False,
                 max_chain_depth: Annotated[int, Field(ge=0)] | None = None):
        self.ttl = ttl
        self.intersect_chain = intersect_chain
        self.max_chain_depth = max_chain_depth
        self.current: dict[tuple[int, str], CredId] = {}
        self.legacy: dict[tuple[int, System], CredId] = {}

    def check(self, estate: EstateView, cred: Credential, agent: int, tick: int, session: int) -> str | None:
        """Generic checks, then the session binding."""
        why = refusal(estate, cred, agent, tick)
        if why is None and self.session_bound and cred.session is not None and cred.session != session:
            why = f"{cred_label(cred.id)} is bound to session {cred.session}; replay in session {session} refused"
        return why

    def credential_for(
        self, estate: EstateView, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """The ticket's live JIT credential, issued now if there is none."""
        if ticket is None:
            return None, [], "no open ticket: JIT credentials are issued per ticket"
        name = estate.name(agent)
        if self.max_chain_depth is not None and len(ticket.chain) > self.max_chain_depth:
            return None, [], f"delegation chain of depth {len(ticket.chain)} exceeds {self.max_chain_depth}"
        if spec.system in estate.legacy:
            return self._legacy(estate, agent, ticket, spec, tick, name)
        cid = self.current.get((agent, ticket.id))
        cred = estate.creds.get(cid) if cid is not None else None
        if cred is not None and self.check(estate, cred, agent, tick, session) is None:
            return cred, [], ""
        scope = tuple(p for p in ticket.scope.as_permissions() if p.system not in estate.legacy)
        if self.intersect_chain:
            for held in ticket.delegated:
                scope = intersect(scope, held)
        new = Credential(estate.new_cred_id(), CredentialKind.JIT, agent, agent, scope, tick, tick + self.ttl,
                         superuser=True, chain=(name, *ticket.chain), session=session if self.session_bound else None,
                         ticket=ticket.id, source="broker")
        self.current[(agent, ticket.id)] = new.id
        return new, [CredChange(new.id, None, new)], ""

    def _legacy(self, estate: EstateView, agent: int, ticket: Ticket, spec: ToolSpec, tick: int,
                name: str) -> tuple[Credential | None, list[Change], str]:
        """Fallback for a legacy system: a static, never-expiring credential for that system."""
        key = (agent, spec.system)
        cid = self.legacy.get(key)
        cred = estate.creds.get(cid) if cid is not None else None
        if cred is not None and refusal(estate, cred, agent, tick) is None:
            return cred, [], ""
        scope = tuple(p for p in ticket.scope.as_permissions() if p.system is spec.system)
        if not scope:
            return None, [], f"{spec.system} is outside the ticket's declared scope"
        new = Credential(estate.new_cred_id(), CredentialKind.STATIC, agent, agent, scope, tick, None,
                         superuser=True, chain=(name,), source="legacy_fallback")
        self.legacy[key] = new.id
        return new, [CredChange(new.id, None, new)], ""

    def adopt(self, estate: EstateView, agent: int, ticket: Ticket | None, cred: Credential, session: int) -> Credential:
        """Bind what the agent obtained by itself to its ticket (and session, when session-bound).

        Zero standing privilege covers derived credentials too: they are revoked with the ticket.
        """
        return replace(cred, ticket=ticket.id if ticket else cred.ticket,
                       session=session if self.session_bound else cred.session)

    def ticket_closed(self, estate: EstateView, agent: int, ticket: Ticket, tick: int) -> list[Change]:
        """Revoke every credential bound to the ticket: the JIT ones and those the agent obtained under it.

        Legacy static fallbacks are bound to no ticket and survive.
        """
        out: list[Change] = []
        for cid in sorted(estate.creds):
            c = estate.creds[cid]
            if c.holder == agent and c.ticket == ticket.id and not c.revoked:
                out.append(CredChange(cid, c, c.revoke()))
        self.current.pop((agent, ticket.id), None)
        return out


class SessionBoundBroker(JitBroker):
    """``jit`` whose credentials are bound to the session that obtained them (see the module docstring)."""

    session_bound = True
