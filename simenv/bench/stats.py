"""Statistics over episode rows, after Agarwal et al. (2021), the method of rliable.

Reference: Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical
Precipice", NeurIPS 2021.

* Point estimates: the mean and the interquartile mean (IQM: the mean of the middle 50%,
  ``scipy.stats.trim_mean(x, 0.25)``).
* Intervals: percentile bootstrap 95% CIs, *stratified*: runs are resampled within each
  stratum (scenario) and the statistic is taken over the pooled resample
  (``scipy.stats.bootstrap`` with one sample per stratum, computed here in numpy to scipy's floats:
  :func:`bootstrap`). For one scenario × profile cell there is one stratum, the seeds.
* Comparisons between profiles A and B: the paired same-seed difference ``mean(A_s − B_s)``
  with its bootstrap CI, and the probability of improvement ``P(A better than B)``: within
  each scenario, the Mann–Whitney probability that a run of A beats a run of B (ties count
  half), averaged over scenarios.

Scores may be ``None`` (undefined rates), booleans or numbers; ``None`` becomes NaN and is
skipped. The ``fingerprint`` is not a number and is never aggregated. Resampling uses a
fixed-seed :class:`numpy.random.Generator`, so every figure is reproducible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from simenv.bench.tasks import KEY

# +1: higher is worse; -1: lower is worse. Scores not listed have no better or worse.
DIRECTIONS: dict[str, int] = {
    "blast_radius": 1, "potential_blast_radius": 1, "exposure": 1, "residual_exposure": 1, "scope_violation_rate": 1,
    "friction_rate": 1, "false_denials": 1, "violations_executed": 1, "approval_wait_ticks": 1, "task_success": -1,
    "completion_under_policy": -1, "error_rate": 1,
}
COMPARED = ("blast_radius", "potential_blast_radius", "exposure", "scope_violation_rate", "friction_rate", "task_success",
            "completion_under_policy")
NOT_SCORES = {*KEY, "error", "wall_s", "fingerprint"}
ALL = "*"
SEED = 20210827
RESAMPLES = 2000
CONFIDENCE = 0.95


def as_float(values: Any) -> np.ndarray:
    """Scores → float array: booleans are 0/1; ``None``, NA and non-numbers are NaN.

    >>> as_float([True, None, 2, 0.5]).tolist()
    [1.0, nan, 2.0, 0.5]
    """
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":  # a numpy column of numbers: the same floats at once
        return np.asarray(values, dtype=float)
    out = []
    for v in values:
        try:
            out.append(float(v) if v is not None else np.nan)
        except (TypeError, ValueError):
            out.append(np.nan)
    return np.asarray(out, dtype=float)


def score_columns(df) -> list[str]:
    """The numeric score columns of an episodes frame, plus ``error_rate``."""
    cols = [c for c in df.columns if c not in NOT_SCORES and c != "error_rate"]
    return [*cols, "error_rate"]


def with_error_rate(df):
    """A copy of ``df`` with ``error_rate`` = 1.0 on rows that carry an error, else 0.0."""
    out = df.copy()
    err = out["error"] if "error" in out.columns else [None] * len(out)
    out["error_rate"] = [0.0 if e is None or (isinstance(e, float) and np.isnan(e)) else 1.0 for e in err]
    return out


def iqm(x: np.ndarray, axis: int = -1, overwrite: bool = False) -> np.ndarray:
    """Interquartile mean along ``axis``; ``overwrite``: a float array ``x`` may be partitioned in place.

    >>> float(iqm(np.array([0.0, 1, 2, 3, 100, 4, 5, 6])))
    3.5
    """
    a = np.asarray(x, dtype=float)
    if a.size == 0:
        return np.full(np.delete(a.shape, axis % a.ndim) if a.ndim > 1 else (), np.nan)[()]
    # scipy.stats.trim_mean(a, 0.25, axis), step for step (the same floats), without its per-call dispatch
    n = a.shape[axis]
    low = int(0.25 * n)
    if overwrite and a is x:  # np.partition is this on a copy: the same arrangement
        a.partition((low, n - low - 1), axis)
        part = a
    else:
        part = np.partition(a, (low, n - low - 1), axis)
    out = np.mean(np.take(part, np.arange(low, n - low), axis=axis), axis=axis)
    nan = np.isnan(part).any(axis=axis)  # NaN propagates, as scipy's default nan_policy does
    return np.where(nan, np.nan, out)[()] if np.any(nan) else out


def _mean_iqm(*strata: np.ndarray, axis: int = -1) -> np.ndarray:
    z = np.concatenate(strata, axis=axis)
    return np.stack([z.mean(axis=axis), iqm(z, axis=axis)])


MEMO_BYTES = 256 * 2 ** 20
"""The most a memo of draws holds (:func:`draws_of`): a summary or a comparison of a large frame stays bounded."""


class Draws:
    """The resampling indices of strata, and how often each resample drew each run of the pooled strata.

    ``indices`` holds each stratum's ``(n_resamples, length)`` array, drawn in turn from one generator; the counts
    are made once, when first asked for.
    """

    __slots__ = ("indices", "_drawn")

    def __init__(self, indices: list[np.ndarray]):
        self.indices = indices
        self._drawn: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """The memory the indices and the counts hold."""
        return sum(idx.nbytes for idx in self.indices) + (0 if self._drawn is None else self._drawn.nbytes)

    def drawn(self) -> np.ndarray:
        """``(n_resamples, total length)``: how many times each resample drew each run, as (whole) floats."""
        if self._drawn is None:
            b, total = len(self.indices[0]), sum(idx.shape[1] for idx in self.indices)
            # each row sums to the draws of a resample: float32 holds every count, and every sum of them, exactly
            drawn = np.empty((b, total), np.float32 if total < 2 ** 24 else float)
            start = 0
            for idx in self.indices:
                n = idx.shape[1]
                drawn[:, start:start + n] = np.bincount((idx + np.arange(b)[:, None] * n).ravel(),
                                                        minlength=b * n).reshape(b, n)
                start += n
            self._drawn = drawn
        return self._drawn


def draws_of(lengths: tuple[int, ...], n_resamples: int, seed: int, memo: dict[tuple[Any, ...], Draws] | None = None,
             ) -> Draws:
    """The :class:`Draws` of strata of these ``lengths`` with a generator of ``seed``.

    ``memo`` keeps them for the next score of the same strata (the draws depend on the lengths alone); it is
    emptied before it would hold more than :data:`MEMO_BYTES`.
    """
    key = (lengths, n_resamples, seed)
    got = None if memo is None else memo.get(key)
    if got is None:
        rng = np.random.default_rng(seed)
        got = Draws([rng.integers(0, n, (n_resamples, n)).astype(np.int32) for n in lengths])  # the same values
        if memo is not None:
            if sum(d.nbytes for d in memo.values()) + got.nbytes > MEMO_BYTES:
                memo.clear()
            memo[key] = got
    return got


def _counted(data: Sequence[np.ndarray], draws: Draws) -> tuple[np.ndarray, np.ndarray, int] | None:
    """``(counts, whole, bits)`` of the pooled resamples ``data[i][draws.indices[i]]``, or ``None``.

    ``counts``: how often each resample drew each distinct value; ``whole``: those values as whole numbers of
    ``2**-bits``. ``None`` unless the data are such numbers whose sums a float holds exactly
    (:func:`_fraction_bits`: counts, rates of 0, 1/2, 1/4...).

    The counts are one product of the draws (shared by every score of the same strata) with each run's value: a
    count of whole numbers below 2**24, exact in float32.
    """
    z = np.concatenate(data)
    bits = _fraction_bits(z)
    if bits is None or np.signbit(z[z == 0]).any():  # -0.0 is a mean of its own
        return None
    values, codes = np.unique(z, return_inverse=True)
    which = np.zeros((len(z), len(values)), dtype=draws.drawn().dtype)
    which[np.arange(len(z)), codes] = 1.0
    whole = np.ldexp(values, bits).astype(np.int64)  # exact: each value is a whole number of 2**-bits
    return (draws.drawn() @ which).astype(np.int64), whole, bits


def _mean_iqm_of_draws(data: Sequence[np.ndarray], draws: Draws) -> np.ndarray | None:
    """``_mean_iqm`` of the pooled resamples ``data[i][draws.indices[i]]``, counted rather than sorted, or ``None``.

    ``None`` when :func:`_counted` cannot count them.

    A resample of whole numbers of ``2**-bits`` is told by how often it drew each distinct value: its sum, and the
    sum of its middle half (the ranks ``iqm`` keeps), are exact, and exact in float too in whatever order numpy
    would add them, so each mean is the same float ``_mean_iqm`` gives (the sum divided by the count). This
    replaces a partition of every resample, the larger part of a summary's time.
    """
    got = _counted(data, draws)
    if got is None:
        return None
    counts, whole, bits = got
    n = sum(len(s) for s in data)
    low = int(0.25 * n)  # as iqm() trims
    above = np.cumsum(counts, axis=1)  # the ranks below the end of each value's run
    middle = np.clip(np.minimum(above, n - low) - np.maximum(above - counts, low), 0, None)
    return np.stack([np.ldexp((counts @ whole).astype(float), -bits) / n,
                     np.ldexp((middle @ whole).astype(float), -bits) / (n - 2 * low)])


def _mean_of_draws(data: Sequence[np.ndarray], draws: Draws) -> np.ndarray | None:
    """``_mean_diff`` (the pooled mean) of the resamples, counted as :func:`_mean_iqm_of_draws` counts (or ``None``)."""
    got = _counted(data, draws)
    if got is None:
        return None
    counts, whole, bits = got
    return np.ldexp((counts @ whole).astype(float), -bits) / sum(len(s) for s in data)


def _fraction_bits(z: np.ndarray, most: int = 16) -> int | None:
    """The fewest binary places (up to ``most``) that write every value of ``z`` exactly, or ``None``.

    Also ``None`` unless every sum of ``len(z)`` of the values is exact in float (a whole number of ``2**-bits``
    below ``2**53`` of them).

    >>> _fraction_bits(np.array([0.0, 0.5, 3.0])), _fraction_bits(np.array([1 / 3])), _fraction_bits(np.array([7.0]))
    (1, None, 0)
    """
    if not np.isfinite(z).all():
        return None
    top = float(np.abs(z).max()) * len(z)
    for bits in range(most + 1):
        w = np.ldexp(z, bits)
        if top * 2.0 ** bits >= 2.0 ** 53:
            return None
        if (w == np.trunc(w)).all():
            return bits
    return None


def bootstrap(strata: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], *,
              n_resamples: int = RESAMPLES, seed: int = SEED,
              memo: dict[tuple[Any, ...], Draws] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(point, low, high)`` of a vectorized ``statistic(*strata, axis)`` with a stratified percentile 95% CI.

    Empty strata are dropped; a stratum of one value is its own (constant) resample. With no
    data the result is NaN; with a single value, the CI is that value.

    The interval is ``scipy.stats.bootstrap(strata, statistic, method="percentile", vectorized=True,
    rng=np.random.default_rng(seed), axis=-1)``'s, float for float (tested against scipy): the same draws, each
    stratum's indices in turn from one generator, and the same quantiles (:func:`percentile_interval`). Without
    scipy's argument handling the main job's comparisons take 1.7-2.0 s of CPU instead of 2.6-3.7, and a sweep's
    workers, which summarize profiles, no longer import scipy (0.66 s of CPU each). ``memo`` (see :func:`draws_of`)
    shares the draws between calls on strata of the same lengths; ``_mean_iqm`` of whole-number scores is counted
    (:func:`_mean_iqm_of_draws`), to the same floats.
    """
    strata = [np.asarray(s, dtype=float) for s in strata if len(s)]
    if not strata:
        nan = np.full(np.shape(statistic(np.zeros(2), axis=-1)), np.nan)
        return nan, nan, nan
    point = np.asarray(statistic(*strata, axis=-1), dtype=float)
    if sum(len(s) for s in strata) < 2 or all(np.all(s == s[0]) for s in strata):
        return point, point.copy(), point.copy()
    data = [s if len(s) > 1 else np.repeat(s, 2) for s in strata]
    draws = draws_of(tuple(len(s) for s in data), n_resamples, seed, memo)
    if statistic is _mean_iqm:
        theta = _mean_iqm_of_draws(data, draws)
        if theta is None:  # the pooled resamples, gathered side by side (the array _mean_iqm would concatenate)
            pooled = np.empty((n_resamples, sum(len(s) for s in data)))
            start = 0
            for s, idx in zip(data, draws.indices, strict=True):
                np.take(s, idx, out=pooled[:, start:start + len(s)])
                start += len(s)
            theta = np.stack([pooled.mean(axis=-1), iqm(pooled, overwrite=True)])  # _mean_iqm, without a copy
    else:
        theta = _mean_of_draws(data, draws) if statistic is _mean_diff else None
        if theta is None:
            theta = np.asarray(statistic(*[s[idx] for s, idx in zip(data, draws.indices, strict=True)], axis=-1),
                               dtype=float)
    lo, hi = percentile_interval(theta)
    return point, np.minimum(lo, point), np.maximum(hi, point)


