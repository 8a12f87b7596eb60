"""Monitors: rules over the audit stream that revoke credentials or halt an agent.

A monitor sees each settled call as a :class:`~simenv.governance.protocols.MonitorEvent`, which
carries no ground-truth label. Kinds:

* ``denials``: ``threshold`` refused calls (:data:`simenv.types.REFUSED`) by one agent within
  ``window`` ticks;
* ``out_of_scope``: ``threshold`` calls outside the ticket's declared scope within ``window``;
* ``invalid_calls``: ``threshold`` malformed calls within ``window``;
* ``high_risk``: ``threshold`` calls of the listed ``risks`` within ``window``;
* ``orphaned``: ``threshold`` calls by an agent whose owner has been offboarded (OWASP NHI1).

``action`` is ``revoke`` (every live credential the agent holds) or ``halt`` (revoke, then
stop the agent: the kill switch). A revoke quarantines the agent: no credential is issued to it
for ``quarantine`` ticks, or, with ``release: approval``, until an approver re-enables it on its
next call; otherwise the broker would issue an identical credential on the next call. A monitor
fires each time its threshold is reached again (its window starts afresh after it fires). Time
to revoke is scored by ``metrics.time_to_revoke``.
"""

from __future__ import annotations

from collections import deque
from typing import Annotated, Literal

from pydantic import Field

from simenv.governance.protocols import MonitorAction, MonitorEvent
from simenv.types import REFUSED, Outcome, RiskClass

Kind = Literal["denials", "out_of_scope", "invalid_calls", "high_risk", "orphaned"]
Action = Literal["revoke", "halt"]
Release = Literal["ticks", "approval"]
Positive = Annotated[int, Field(ge=1)]


def _hit(kind: str, risks: frozenset[str], ev: MonitorEvent) -> bool:
    if kind == "denials":
        return ev.effect in REFUSED
    if kind == "out_of_scope":
        return ev.kind == "call" and ev.in_scope is False
    if kind == "invalid_calls":
        return ev.effect is Outcome.INVALID
    if kind == "orphaned":
        return ev.kind == "call" and not ev.owner_active
    return ev.kind == "call" and ev.risk in risks


_RISKS = frozenset(str(r) for r in RiskClass)


class WindowMonitor:
    """Counts matching calls per agent over a sliding window of ticks; fires each time the threshold is reached.

    Options (one entry of a profile's ``monitors`` list):
        kind: ``denials``, ``out_of_scope``, ``invalid_calls`` or ``high_risk``.
        id: the monitor's name in the audit log (default: made from kind, threshold and window).
        threshold: matching calls within ``window`` ticks that trigger it.
        window: ticks.
        action: ``revoke`` or ``halt``.
        risks: the risk classes ``high_risk`` counts.
        quarantine: after a revoke, ticks during which no credential is issued to the agent.
        release: ``ticks`` (the quarantine ends by itself) or ``approval`` (only an approver
            re-enables the agent, when it next calls).
    """

    def __init__(self, kind: Kind, id: str = "", threshold: Positive = 1, window: Positive = 10, action: Action = "revoke",
                 risks: tuple[str, ...] | list[str] = ("privilege_grant", "key_export", "cross_domain"),
                 quarantine: Annotated[int, Field(ge=0)] = 10, release: Release = "ticks"):
        unknown = sorted(set(risks) - _RISKS)
        if unknown:
            raise ValueError(f"unknown risk classes {unknown}; known: {', '.join(map(str, RiskClass))}")
        self.kind, self.threshold, self.window, self.action = kind, threshold, window, action
        self.risks = frozenset(risks)
        self.quarantine, self.release = quarantine, release
        self.name = id or f"{kind}>={threshold}/{window}"
        self.hits: dict[str, deque[int]] = {}

    def observe(self, event: MonitorEvent) -> list[MonitorAction]:
        """Count the call; act when the threshold is reached inside the window."""
        agent = event.agent
        if not agent or not _hit(self.kind, self.risks, event):
            return []
        q = self.hits.setdefault(agent, deque())
        q.append(event.tick)
        while q and q[0] <= event.tick - self.window:
            q.popleft()
        if len(q) < self.threshold:
            return []
        why = f"{len(q)} {self.kind.replace('_', ' ')} within {self.window} ticks"
        q.clear()  # the next crossing of the threshold fires again
        return [MonitorAction(self.action, agent, self.name, why, self.quarantine, self.release)]
