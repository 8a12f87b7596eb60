"""Credential brokers: which credential backs a call.

Modes (a profile's ``credentials.mode``):

* ``none``: no credential is ever issued (every call is refused at the broker).
* ``unrestricted``: a standing static superuser credential (the ``allow_all`` baseline).
* ``standing_broad``: a standing static credential carrying the agent's full standing grants.

``standing_least``, ``jit`` and ``session_bound`` live in :mod:`simenv.governance.brokers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simenv.types import CredentialKind
from simenv.world.changes import Change, CredChange
from simenv.world.model import Credential, Ticket
from simenv.world.state import World
from simenv.world.tools import ToolSpec


def refusal(world: World, cred: Credential, agent: int, tick: int) -> str | None:
    """The broker-independent reasons a presented credential is refused."""
    if cred.holder != agent:
        return f"{cred.id} is not held by {world.identities[agent].name}"
    if cred.revoked:
        return f"{cred.id} is revoked"
    if cred.expires_at is not None and tick >= cred.expires_at:
        return f"{cred.id} expired at tick {cred.expires_at}"
    return None


class NoBroker:
    """Issues nothing."""

    def start(self, world: World, agents: list[int], tickets: list[Ticket], tick: int) -> list[Change]:
        """No standing credentials."""
        return []

    def credential_for(
        self, world: World, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """Never a credential."""
        return None, [], "the broker issues no credentials"

    def check(self, world: World, cred: Credential, agent: int, tick: int, session: int) -> str | None:
        """Generic checks only."""
        return refusal(world, cred, agent, tick)

    def ticket_closed(self, world: World, agent: int, ticket: Ticket, tick: int) -> list[Change]:
        """Nothing to revoke."""
        return []


class StandingBroker(NoBroker):
    """One static credential per agent, issued at the start and never expiring.

    An agent that ``acts_as`` a (shared) service account gets a credential representing it.

    Args:
        superuser: the credential bypasses the agent's own grants (``unrestricted``).
    """

    def __init__(self, superuser: bool = False):
        self.superuser = superuser
        self.standing: dict[int, str] = {}

    def start(self, world: World, agents: list[int], tickets: list[Ticket], tick: int) -> list[Change]:
        """Issue one standing credential per agent."""
        out: list[Change] = []
        for a in agents:
            cid = world.new_cred_id()
            represents = world.identities[a].acts_as
            cred = Credential(cid, CredentialKind.STATIC, a, a if represents is None else represents, None, tick,
                              superuser=self.superuser, chain=(world.identities[a].name,))
            self.standing[a] = cid
            out.append(CredChange(cid, None, cred))
        return out

    def credential_for(
        self, world: World, agent: int, ticket: Ticket | None, spec: ToolSpec, tick: int, session: int
    ) -> tuple[Credential | None, list[Change], str]:
        """The agent's standing credential, if it is still usable."""
        cid = self.standing.get(agent)
        cred = world.creds.get(cid) if cid else None
        if cred is None:
            return None, [], "no standing credential"
        why = self.check(world, cred, agent, tick, session)
        return (None, [], why) if why else (cred, [], "")


def _provisioned(mode: str) -> Callable[[dict[str, Any]], Any]:
    def make(opts: dict[str, Any]) -> Any:
        from simenv.governance import brokers

        if mode == "standing_least":
            return brokers.StandingLeastBroker()
        depth = opts.get("max_chain_depth")
        return brokers.JitBroker(ttl=int(opts.get("ttl", 30)), session_bound=mode == "session_bound",
                                 intersect_chain=bool(opts.get("intersect_chain", False)),
                                 max_chain_depth=None if depth is None else int(depth))

    return make


BROKERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "none": lambda opts: NoBroker(),
    "unrestricted": lambda opts: StandingBroker(superuser=True),
    "standing_broad": lambda opts: StandingBroker(),
    "standing_least": _provisioned("standing_least"),
    "jit": _provisioned("jit"),
    "session_bound": _provisioned("session_bound"),
}
