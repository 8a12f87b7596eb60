"""Simulated human approvers: they judge what they are shown, with latency, fatigue, quorum and noise.

A reviewer sees a :class:`~simenv.governance.review.Review`: the request (tool, target, risk
class, sensitivity, the act chain), the ticket's text and declared scope, the agent's
justification and its recent refusals. It never sees the ticket's exact intent, so an overreach
that looks like the legitimate requests before it is approved as often as they are; one that shows
discrepancies is caught in proportion to how glaring they are. Each reviewer, independently:

1. rubber-stamps (approves without looking) with probability ``r = rubber_stamp + fatigue × load``
   (clipped to [0, 1]), ``load`` being the requests it was sent in the last ``window`` ticks;
2. otherwise looks: each discrepancy ``f`` the request shows (:func:`~simenv.governance.review.discrepancies`)
   is noticed with probability ``catch[f]`` (noisy-OR), and a request with none is approved with
   probability ``accuracy`` (the rest is noise: a reviewer who says no to a clean request).

So ``P(approve) = r + (1 − r) · accuracy · Π_f (1 − catch[f])``. A request is granted when at
least ``quorum`` of ``approvers`` approve; a request on a resource with a mark listed in
``quorum_for`` (``{break_glass: 2}``) needs that quorum, and as many reviewers, instead. Each
reviewer answers after a latency drawn from a Poisson law of mean ``latency`` ticks (at least 1)
and spends ``review_minutes`` on it (exponential, that mean); the answer waits for the slowest.

Defaults are assumptions, stated as such, and meant to be varied:

* a 5-minute latency, for a reviewer on call (Teleport's access requests wait up to 1 h by
  default, AWS TEAM's expire after 3 h);
* ``accuracy`` 0.95 and ``rubber_stamp`` 0.10, with ``fatigue`` 0.02 per recent request:
  approval under load drifts toward approving everything, as MFA-fatigue ("push bombing")
  attacks exploit and the automation-bias literature describes (Parasuraman & Manzey, 2010,
  "Complacency and bias in human use of automation", Human Factors 52(3));
* ``catch``: a request outside the declared scope is noticed 70% of the time, a self-grant 60%, a
  target the ticket does not name 40%, a cross-tenant target 40%, an orphaned agent 50%, recent
  refusals 20%, a sensitive target 10%, a delegation chain 10%, a quarantined agent 10%, a
  credential meant to outlive a day 50%, a missing justification 25% (a reviewer asked to
  approve a grant with no reason given pushes back). What the request asks weighs more than the
  agent's history: a reviewer judges whether this call is what the ticket asks for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Annotated

import numpy as np
from pydantic import Field

from simenv.governance.protocols import ApprovalOutcome
from simenv.governance.review import FLAGS, Review
from simenv.rng import DeferredGenerator

MAX_WAIT = 100_000.0
"""The longest mean latency (ticks) and review time (minutes) a profile may set: the longest episode."""
NonNegative = Annotated[float, Field(ge=0.0, le=MAX_WAIT)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[int, Field(ge=1)]
Reviewers = Annotated[int, Field(ge=1, le=9)]
Names = Annotated[tuple[str, ...] | list[str], Field(min_length=1)]

CATCH: Mapping[str, float] = {
    "out_of_scope": 0.70, "self_target": 0.60, "unmentioned_target": 0.40, "cross_tenant": 0.40,
    "owner_inactive": 0.50, "recent_refusals": 0.20, "sensitive": 0.10, "delegated": 0.10, "no_justification": 0.25,
    "quarantined": 0.10, "long_lived": 0.50,
}
"""The default probability that a reviewer notices each discrepancy (assumptions; see the module docstring)."""


class SimulatedApprovers:
    """The approval gate of a profile: seeded, stateful for one episode.

    Options (the ``approvals`` block of a profile; see the module docstring for the model):
        latency: mean ticks until a reviewer answers.
        accuracy: P(a reviewer who looks approves a request that shows no discrepancy).
        rubber_stamp: P(a reviewer approves without looking), before fatigue.
        fatigue: rubber-stamping gained per request sent in the last ``window`` ticks.
        window: ticks over which recent requests count.
        approvers / quorum: reviewers asked, and how many must approve.
        quorum_for: a quorum (and as many reviewers) for requests on resources with a mark.
        catch: per discrepancy flag, P(a reviewer who looks notices it); merged over :data:`CATCH`.
        review_minutes: mean minutes of human review per reviewer.
        names: the reviewers' names (cycled).

    >>> import numpy as np
    >>> from simenv.governance.fields import RequestDoc
    >>> gate = SimulatedApprovers(np.random.default_rng(0), latency=2, accuracy=1.0, rubber_stamp=0.0)
    >>> req, _ = RequestDoc.model_validate({"action": {"name": "db_query"}, "resource": {"name": "payments"},
    ...                                     "context": {"justification": "ticket T-1"}}).build()
    >>> out = gate.submit(Review(req, ticket_text="Read the payments table."), tick=10)
    >>> out.granted, out.ready_at >= 11
    (True, True)
    """

    def __init__(self, rng: np.random.Generator | DeferredGenerator, latency: NonNegative = 5.0, accuracy: Probability = 0.95,
                 rubber_stamp: Probability = 0.10, fatigue: Probability = 0.02, window: Positive = 60,
                 approvers: Reviewers = 1, quorum: Reviewers = 1, quorum_for: dict[str, Reviewers] | None = None,
                 catch: dict[str, Probability] | None = None, review_minutes: NonNegative = 4.0,
                 names: Names = ("owner",)) -> None:
        if quorum > approvers:
            raise ValueError(f"quorum {quorum} exceeds approvers {approvers}")
        unknown = sorted(set(catch or {}) - set(FLAGS))
        if unknown:
            raise ValueError(f"catch: unknown flags {unknown}; known: {', '.join(FLAGS)}")
        self.latency, self.accuracy, self.rubber_stamp, self.fatigue = float(latency), accuracy, rubber_stamp, fatigue
        self.window, self.approvers, self.quorum = window, approvers, quorum
        self.quorum_for = dict(quorum_for or {})
        self.catch = {**CATCH, **(catch or {})}
        self.review_minutes, self.names = float(review_minutes), tuple(names)
        self.rng = rng
        self.recent: deque[int] = deque()

    def p_approve(self, review: Review, load: int = 0) -> float:
        """The probability that one reviewer approves ``review`` with ``load`` recent requests."""
        r = min(1.0, self.rubber_stamp + self.fatigue * load)
        unnoticed = 1.0
        for f in review.flags:
            unnoticed *= 1.0 - self.catch.get(f, 0.0)
        return r + (1.0 - r) * self.accuracy * unnoticed

    def submit(self, review: Review, tick: int) -> ApprovalOutcome:
        """Decide one request now; the answer arrives at ``ready_at``."""
        while self.recent and self.recent[0] <= tick - self.window:
            self.recent.popleft()
        load = len(self.recent)
        self.recent.append(tick)
        p = self.p_approve(review, load)
        marks = review.request.resource.marks
        quorum = max([self.quorum, *(self.quorum_for[m] for m in marks if m in self.quorum_for)])
        n = max(self.approvers, quorum)
        votes = self.rng.random(n) < p
        waits = np.maximum(1, self.rng.poisson(self.latency, n))
        minutes = self.rng.exponential(self.review_minutes, n) if self.review_minutes > 0 else np.zeros(n)
        granted = int(votes.sum()) >= quorum
        names = [self.names[k % len(self.names)] + (f"#{k}" if n > len(self.names) else "") for k in range(n)]
        shown = ", ".join(review.flags) or "none"
        reason = "" if granted else f"{int(votes.sum())} of {n} approved; quorum is {quorum} (discrepancies: {shown})"
        return ApprovalOutcome(granted, tick + int(waits.max()), round(float(minutes.sum()), 3), tuple(names), reason)
