"""The kinds of scheduled event a scenario file may list (``events:``), with their parameters.

Every event has a ``tick``; the ``agent`` field names the agent it happens to, where the kind
takes one. :mod:`simenv.sim.events` carries them out; the loader checks them against this table.

==================  ========  ============================================================================
kind                agent     params
==================  ========  ============================================================================
session_end         required  (none). The agent's session ends; its next call comes from a new session,
                              so session-bound credentials it kept are refused.
steal_credential    required  ``attacker`` (an ``agents[]`` entry with role attacker); ``which``:
                              ``newest`` (default), ``broker`` (a credential the broker issued) or
                              ``stored`` (one the agent obtained itself). The attacker copies it and
                              replays it from then on.
rollback            none      ``scope``: ``suspicious`` (default: calls whose request showed a
                              discrepancy that says the ticket did not ask for it, see
                              :data:`simenv.governance.review.SUSPICIOUS`),
                              ``out_of_scope`` (calls outside the ticket's declared scope) or ``all``;
                              ``since``: a tick (default 0). Undoes those calls, newest first, each whole
                              or not at all.
owner_offboarded    none      ``identity``: a human. The person leaves; identities they own are orphaned
                              (``principal.owner_active`` is false in their requests) but keep working.
identity_disabled   none      ``identity``. The identity can no longer authenticate: calls backed by a
                              credential it holds or represents are refused by the system (``forbidden``).
identity_enabled    none      ``identity``. Undoes ``identity_disabled``.
==================  ========  ============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an event kind: its type, whether it is required, the values it may take."""

    type: type
    required: bool = False
    choices: tuple[str, ...] = ()
    identity: str | None = None  # the identity kind it must name ("human", "any"), if it names one


@dataclass(frozen=True, slots=True)
class EventKind:
    """What an event kind takes."""

    agent: str  # "required" | "none"
    params: dict[str, Param] = field(default_factory=dict)


EVENTS: dict[str, EventKind] = {
    "session_end": EventKind("required"),
    "steal_credential": EventKind("required", {"attacker": Param(str, True),
                                               "which": Param(str, False, ("newest", "broker", "stored"))}),
    "rollback": EventKind("none", {"scope": Param(str, False, ("suspicious", "out_of_scope", "all")),
                                   "since": Param(int)}),
    "owner_offboarded": EventKind("none", {"identity": Param(str, True, identity="human")}),
    "identity_disabled": EventKind("none", {"identity": Param(str, True, identity="any")}),
    "identity_enabled": EventKind("none", {"identity": Param(str, True, identity="any")}),
}
"""Every event kind, by name."""
