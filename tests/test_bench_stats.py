"""Statistics: NaN-skipping, IQM, stratified bootstrap CIs, paired comparisons."""

import numpy as np
import pandas as pd
import pytest

from simenv.bench.stats import (
    _fraction_bits,
    _mean_diff,
    _mean_iqm,
    _mean_iqm_of_draws,
    _mean_of_draws,
    as_float,
    bootstrap,
    compare,
    draws_of,
    iqm,
    percentile_interval,
    prob_improvement,
    summarize,
)


def frame(values: dict[tuple[str, str], list], score="blast_radius"):
    rows = []
    for (scenario, policy), vals in values.items():
        for seed, v in enumerate(vals):
            rows.append({"scenario": scenario, "policy": policy, "seed": seed, "agent": "scripted", score: v,
                         "fingerprint": f"{scenario}{policy}{seed}", "error": None})
    return pd.DataFrame(rows)


def test_none_and_bools_become_nan_and_numbers():
    assert np.isnan(as_float([None])[0]) and as_float([True, False]).tolist() == [1.0, 0.0]


def test_a_numpy_column_becomes_the_floats_its_values_would():
    for column in (pd.Series([True, False]), pd.Series([3, -1], dtype="int64"), pd.Series([0.5, np.nan]),
                   pd.Series([1, None, "x"], dtype=object), pd.Series([1, None], dtype="Int64")):
        assert np.array_equal(as_float(column), as_float(list(column)), equal_nan=True), column.dtype


def test_iqm_ignores_the_tails():
    assert float(iqm(np.array([1.0, 2, 3, 4, 5, 6, 7, 1000]))) == 4.5


def test_bootstrap_is_reproducible_and_covers_the_mean():
    x = np.arange(20, dtype=float)

    def mean(*s, axis=-1):
        return np.concatenate(s, axis=axis).mean(axis=axis)

    a, b = bootstrap([x], mean), bootstrap([x], mean)
    assert a == b
    point, lo, hi = a
    assert lo < point == 9.5 < hi
    assert bootstrap([np.array([3.0, 3.0])], mean) == (3.0, 3.0, 3.0)


def test_summary_skips_undefined_rates_and_stratifies_over_scenarios():
    df = frame({("a", "p"): [1.0, None, 3.0], ("b", "p"): [10.0, 10.0, 10.0]}, score="scope_violation_rate")
    s = summarize(df, n_resamples=500)
    rows = s[s["score"] == "scope_violation_rate"].set_index("scenario")
    assert rows.loc["a", "n"] == 2 and rows.loc["a", "mean"] == 2.0
    assert rows.loc["*", "n"] == 5 and rows.loc["*", "mean"] == 34 / 5
    assert rows.loc["b", "mean_lo"] == rows.loc["b", "mean_hi"] == 10.0
    assert set(s[s["score"] == "error_rate"]["mean"]) == {0.0}


def test_probability_of_improvement_and_paired_difference():
    assert prob_improvement([np.array([1.0])], [np.array([1.0])], sign=1) == 0.5
    assert prob_improvement([np.array([0.0, 0.0])], [np.array([1.0, 2.0])], sign=-1) == 0.0
    df = frame({("a", "good"): [0.0, 1.0, 2.0, 3.0], ("a", "bad"): [5.0, 6.0, 7.0, 8.0]})
    c = compare(df, ["blast_radius"], n_resamples=500)
    row = c[(c["scenario"] == "a")].iloc[0]
    assert (row["policy_a"], row["policy_b"], row["n_pairs"]) == ("good", "bad", 4)
    assert row["diff"] == row["diff_lo"] == row["diff_hi"] == -5.0
    assert row["p_improve"] == 1.0
    mirror = c[(c["scenario"] == "a") & (c["policy_a"] == "bad")].iloc[0]  # both orders are written
    assert (mirror["policy_b"], mirror["diff"], mirror["p_improve"]) == ("good", 5.0, 0.0)


@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (8,), (41,), (30, 20), (3, 5, 41)])
def test_iqm_is_scipy_trim_mean_to_the_bit(shape):
    """The numpy IQM gives exactly scipy.stats.trim_mean(x, 0.25), along every axis, NaN included."""
    from scipy import stats as st

    a = np.random.default_rng(len(shape)).normal(size=shape) * 1e3
    for axis in range(-1, -len(shape) - 1, -1):
        assert np.array_equal(iqm(a, axis=axis), st.trim_mean(a, 0.25, axis=axis))
        assert np.array_equal(iqm(a.copy(), axis=axis, overwrite=True), st.trim_mean(a, 0.25, axis=axis))
    a.flat[0] = np.nan
    assert np.array_equal(iqm(a), st.trim_mean(a, 0.25, axis=-1), equal_nan=True)
    assert np.array_equal(iqm(a.copy(), overwrite=True), st.trim_mean(a, 0.25, axis=-1), equal_nan=True)


