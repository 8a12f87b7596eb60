"""Credential brokers: which credential backs a call.

Modes (a profile's ``credentials.mode``):

* ``none``: no credential is ever issued (every call is refused at the broker).
* ``unrestricted``: a standing static superuser credential (the ``allow_all`` baseline).
* ``standing_broad``: a standing static credential carrying the agent's full standing grants.

``standing_least``, ``jit`` and ``session_bound`` live in :mod:`simenv.governance.brokers`;
:mod:`simenv.governance.plugins` maps the mode names to the classes. A broker sees the estate
through an :class:`~simenv.governance.views.EstateView` and returns the changes it wants.
"""

from __future__ import annotations

from collections.abc import Sequence

from simenv.governance.views import EstateView
from simenv.types import CredentialKind, CredId, cred_label
from simenv.world.changes import Change, CredChange
from simenv.world.model import Credential, Ticket
from simenv.world.tools import ToolSpec


def refusal(estate: EstateView, cred: Credential, agent: int, tick: int) -> str | None:
    """The broker-independent reasons a presented credential is refused."""
    label = cred_label(cred.id)
    if cred.holder != agent:
        return f"{label} is not held by {estate.name(agent)}"
    if cred.revoked:
        return f"{label} is revoked"
    if cred.expires_at is not None and tick >= cred.expires_at:
        return f"{label} expired at tick {cred.expires_at}"
    return None


class NoBroker:
    """Issues nothing."""

    def start(self, estate: EstateView, agents: list[int], tickets: Sequence[Ticket], tick: int) -> list[Change]:
        """No standing credentials."""
        return []

    def credential_for(
        self, estate: EstateView, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """Never a credential."""
        return None, [], "the broker issues no credentials"

    def check(self, estate: EstateView, cred: Credential, agent: int, tick: int, session: int) -> str | None:
        """Generic checks only."""
        return refusal(estate, cred, agent, tick)

    def ticket_closed(self, estate: EstateView, agent: int, ticket: Ticket, tick: int) -> list[Change]:
        """Nothing to revoke."""
        return []

    def adopt(self, estate: EstateView, agent: int, ticket: Ticket | None, cred: Credential, session: int) -> Credential:
        """Standing modes keep no track of what an agent obtains by itself: it stays as it was issued."""
        return cred


class StandingBroker(NoBroker):
    """One static credential per agent, issued at the start and never expiring.

    An agent that ``acts_as`` a (shared) service account gets a credential representing it.
    """

    superuser = False

    def __init__(self) -> None:
        self.standing: dict[int, CredId] = {}

    def start(self, estate: EstateView, agents: list[int], tickets: Sequence[Ticket], tick: int) -> list[Change]:
        """Issue one standing credential per agent."""
        out: list[Change] = []
        for a in agents:
            cid = estate.new_cred_id()
            represents = estate.identities[a].acts_as
            cred = Credential(cid, CredentialKind.STATIC, a, a if represents is None else represents, None, tick,
                              superuser=self.superuser, chain=(estate.name(a),))
            self.standing[a] = cid
            out.append(CredChange(cid, None, cred))
        return out

    def credential_for(
        self, estate: EstateView, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """The agent's standing credential, if it is still usable."""
        cid = self.standing.get(agent)
        cred = estate.creds.get(cid) if cid is not None else None
        if cred is None:
            return None, [], "no standing credential"
        why = self.check(estate, cred, agent, tick, session)
        return (None, [], why) if why else (cred, [], "")


class UnrestrictedBroker(StandingBroker):
    """A standing static superuser credential per agent: it bypasses the agent's own grants (``allow_all``)."""

    superuser = True