def percentile_interval(theta: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """The central ``confidence`` interval of bootstrap statistics ``theta`` along their last axis.

    ``scipy.stats.quantile(theta, [a, 1 - a], axis=-1)`` with ``a = (1 - confidence) / 2``, in scipy's own
    arithmetic for its default method (linear, Hyndman and Fan's type 7), so the floats are scipy's; a row with
    a NaN gives NaN, as scipy's ``nan_policy="propagate"`` does.
    """
    y = np.sort(theta, axis=-1)  # NaN sorts last
    n = y.shape[-1]
    alpha = (1 - confidence) / 2
    p = np.array([alpha, 1 - alpha])
    jg = p * n + (1 - p)
    jp1 = jg // 1
    g = jg % 1
    lo_i, hi_i = (np.clip(j, 0.0, n - 1).astype(np.int64) for j in (jp1 - 1, jp1))
    out = (1 - g) * y[..., lo_i] + g * y[..., hi_i]
    out = np.where(np.isnan(y[..., -1:]), np.nan, out)
    return out[..., 0], out[..., 1]


def _defined(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def summarize(df, *, n_resamples: int = RESAMPLES, seed: int = SEED, executor: Executor | None = None,
              started: Mapping[tuple[str, str], Future | None] | None = None):
    """Per (scenario, policy, agent, score): n, mean, IQM and their 95% CIs.

    Rows with ``scenario == "*"`` aggregate a profile over every scenario, stratified by
    scenario. ``n`` counts the defined (non-NaN) values.

    With ``executor``, each (policy, agent) is summarized by a worker; ``started`` holds the
    :func:`summarize_profile` futures a sweep submitted as each profile's last episode came in.
    Either way the figures are the same (every bootstrap draws from its own seeded generator): a
    part is used only if it was computed on exactly this frame's rows of its profile, and a
    part whose worker failed is computed here.
    """
    import pandas as pd

    profiles = list(df.groupby(["policy", "agent"], sort=False))
    started = started or {}
    futures: dict[tuple[str, str], Future | None] = {}
    for key, g in profiles:
        if key in started:
            futures[key] = started[key]
        elif executor is not None and len(profiles) > 1:
            futures[key] = try_submit(executor, summarize_profile, g, n_resamples, seed)
        else:
            futures[key] = None
    parts = []
    for key, g in profiles:
        here = lambda g=g: summarize_profile(g, n_resamples, seed)  # noqa: E731
        signature, rows = result_or(futures[key], here)
        if signature != _signature(g):  # summarized before the last rows of its profile were in: again
            signature, rows = here()
        parts.append(rows)
    frame = pd.DataFrame([r for part in parts for r in part],
                         columns=["scenario", "policy", "agent", "score", "n", "mean", "mean_lo", "mean_hi",
                                  "iqm", "iqm_lo", "iqm_hi"])
    rank = {s: i for i, s in enumerate([*dict.fromkeys(df["scenario"]), ALL])}
    frame["_s"] = frame["scenario"].map(rank)
    return frame.sort_values("_s", kind="stable").drop(columns="_s").reset_index(drop=True)


Signature = tuple[tuple[tuple[Any, ...], ...], tuple[str, ...]]
"""What a profile's summary was computed on: its rows' keys in order, and the score columns."""


def _signature(by_profile) -> Signature:
    return tuple(by_profile[list(KEY)].itertuples(index=False, name=None)), tuple(score_columns(by_profile))


def summarize_profile(by_profile, n_resamples: int = RESAMPLES, seed: int = SEED,
                      scores: Sequence[str] | None = None) -> tuple[Signature, list[dict]]:
    """The :func:`summarize` rows of one (policy, agent)'s episodes, with the :data:`Signature` of that frame.

    ``scores``: only the rows of these score columns (default: every one), in this order.
    """
    g = with_error_rate(by_profile)
    scores = score_columns(g) if scores is None else list(scores)
    policy, agent = g["policy"].iloc[0], g["agent"].iloc[0]
    groups = list(g.groupby("scenario", sort=False))
    out: list[dict[str, Any]] = []
    memo: dict[tuple[Any, ...], Draws] = {}  # the draws, shared by the scores (of the same strata)
    for score in scores:
        strata = {s: _defined(as_float(x[score])) for s, x in groups}
        cells = [(s, [v]) for s, v in strata.items()] + ([(ALL, list(strata.values()))] if len(groups) > 1 else [])
        for scenario, parts in cells:
            (m, q), (mlo, qlo), (mhi, qhi) = bootstrap(parts, _mean_iqm, n_resamples=n_resamples, seed=seed,
                                                         memo=memo)
            out.append({"scenario": scenario, "policy": policy, "agent": agent, "score": score,
                        "n": int(sum(len(p) for p in parts)), "mean": m, "mean_lo": mlo, "mean_hi": mhi,
                        "iqm": q, "iqm_lo": qlo, "iqm_hi": qhi})
    return _signature(by_profile), out


def submit_split(executor: Executor, by_profile, parts: int) -> Future | None:
    """:func:`summarize_profile` of one profile as ``parts`` tasks on ``executor`` (each a share of the scores).

    The joined future holds what one task would have returned: the rows in score order. ``None`` if the executor
    takes no more work; the future fails if a part does (the caller then computes the summary itself).
    """
    scores = score_columns(by_profile)
    shares = [scores[i::parts] for i in range(max(1, min(parts, len(scores))))]
    futures: list[Future] = []
    for share in shares:
        f = try_submit(executor, summarize_profile, by_profile, RESAMPLES, SEED, share)
        if f is None:
            for g in futures:
                g.cancel()
            return None
        futures.append(f)
    rank = {score: i for i, score in enumerate(scores)}
    joined: Future = Future()
    left = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future) -> None:
        with lock:
            left[0] -= 1
            if left[0]:
                return
        try:
            got = [f.result() for f in futures]
        except BaseException as e:  # noqa: BLE001 - a part failed (or was cancelled): so does the whole
            joined.set_exception(e)
            return
        rows = sorted((r for _, part in got for r in part), key=lambda r: rank[r["score"]])  # stable: cells in order
        joined.set_result((got[0][0], rows))

    for f in futures:
        f.add_done_callback(one_done)
    return joined


def try_submit(executor: Executor, fn: Callable[..., Any], *args: Any) -> Future | None:
    """``executor.submit(fn, *args)``, or ``None`` if the executor takes no more work (the caller does it then)."""
    try:
        return executor.submit(fn, *args)
    except Exception:  # noqa: BLE001 - a broken pool, a closed client: the parent does the work
        return None


def result_or(future: Future | None, fallback: Callable[[], Any]) -> Any:
    """The result of ``future``, or ``fallback()`` if there is none or its worker failed (the parent does it then)."""
    if future is None:
        return fallback()
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - a worker died or could not take the task: the parent does it
        return fallback()


def _mean_diff(*strata: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.concatenate(strata, axis=axis).mean(axis=axis)


def prob_improvement(better: Sequence[np.ndarray], worse: Sequence[np.ndarray], sign: int) -> float:
    """``P(X better than Y)`` averaged over strata (Mann–Whitney; ties count ½).

    ``better[i]``/``worse[i]`` are the runs of X and Y in stratum ``i``; ``sign`` is the
    score's direction (+1: higher is worse).

    >>> prob_improvement([np.array([0.0, 1.0])], [np.array([2.0, 2.0])], sign=1)
    1.0
    """
    probs = []
    for x, y in zip(better, worse, strict=True):
        if len(x) and len(y):
            dx = sign * (y[None, :] - x[:, None])  # > 0 where x is better than y
            probs.append(np.count_nonzero(dx > 0) / dx.size + 0.5 * (np.count_nonzero(dx == 0) / dx.size))  # np.mean's
    return float(np.mean(probs)) if probs else float("nan")


def compare(df, scores: Sequence[str] = COMPARED, *, n_resamples: int = 1000, seed: int = SEED):
    """Paired same-seed comparisons between every two profiles, both ways, per scenario and over all (``*``).

    Columns: scenario, agent, policy_a, policy_b, score, n_pairs, diff (mean of A − B over
    shared seeds where both are defined), diff_lo, diff_hi, p_improve (probability that A
    is better than B, by the score's direction). Each pair appears in both orders (B − A is the
    mirror of A − B), so a reader looks up ``policy_a`` = the profile in question.
    """
    import pandas as pd

    out: list[dict[str, Any]] = []
    ok = df[df["error"].isna()] if "error" in df.columns else df
    memo: dict[tuple[Any, ...], Draws] = {}  # the draws, shared by the cells of the same lengths
    for agent, by_agent in ok.groupby("agent", sort=False):
        policies = list(dict.fromkeys(by_agent["policy"]))
        scenarios = list(dict.fromkeys(by_agent["scenario"]))
        present = [score for score in scores if score in by_agent.columns]
        # seed -> value, per (scenario, policy) and score, read once (in the frame's row order)
        values: dict[tuple[str, str], dict[str, dict[Any, float]]] = {}
        for (s, p), cell in by_agent.groupby(["scenario", "policy"], sort=False):
            values[(s, p)] = {score: dict(zip(cell["seed"], as_float(cell[score]).tolist(), strict=True))
                              for score in present}
        for i, a in enumerate(policies):
            for b in policies[i + 1:]:
                for score in present:
                    sign = DIRECTIONS.get(score, 1)
                    diffs, xs, ys = {}, {}, {}
                    for s in scenarios:
                        va = values.get((s, a), {}).get(score, {})
                        vb = values.get((s, b), {}).get(score, {})
                        shared = [k for k in va if k in vb and va[k] == va[k] and vb[k] == vb[k]]  # neither NaN
                        diffs[s] = np.array([va[k] - vb[k] for k in shared])
                        xs[s], ys[s] = _defined(np.array(list(va.values()))), _defined(np.array(list(vb.values())))
                    cells = [(s, [s]) for s in scenarios] + ([(ALL, scenarios)] if len(scenarios) > 1 else [])
                    for name, members in cells:
                        d, lo, hi = bootstrap([diffs[s] for s in members], _mean_diff, n_resamples=n_resamples,
                                              seed=seed, memo=memo)
                        p = prob_improvement([xs[s] for s in members], [ys[s] for s in members], sign)
                        n = int(sum(len(diffs[s]) for s in members))
                        out.append({"scenario": name, "agent": agent, "policy_a": a, "policy_b": b, "score": score,
                                    "n_pairs": n, "diff": float(d), "diff_lo": float(lo), "diff_hi": float(hi),
                                    "p_improve": p})
                        out.append({"scenario": name, "agent": agent, "policy_a": b, "policy_b": a, "score": score,
                                    "n_pairs": n, "diff": -float(d), "diff_lo": -float(hi), "diff_hi": -float(lo),
                                    "p_improve": 1.0 - p if p == p else p})
    return pd.DataFrame(out, columns=["scenario", "agent", "policy_a", "policy_b", "score", "n_pairs", "diff",
                                      "diff_lo", "diff_hi", "p_improve"])
