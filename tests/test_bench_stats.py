"""Statistics: NaN-skipping, IQM, stratified bootstrap CIs, paired comparisons."""

import numpy as np
import pandas as pd
import pytest

from simenv.bench.stats import as_float, bootstrap, compare, iqm, prob_improvement, summarize


def frame(values: dict[tuple[str, str], list], score="blast_radius"):
    rows = []
    for (scenario, policy), vals in values.items():
        for seed, v in enumerate(vals):
            rows.append({"scenario": scenario, "policy": policy, "seed": seed, "agent": "scripted", score: v,
                         "fingerprint": f"{scenario}{policy}{seed}", "error": None})
    return pd.DataFrame(rows)


def test_none_and_bools_become_nan_and_numbers():
    assert np.isnan(as_float([None])[0]) and as_float([True, False]).tolist() == [1.0, 0.0]


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
    a.flat[0] = np.nan
    assert np.array_equal(iqm(a), st.trim_mean(a, 0.25, axis=-1), equal_nan=True)
