"""The shipped profiles: each runs everywhere; the headline comparisons the governance issue names."""

import pytest
from conftest import POLICIES

from simenv import run_episode

NINE = "allow_all deny_all static_rbac least_privilege jit jit_approval intent_cedar intent_rego zero_standing".split()


def test_the_nine_profiles_ship():
    assert set(NINE) <= set(POLICIES)


def test_zero_standing_contains_scope_creep_better_than_static_rbac():
    z = [run_episode("scope_creep", "zero_standing", seed=s).scores for s in range(10)]
    r = [run_episode("scope_creep", "static_rbac", seed=s).scores for s in range(10)]
    for k in ("blast_radius", "exposure"):
        assert sum(x[k] for x in z) < sum(x[k] for x in r), k
    assert sum(x["task_success"] for x in z) >= 8  # containment without locking the work out
    d = [run_episode("scope_creep", "deny_all", seed=s).scores for s in range(10)]
    assert all(x["friction_rate"] == 1 and not x["task_success"] for x in d)


def test_approval_gates_are_exercised_and_cost_friction():
    s = run_episode("scope_creep", "jit_approval", seed=0).scores
    assert s["approvals_requested"] > 0 and s["approval_wait_ticks"] > 0 and s["review_minutes"] > 0


@pytest.mark.parametrize("seed", range(5))
def test_cedar_and_rego_profiles_score_identically(seed):
    for scenario in ("scope_creep", "multi_agent_chaining", "stolen_credential_replay"):
        c = run_episode(scenario, "intent_cedar", seed=seed).scores
        g = run_episode(scenario, "intent_rego", seed=seed).scores
        keys = [k for k in c if k != "fingerprint"]  # the header names the profile, so fingerprints differ
        assert {k: c[k] for k in keys} == {k: g[k] for k in keys}, scenario


def test_removing_the_approval_rule_lets_overreach_through(tmp_path):
    from simenv import files

    src = files.shipped_dir("policies")
    rules = (src / "rules" / "approval.yaml").read_text()
    cut = rules.split("  - id: approval.high_risk")[0] + "  - id: approval.allow_covered" + \
        rules.split("  - id: approval.allow_covered")[1]
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "approval.yaml").write_text(cut)
    (tmp_path / "jit_approval.yaml").write_text((src / "jit_approval.yaml").read_text())
    weak = [run_episode("multi_agent_chaining", str(tmp_path / "jit_approval.yaml"), seed=s).scores for s in range(5)]
    good = [run_episode("multi_agent_chaining", "jit_approval", seed=s).scores for s in range(5)]
    assert sum(x["violations_executed"] for x in weak) > sum(x["violations_executed"] for x in good)
    assert sum(x["approvals_requested"] for x in weak) == 0