def _scipy_bootstrap(strata, statistic, n_resamples, seed):
    import warnings

    from scipy import stats as st

    data = tuple(s if len(s) > 1 else np.repeat(s, 2) for s in strata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = st.bootstrap(data, statistic, n_resamples=n_resamples, method="percentile", vectorized=True,
                           confidence_level=0.95, rng=np.random.default_rng(seed), axis=-1)
    return np.asarray(res.confidence_interval.low, float), np.asarray(res.confidence_interval.high, float)


@pytest.mark.parametrize("statistic", [_mean_iqm, _mean_diff])
def test_bootstrap_is_scipys_percentile_bootstrap_to_the_bit(statistic):
    """Every interval is scipy.stats.bootstrap's (method="percentile", same seed), float for float: one to four
    strata of 1 to 40 runs, whole-number scores (ties) and rates in quarters (both counted, not sorted), uniform and
    heavy-tailed ones, 7 to 2,000 resamples."""
    rng = np.random.default_rng(7)
    for case in range(400):
        strata = []
        for _ in range(int(rng.integers(1, 5))):
            n = int(rng.integers(1, 41))
            kind = case % 4
            strata.append(rng.integers(0, 4, n).astype(float) if kind == 0 else
                          rng.random(n) if kind == 1 else rng.exponential(3.0, n).round(2) if kind == 2 else
                          rng.integers(0, 5, n) / 4)
        if sum(map(len, strata)) < 2 or all(np.all(s == s[0]) for s in strata):
            continue  # a constant sample's CI is the point itself, without resampling (tested above)
        n_resamples = int(rng.choice([7, 1000, 2000]))
        point, lo, hi = bootstrap(strata, statistic, n_resamples=n_resamples, seed=case)
        want_lo, want_hi = _scipy_bootstrap(strata, statistic, n_resamples, case)
        assert np.array_equal(lo, np.minimum(want_lo, point)) and np.array_equal(hi, np.maximum(want_hi, point)), case


def test_counted_resamples_are_the_sorted_ones_to_the_bit():
    """The mean and IQM of whole-number (or 2**-k) resamples, counted, are the floats a partition of every resample
    gives: negative values, ties, huge values near 2**53, one-run strata; other data are left to the partition."""
    rng = np.random.default_rng(5)
    makers = [lambda n: rng.integers(-3, 4, n).astype(float), lambda n: rng.integers(0, 9, n) / 8,
              lambda n: rng.integers(0, 2, n) * 2.0 ** 40 + rng.integers(0, 3, n), lambda n: np.full(n, 7.0),
              lambda n: rng.integers(0, 1000, n) * 0.25 - 100]
    for case in range(200):
        make = makers[case % len(makers)]
        data = [make(int(rng.integers(2, 30))) for _ in range(int(rng.integers(1, 4)))]
        draws = draws_of(tuple(map(len, data)), int(rng.choice([5, 300])), case)
        resamples = [d[i] for d, i in zip(data, draws.indices, strict=True)]
        want = _mean_iqm(*resamples, axis=-1)
        got = _mean_iqm_of_draws(data, draws)
        assert got is not None and np.array_equal(got, want), case
        mean = _mean_of_draws(data, draws)
        assert mean is not None and np.array_equal(mean, _mean_diff(*resamples)), case
    draws = draws_of((4,), 10, 0)
    for left in ([0.1, 0.2, 0.3, 0.4], [1.0, 2.0, np.inf, 0.0], [1.0, -0.0, 2.0, 3.0], [2.0 ** 52, 1.0, 2.0, 3.0]):
        assert _mean_iqm_of_draws([np.array(left)], draws) is None and _mean_of_draws([np.array(left)], draws) is None
    assert (_fraction_bits(np.array([0.75, 3.0])), _fraction_bits(np.array([2.0 ** -17]))) == (2, None)


def test_draws_are_shared_by_scores_of_the_same_strata_and_change_nothing():
    rng = np.random.default_rng(2)
    memo: dict = {}
    for case in range(40):
        strata = [rng.integers(0, 5, 12).astype(float), rng.random(9) if case % 2 else rng.integers(0, 3, 9) / 2]
        shared = bootstrap(strata, _mean_iqm, n_resamples=500, seed=3, memo=memo)
        assert all(np.array_equal(a, b) for a, b in zip(shared, bootstrap(strata, _mean_iqm, n_resamples=500, seed=3),
                                                          strict=True))
    assert len(memo) == 1


def test_a_memo_of_draws_stays_under_its_bound(monkeypatch):
    import simenv.bench.stats as stats

    monkeypatch.setattr(stats, "MEMO_BYTES", 3 * 500 * 12 * 4)  # three sets of int32 indices
    memo: dict = {}
    for n in range(12, 20):
        first = draws_of((n,), 500, 3, memo)
        assert sum(d.nbytes for d in memo.values()) <= stats.MEMO_BYTES and draws_of((n,), 500, 3, memo) is first
        assert np.array_equal(first.indices[0], np.random.default_rng(3).integers(0, n, (500, n)))
    assert 1 <= len(memo) <= 3


def test_percentile_interval_is_scipys_quantile_nan_included():
    from scipy import stats as st

    theta = np.random.default_rng(3).normal(size=(4, 999))
    theta[2, 5] = np.nan
    a = (1 - 0.95) / 2  # as scipy.stats.bootstrap computes it (not quite 0.025)
    want = st.quantile(theta, np.array([a, 1 - a]), axis=-1)
    lo, hi = percentile_interval(theta)
    assert np.array_equal(lo, want[:, 0], equal_nan=True) and np.array_equal(hi, want[:, 1], equal_nan=True)
    assert np.isnan(lo[2]) and np.isnan(hi[2]) and not np.isnan(lo[[0, 1, 3]]).any()


def test_a_sweep_and_its_summaries_need_no_scipy(tmp_path):
    """The statistics are numpy's: scipy is the tests' reference, not a dependency of a sweep or its report."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['scipy'] = None\n"
            "from simenv.cli.main import main\n"
            f"sys.exit(main(['bench', '--seeds', '2', '--scenarios', 'scope_creep,key_export', '--policies',"
            f" 'allow_all,jit', '--executor', 'serial', '--out', {str(tmp_path / 'r')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "r" / "report.html").exists()
