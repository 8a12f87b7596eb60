"""Exposure over time, recomputed from an episode's audit credential records.

:func:`simenv.metrics.exposure` is the sum over ticks of what this module returns per tick:
at tick ``t``, the potential blast radius (``reach``) of every credential an agent holds
that is live at ``t`` (issued, and not yet revoked, expired or dropped).
"""

from __future__ import annotations

import numpy as np

from simenv.metrics import cred_timeline, ticks
from simenv.sim.audit import Audit


def exposure_series(audit: Audit) -> np.ndarray:
    """Per-tick exposure, ticks ``0 .. end-1``; its sum equals ``metrics.exposure(audit)``.

    >>> from simenv.api import run_episode
    >>> from simenv.metrics import exposure
    >>> a = run_episode("scope_creep", "static_rbac", seed=0).audit
    >>> bool(abs(exposure_series(a).sum() - exposure(a)) < 1e-6)
    True
    """
    end = ticks(audit)
    series = np.zeros(max(end, 0), dtype=float)
    for pts in cred_timeline(audit).values():
        for (t0, reach), (t1, _) in zip(pts, [*pts[1:], (end, 0.0)], strict=True):
            lo, hi = max(0, t0), min(t1, end)
            if hi > lo:
                series[lo:hi] += reach
    return series
