"""Exposure over time, recomputed from an episode's audit credential records.

:func:`simenv.metrics.exposure` is the sum over ticks of what this module returns per tick:
at tick ``t``, for each agent, the weighted union of what its live credentials reach, summed
over agents. The series runs to the header's ``exposure_horizon``: credentials still live when
the episode ends are charged until they expire or the horizon comes.
"""

from __future__ import annotations

import numpy as np

from simenv.metrics import exposure_series as pieces
from simenv.sim.audit import Audit


def exposure_series(audit: Audit, horizon: int | None = None) -> np.ndarray:
    """Per-tick exposure, ticks ``0 .. exposure_horizon - 1``; its sum equals ``metrics.exposure(audit)``.

    ``horizon`` cuts the series there instead, for a log that has no end record (the viewer shows
    what such a log recorded; see :func:`simenv.metrics.credential_spans`).

    >>> from simenv.api import run_episode
    >>> from simenv.metrics import exposure
    >>> a = run_episode("scope_creep", "static_rbac", seed=0).audit
    >>> bool(abs(exposure_series(a).sum() - exposure(a)) < 1e-6)
    True
    """
    parts = pieces(audit, horizon)
    end = max([audit.header.exposure_horizon if horizon is None else horizon, *(b for _, b, _ in parts)])
    series = np.zeros(max(end, 0), dtype=float)
    for a, b, held in parts:
        series[a:b] += held
    return series
