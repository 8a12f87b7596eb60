"""Scheduled events of a scenario (``events:`` in the file), and what each does to the episode.

The kinds and their parameters are in :mod:`simenv.scenario.events` (the loader checks them).
A lifecycle event (owner offboarded, identity disabled or enabled) changes the world through
:meth:`EpisodeState.apply`, as the directory's own administrators would.
"""

from __future__ import annotations

from typing import Any

from simenv.scenario.schema import EventSpec
from simenv.sim import incidents
from simenv.sim.records import EventRecord
from simenv.sim.state import EpisodeState
from simenv.world.changes import StatusChange

LIFECYCLE = {"owner_offboarded": ("offboarded", True), "identity_disabled": ("disabled", True),
             "identity_enabled": ("disabled", False)}


def run_event(ep: EpisodeState, ev: EventSpec) -> EventRecord:
    """Carry out one scheduled event and record it."""
    st = ep.by_name.get(ev.agent) if ev.agent else None
    result: dict[str, Any] = {}
    if ev.kind == "session_end" and st is not None:
        st.session += 1
    elif ev.kind == "steal_credential" and st is not None:
        result["stolen"] = incidents.steal(ep, st, str(ev.params["attacker"]), str(ev.params.get("which", "newest")))
    elif ev.kind == "rollback":
        done = incidents.rollback(ep, str(ev.params.get("scope", "suspicious")), int(ev.params.get("since", 0)))
        result.update(undone=done.undone, not_undone=done.not_undone, changes=done.changes)
    elif ev.kind in LIFECYCLE:
        status, present = LIFECYCLE[ev.kind]
        who = ep.world.ident_index[str(ev.params["identity"])]
        if (who in ep.world.status[status]) != present:
            ep.apply([StatusChange(who, status, present)], f"event.{ev.kind}")
            result["changed"] = True
    return ep.audit.append(EventRecord(tick=ep.tick, event=ev.kind, agent=ev.agent, params=dict(ev.params),
                                       result=result))
