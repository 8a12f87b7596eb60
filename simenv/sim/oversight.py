"""Oversight: what a monitor's response does to an agent (revoke its credentials, halt it).

Works on the episode's :class:`~simenv.sim.state.EpisodeState` through its public methods.
"""

from __future__ import annotations

from simenv.governance.protocols import MonitorAction
from simenv.sim.records import MonitorRecord
from simenv.sim.state import EpisodeState
from simenv.types import cred_label
from simenv.world.changes import Change, CredChange


def revocations(ep: EpisodeState, agent: int) -> list[Change]:
    """The changes that revoke every live credential ``agent`` holds, in issue order."""
    return [CredChange(cid, c, c.revoke()) for cid, c in sorted(ep.world.creds.items())
            if c.holder == agent and c.live(ep.tick)]


def respond(ep: EpisodeState, act: MonitorAction) -> MonitorRecord | None:
    """Carry out a monitor's response: revoke the agent's live credentials, or halt it too."""
    st = ep.by_name.get(act.agent)
    if st is None:
        return None
    changes: list[Change] = revocations(ep, st.idx) if act.action in ("revoke", "halt") else []
    ep.apply(changes, f"monitor.{act.monitor}")
    until, release = None, None
    if act.action == "halt":
        st.halted = True  # a call still waiting for approval is settled by the mediator
    elif act.action == "revoke":
        if act.release == "approval":
            st.release_by_approval, release = True, "approval"
        elif act.quarantine:
            st.quarantined_until = until = max(st.quarantined_until, ep.tick + act.quarantine)
    return ep.audit.append(MonitorRecord(tick=ep.tick, monitor=act.monitor, action=act.action, agent=act.agent,
                                         reason=act.reason,
                                         revoked=[cred_label(c.cid) for c in changes if isinstance(c, CredChange)],
                                         quarantine_until=until, release=release))
