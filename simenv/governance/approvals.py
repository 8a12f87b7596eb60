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
from typing import Annotated

import numpy as np
from pydantic import Field

from simenv.governance.protocols import ApprovalOutcome
from simenv.governance.request import AccessRequest

NonNegative = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[int, Field(ge=1)]
Reviewers = Annotated[int, Field(ge=1, le=9)]
Names = Annotated[tuple[str, ...] | list[str], Field(min_length=1)]


class SimulatedApprovers:
    """The approval gate of a profile: seeded, stateful for one episode.

    Options (the ``approvals`` block of a profile):
        latency: mean ticks until a reviewer answers.
        accuracy: P(approve | legitimate).
        rubber_stamp: P(approve | illegitimate).
        fatigue: accuracy lost (and rubber-stamping gained) per recent request.
        window: ticks over which recent requests count.
        approvers / quorum: reviewers asked, and how many must approve.
        review_minutes: mean minutes of human review per reviewer.
        names: the reviewers' names (cycled).

    >>> from typing import Annotated

    import numpy as np
    from pydantic import Field
    >>> gate = SimulatedApprovers(np.random.default_rng(0), latency=2, accuracy=1.0, rubber_stamp=0.0)
    >>> out = gate.submit(None, True, tick=10)
    >>> out.granted, out.ready_at >= 11
    (True, True)
    """

    def __init__(self, rng: np.random.Generator, latency: NonNegative = 5.0, accuracy: Probability = 0.95,
                 rubber_stamp: Probability = 0.10, fatigue: Probability = 0.02, window: Positive = 60,
                 approvers: Reviewers = 1, quorum: Reviewers = 1, review_minutes: NonNegative = 4.0,
                 names: Names = ("owner",)) -> None:
        if quorum > approvers:
            raise ValueError(f"quorum {quorum} exceeds approvers {approvers}")
        self.latency, self.accuracy, self.rubber_stamp, self.fatigue = float(latency), accuracy, rubber_stamp, fatigue
        self.window, self.approvers, self.quorum = window, approvers, quorum
        self.review_minutes, self.names = float(review_minutes), tuple(names)
        self.rng = rng
        self.recent: deque[int] = deque()

    def submit(self, request: AccessRequest | None, legitimate: bool, tick: int) -> ApprovalOutcome:
        """Decide one request now; the answer arrives at ``ready_at``."""
        while self.recent and self.recent[0] <= tick - self.window:
            self.recent.popleft()
        load = len(self.recent)
        self.recent.append(tick)
        drift = self.fatigue * load
        p = max(0.0, self.accuracy - drift) if legitimate else min(1.0, self.rubber_stamp + drift)
        n = self.approvers
        votes = self.rng.random(n) < p
        waits = np.maximum(1, self.rng.poisson(self.latency, n))
        minutes = self.rng.exponential(self.review_minutes, n) if self.review_minutes > 0 else np.zeros(n)
        granted = int(votes.sum()) >= self.quorum
        names = [self.names[k % len(self.names)] + (f"#{k}" if n > len(self.names) else "") for k in range(n)]
        reason = "" if granted else f"{int(votes.sum())} of {n} approved; quorum is {self.quorum}"
        return ApprovalOutcome(granted, tick + int(waits.max()), round(float(minutes.sum()), 3), tuple(names), reason)
