"""Scheduled events of a scenario (``events:`` in the file), and what each does to the episode.

Kinds (checked by the loader, :data:`simenv.scenario.loader.EVENT_KINDS`) and their parameters:

* ``session_end`` (``agent``): the agent's session ends; its next call comes from a new session,
  so session-bound credentials it kept are refused.
* ``steal_credential`` (``agent``; ``attacker``, ``which``: ``newest`` | ``broker`` | ``stored``):
  an outside attacker copies a credential the agent holds and replays it from now on.
* ``rollback`` (``scope``: ``out_of_intent`` | ``all``; ``since``: a tick): incident response
  undoes, newest first, the calls executed since ``since``.
"""

from __future__ import annotations

from typing import Any

from simenv.scenario.schema import EventSpec
from simenv.sim import incidents
from simenv.sim.records import EventRecord
from simenv.sim.state import EpisodeState


def run_event(ep: EpisodeState, ev: EventSpec) -> EventRecord:
    """Carry out one scheduled event and record it."""
    st = ep.by_name.get(ev.agent) if ev.agent else None
    result: dict[str, Any] = {}
    if ev.kind == "session_end" and st is not None:
        st.session += 1
    elif ev.kind == "steal_credential" and st is not None:
        result["stolen"] = incidents.steal(ep, st, str(ev.params["attacker"]), str(ev.params.get("which", "newest")))
    elif ev.kind == "rollback":
        done = incidents.rollback(ep, str(ev.params.get("scope", "out_of_intent")), int(ev.params.get("since", 0)))
        result.update(undone=done.undone, not_undone=done.not_undone, changes=done.changes)
    return ep.audit.append(EventRecord(tick=ep.tick, event=ev.kind, agent=ev.agent, params=dict(ev.params),
                                       result=result))
