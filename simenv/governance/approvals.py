"""Simulated human approvers: latency, accuracy, fatigue, quorum.

Each request goes to ``approvers`` reviewers; it is granted when at least ``quorum`` of them
approve. A reviewer approves a legitimate request with probability ``accuracy`` and
rubber-stamps an illegitimate one with probability ``rubber_stamp``. Fatigue: with ``load``
requests already submitted in the last ``window`` ticks, accuracy falls and rubber-stamping
rises by ``fatigue × load`` (clipped to [0, 1]). Each reviewer answers after a latency drawn
from a Poisson law of mean ``latency`` ticks (at least 1) and spends ``review_minutes`` on it
(exponential, that mean).

``legitimate`` stands for the reviewer's own knowledge of the ticket (the reviewer is a
human owner, not a policy); no policy ever sees it.

Defaults are assumptions, stated as such: a 5-minute latency (well under Teleport's 1 h
default request wait and AWS TEAM's 3 h expiry, for a reviewer on call), 95% accuracy, a 10%
rubber-stamp rate, and 4 minutes of review.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simenv.governance.protocols import ApprovalOutcome
from simenv.governance.request import AccessRequest


class ApprovalSpec(BaseModel):
    """The ``approvals`` block of a profile."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    latency: float = Field(default=5.0, ge=0.0, description="mean ticks until a reviewer answers")
    accuracy: float = Field(default=0.95, ge=0.0, le=1.0, description="P(approve | legitimate)")
    rubber_stamp: float = Field(default=0.10, ge=0.0, le=1.0, description="P(approve | illegitimate)")
    fatigue: float = Field(default=0.02, ge=0.0, le=1.0, description="accuracy lost per recent request")
    window: int = Field(default=60, ge=1, description="ticks over which recent requests count")
    approvers: int = Field(default=1, ge=1, le=9)
    quorum: int = Field(default=1, ge=1, le=9)
    review_minutes: float = Field(default=4.0, ge=0.0)
    names: list[str] = Field(default_factory=lambda: ["owner"])

    @model_validator(mode="after")
    def _quorum(self) -> ApprovalSpec:
        if self.quorum > self.approvers:
            raise ValueError(f"quorum {self.quorum} exceeds approvers {self.approvers}")
        return self


class SimulatedApprovers:
    """The approval gate of a profile: seeded, stateful for one episode.

    >>> from simenv.rng import Streams
    >>> gate = SimulatedApprovers(ApprovalSpec(latency=2, accuracy=1.0, rubber_stamp=0.0), Streams(0))
    >>> out = gate.submit(None, True, tick=10)
    >>> out.granted, out.ready_at >= 11
    (True, True)
    """

    def __init__(self, spec: ApprovalSpec | dict, streams) -> None:
        self.spec = spec if isinstance(spec, ApprovalSpec) else ApprovalSpec.model_validate(spec, strict=True)
        self.rng: np.random.Generator = streams.child("approvals")
        self.recent: deque[int] = deque()

    def submit(self, request: AccessRequest | None, legitimate: bool, tick: int) -> ApprovalOutcome:
        """Decide one request now; the answer arrives at ``ready_at``."""
        s = self.spec
        while self.recent and self.recent[0] <= tick - s.window:
            self.recent.popleft()
        load = len(self.recent)
        self.recent.append(tick)
        drift = s.fatigue * load
        p = max(0.0, s.accuracy - drift) if legitimate else min(1.0, s.rubber_stamp + drift)
        votes = self.rng.random(s.approvers) < p
        waits = np.maximum(1, self.rng.poisson(s.latency, s.approvers))
        minutes = self.rng.exponential(s.review_minutes, s.approvers) if s.review_minutes > 0 else np.zeros(s.approvers)
        granted = int(votes.sum()) >= s.quorum
        names = [s.names[k % len(s.names)] + (f"#{k}" if s.approvers > len(s.names) else "") for k in range(s.approvers)]
        reason = "" if granted else f"{int(votes.sum())} of {s.approvers} approved; quorum is {s.quorum}"
        return ApprovalOutcome(granted, tick + int(waits.max()), round(float(minutes.sum()), 3), tuple(names), reason)
